"""How the ``motcua`` CLI finds this service (entry point ``motcua.services``)."""

from motcua.shared.service import ServiceDefinition

SERVICE = ServiceDefinition(
    name="notification",
    title="Notification (thông báo SMS, thư điện tử, bưu chính)",
    default_port=8003,
    app_factory="motcua.notification.app:create_app",
    settings="motcua.notification.settings:NotificationSettings",
    extra_processes="motcua.notification.simulators:processes",
    links=(("API docs", "/docs"), ("AsyncAPI", "/asyncapi")),
)
