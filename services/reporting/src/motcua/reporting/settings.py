from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from motcua.shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    """Settings of the reporting service (prefix ``MOTCUA_REPORTING_``)."""

    service_name: ClassVar[str] = "reporting"
    default_port: ClassVar[int] = 8004
    model_config = SettingsConfigDict(env_prefix="MOTCUA_REPORTING_", extra="ignore")

    public_rate_limit: str = Field(
        default="30/minute",
        description="Public lookups and ratings allowed per client address "
        "(`limits` notation, e.g. `30/minute`).",
    )
    public_code_rate_limit: str = Field(
        default="10/hour",
        description="Wrong ID numbers one client address may give for one dossier "
        "code before it is refused for that code (stops guessing; the citizen, "
        "asking from elsewhere, is not locked out).",
    )
    public_code_guess_limit: str = Field(
        default="100/hour",
        description="Wrong ID numbers for one dossier code from all addresses "
        "together before the code is refused to everyone (stops a guess spread "
        "over many addresses).",
    )
    console_groups: str = Field(
        default="intake,routing,notification,reporting",
        description="Consumer groups the console shows lag and dead letters for "
        "(comma-separated; dead-letter topics are `motcua.dlt.<group>`).",
    )
    alerts_url: str | None = Field(
        default=None,
        description="Where operators see the alerts (Prometheus's /alerts page or "
        "Alertmanager); the console links to it. `motcua up --with-prometheus` "
        "sets it to the local Prometheus.",
    )
    portal_console_url: str | None = Field(
        default="http://127.0.0.1:8005/console",
        description="The portal service's console (sync lag, parked items, last "
        "reconciliation with the national portal); the console links to it "
        "(empty: no link).",
    )
    nearly_due_hours: float = Field(
        default=24.0,
        gt=0,
        description="A running dossier due within this many hours is nearly due.",
    )
    report_unit: str = Field(
        default="Ủy ban nhân dân tỉnh",
        description="Reporting unit printed on the Biểu 06 spreadsheet.",
    )

    @property
    def groups(self) -> list[str]:
        return [g.strip() for g in self.console_groups.split(",") if g.strip()]
