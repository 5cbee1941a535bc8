"""How the ``motcua`` CLI finds this service (entry point ``motcua.services``)."""

from motcua.shared.service import ServiceDefinition

SERVICE = ServiceDefinition(
    name="portal",
    title="Portal (đồng bộ Cổng Dịch vụ công quốc gia)",
    default_port=8005,
    app_factory="motcua.portal.app:create_app",
    settings="motcua.portal.settings:PortalSettings",
    cli="motcua.portal.cli:register",
    extra_processes="motcua.portal.processes:processes",
    links=(
        ("Sync console", "/console"),
        ("API docs", "/docs"),
        ("AsyncAPI", "/asyncapi"),
    ),
)
