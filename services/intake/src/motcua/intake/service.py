"""How the ``motcua`` CLI finds this service (entry point ``motcua.services``)."""

from motcua.shared.service import ServiceDefinition

SERVICE = ServiceDefinition(
    name="intake",
    title="Intake (tiếp nhận hồ sơ)",
    default_port=8001,
    app_factory="motcua.intake.app:create_app",
    settings="motcua.intake.settings:IntakeSettings",
    cli="motcua.intake.cli:register",
    links=(("API docs", "/docs"), ("Procedures", "/api/v1/procedures")),
)
