from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from motcua.shared.settings import ServiceSettings


class NotificationSettings(ServiceSettings):
    """Settings of the notification service (prefix ``MOTCUA_NOTIFICATION_``)."""

    service_name: ClassVar[str] = "notification"
    default_port: ClassVar[int] = 8003
    model_config = SettingsConfigDict(env_prefix="MOTCUA_NOTIFICATION_", extra="ignore")
