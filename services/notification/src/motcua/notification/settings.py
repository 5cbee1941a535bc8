"""Settings of the notification service (prefix ``MOTCUA_NOTIFICATION_``).

The defaults point at the local simulators ``motcua up`` starts: the SMS
gateway on :8011, the postal operator on :8012 and an SMTP server on :2525.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from motcua.shared.contracts.common import NotificationChannel
from motcua.shared.settings import ServiceSettings

DEV_CALLBACK_SECRET = "motcua-development-callback-secret"  # noqa: S105  (refused in production)
DEV_PROVIDER_PASSWORD = "motcua-development-provider-password"  # noqa: S105  (refused in production)


class NotificationSettings(ServiceSettings):
    """Settings of the notification service (prefix ``MOTCUA_NOTIFICATION_``)."""

    service_name: ClassVar[str] = "notification"
    default_port: ClassVar[int] = 8003
    model_config = SettingsConfigDict(env_prefix="MOTCUA_NOTIFICATION_", extra="ignore")

    # -- SMS gateway --------------------------------------------------------
    sms_gateway_url: str = Field(
        default="http://127.0.0.1:8011",
        description="Base URL of the HTTP SMS gateway (brand-name SMS).",
    )
    sms_username: str = Field(default="motcua", description="SMS gateway account.")
    sms_password: SecretStr = Field(
        default=SecretStr(DEV_PROVIDER_PASSWORD), description="SMS gateway password."
    )
    sms_brand_name: str = Field(
        default="MOTCUA", description="Registered brand name shown as the sender."
    )
    sms_unaccented: bool = Field(
        default=True,
        description="Send SMS without Vietnamese diacritics (GSM-7, 160 characters "
        "a part) as brand-name SMS usually is; false sends UCS-2 (70 a part).",
    )
    sms_max_segments: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Most concatenated parts one SMS may take; a longer text uses "
        "the template's short variant, else the notice fails (never cut).",
    )
    sms_callback_secret: SecretStr = Field(
        default=SecretStr(DEV_CALLBACK_SECRET),
        description="HMAC-SHA256 secret the SMS gateway signs delivery receipts with.",
    )
    sms_rate_per_s: float = Field(
        default=50, ge=1, description="Most SMS sent per second (gateway limit)."
    )

    # -- SMTP ---------------------------------------------------------------
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server host.")
    smtp_port: int = Field(default=2525, description="SMTP server port.")
    smtp_username: str | None = Field(default=None, description="SMTP login, if any.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_starttls: bool = Field(
        default=False, description="Upgrade the connection with STARTTLS."
    )
    smtp_use_tls: bool = Field(default=False, description="Implicit TLS (port 465).")
    email_sender: str = Field(
        default="Bo phan Mot cua <motcua@localhost>",
        description="From address of notices.",
    )
    email_rate_per_s: float = Field(
        default=20, ge=1, description="Most emails sent per second."
    )
    email_resend_uncertain: bool = Field(
        default=True,
        description="After a crash during an SMTP transaction the outcome is "
        "unknown (SMTP has no idempotency): true sends again with the same "
        "Message-ID (at least once), false gives up on that channel and falls "
        "back (at most once).",
    )

    # -- postal operator ----------------------------------------------------
    postal_api_url: str = Field(
        default="http://127.0.0.1:8012",
        description="Base URL of the postal operator's order API.",
    )
    postal_api_token: SecretStr = Field(
        default=SecretStr(DEV_PROVIDER_PASSWORD),
        description="Bearer token of the postal operator's API.",
    )
    postal_customer_code: str = Field(
        default="MOTCUA", description="Customer code agreed with the operator."
    )
    postal_callback_secret: SecretStr = Field(
        default=SecretStr(DEV_CALLBACK_SECRET),
        description="HMAC-SHA256 secret the postal operator signs status callbacks with.",
    )
    postal_rate_per_s: float = Field(
        default=10, ge=1, description="Most postal orders placed per second."
    )
    waybill_pool_autofill: int = Field(
        default=1000,
        ge=0,
        description="Development: when the waybill pool is empty at start, add "
        "this many test codes (0 in production: load the operator's range with "
        "POST /api/v1/postal/waybills).",
    )

    # -- delivery -----------------------------------------------------------
    callback_base_url: str | None = Field(
        default=None,
        description="Public base URL providers call back (receipts, postal "
        "status); unset: http://127.0.0.1:<http port>.",
    )
    fallback_order: list[NotificationChannel] = Field(
        default_factory=lambda: [
            NotificationChannel.SMS,
            NotificationChannel.EMAIL,
            NotificationChannel.POST,
        ],
        description="Channel order for fallback after a permanent failure "
        '(JSON list, e.g. ["sms","email","post"]).',
    )
    max_attempts: int = Field(
        default=5, ge=1, description="Attempts on one channel before falling back."
    )
    retry_base_delay_s: float = Field(
        default=2.0, gt=0, description="First retry delay; doubles each attempt."
    )
    retry_max_delay_s: float = Field(
        default=600.0, gt=0, description="Longest delay between two attempts."
    )
    circuit_failure_threshold: int = Field(
        default=5,
        ge=1,
        description="Consecutive provider failures that open its circuit.",
    )
    circuit_reset_s: float = Field(
        default=15.0,
        gt=0,
        description="Seconds an open circuit waits before one trial call.",
    )
    send_timeout_s: float = Field(
        default=10.0, gt=0, description="Timeout of one provider call."
    )
    sending_lease_s: float = Field(
        default=30.0,
        gt=0,
        description="A notice left in `sending` without an answer this long "
        "(the process died mid-call) is sent again, with the same idempotency key.",
    )
    worker_batch_size: int = Field(
        default=50, ge=1, description="Most notices claimed per round."
    )
    worker_concurrency: int = Field(
        default=8, ge=1, description="Provider calls in flight at once."
    )
    worker_poll_interval_s: float = Field(
        default=0.5,
        gt=0,
        description="How often the delivery worker looks for due notices (new "
        "notices wake it at once).",
    )
    receipt_batch_window_s: float = Field(
        default=0.005,
        ge=0,
        le=1,
        description="SMS receipts arriving this long after the first (or while "
        "a group is being written) are applied in one transaction; each "
        "callback is answered after the commit that holds its receipt.",
    )
    receipt_batch_max: int = Field(
        default=200, ge=1, description="Most SMS receipts applied in one transaction."
    )

    @property
    def resolved_callback_base_url(self) -> str:
        return (self.callback_base_url or f"http://127.0.0.1:{self.http_port}").rstrip(
            "/"
        )

    @model_validator(mode="after")
    def _no_dev_secrets_in_production(self) -> NotificationSettings:
        if self.common.environment != "production":
            return self
        dev = {DEV_CALLBACK_SECRET, DEV_PROVIDER_PASSWORD}
        for name in (
            "sms_callback_secret",
            "postal_callback_secret",
            "sms_password",
            "postal_api_token",
        ):
            secret: SecretStr = getattr(self, name)
            if secret.get_secret_value() in dev:
                msg = f"MOTCUA_NOTIFICATION_{name.upper()} must be set in production"
                raise ValueError(msg)
        return self
