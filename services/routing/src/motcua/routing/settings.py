from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from motcua.shared.settings import ServiceSettings


class RoutingSettings(ServiceSettings):
    """Settings of the routing service (prefix ``MOTCUA_ROUTING_``)."""

    service_name: ClassVar[str] = "routing"
    default_port: ClassVar[int] = 8002
    model_config = SettingsConfigDict(env_prefix="MOTCUA_ROUTING_", extra="ignore")

    consumer_group: str = Field(
        default="routing",
        min_length=1,
        description="Kafka consumer group; every routing instance of one deployment "
        "shares it (the partitions, keyed by dossier code, are split between them).",
    )
    escalate_after_working_hours: float = Field(
        default=4.0,
        gt=0,
        description="Working hours a hand-off may wait unacknowledged before it "
        "is escalated to the receiving agency's supervisors.",
    )
    nearly_due_working_hours: float = Field(
        default=24.0,
        gt=0,
        description="`dossier.nearly_due` is raised when this many working hours "
        "or fewer remain before a step's or the dossier's due time.",
    )
    deadline_scan_interval_s: float = Field(
        default=30.0,
        gt=0,
        description="How often the deadline scheduler looks for nearly-due, "
        "overdue and unacknowledged dossiers.",
    )
    deadline_scan_batch: int = Field(
        default=500, ge=1, description="Dossiers the scheduler reads per query."
    )
