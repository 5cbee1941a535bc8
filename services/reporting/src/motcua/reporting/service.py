"""How the ``motcua`` CLI finds this service (entry point ``motcua.services``)."""

from motcua.shared.service import ServiceDefinition

SERVICE = ServiceDefinition(
    name="reporting",
    title="Reporting (báo cáo, tra cứu, giám sát)",
    default_port=8004,
    app_factory="motcua.reporting.app:create_app",
    settings="motcua.reporting.settings:ReportingSettings",
    cli="motcua.reporting.cli:register",
    links=(
        ("Operator console", "/console"),
        ("API docs", "/docs"),
        ("AsyncAPI", "/asyncapi"),
        ("Public signing keys", "/.well-known/jwks.json"),
    ),
)
