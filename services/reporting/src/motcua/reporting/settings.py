from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from motcua.shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    """Settings of the reporting service (prefix ``MOTCUA_REPORTING_``)."""

    service_name: ClassVar[str] = "reporting"
    default_port: ClassVar[int] = 8004
    model_config = SettingsConfigDict(env_prefix="MOTCUA_REPORTING_", extra="ignore")
