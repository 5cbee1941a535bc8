"""How the ``motcua`` CLI finds this service (entry point ``motcua.services``)."""

from motcua.shared.service import ServiceDefinition

SERVICE = ServiceDefinition(
    name="routing",
    title="Routing (luân chuyển hồ sơ liên thông)",
    default_port=8002,
    app_factory="motcua.routing.app:create_app",
    settings="motcua.routing.settings:RoutingSettings",
    cli="motcua.routing.cli:register",
    links=(("API docs", "/docs"), ("AsyncAPI", "/asyncapi")),
)
