from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from motcua.shared.settings import ServiceSettings


class RoutingSettings(ServiceSettings):
    """Settings of the routing service (prefix ``MOTCUA_ROUTING_``)."""

    service_name: ClassVar[str] = "routing"
    default_port: ClassVar[int] = 8002
    model_config = SettingsConfigDict(env_prefix="MOTCUA_ROUTING_", extra="ignore")
