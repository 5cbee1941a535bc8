from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from motcua.shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    """Settings of the intake service (prefix ``MOTCUA_INTAKE_``)."""

    service_name: ClassVar[str] = "intake"
    default_port: ClassVar[int] = 8001
    model_config = SettingsConfigDict(env_prefix="MOTCUA_INTAKE_", extra="ignore")
