"""Settings of the portal service (prefix ``MOTCUA_PORTAL_``).

The defaults point at the national portal simulator ``motcua up`` starts on
127.0.0.1:8014 (``motcua portal simulator``), with the simulator's development
credentials; production refuses them.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from motcua.shared.settings import ServiceSettings

DEV_CLIENT_SECRET = "motcua-local-secret"  # noqa: S105  (refused in production)
DEV_PASSWORD = "motcua-local"  # noqa: S105  (refused in production)
SIMULATOR_URL = "http://127.0.0.1:8014"


class PortalSettings(ServiceSettings):
    """Settings of the portal service (prefix ``MOTCUA_PORTAL_``)."""

    service_name: ClassVar[str] = "portal"
    default_port: ClassVar[int] = 8005
    model_config = SettingsConfigDict(env_prefix="MOTCUA_PORTAL_", extra="ignore")

    # -- the province's integration platform (LGSP) -------------------------
    token_url: str = Field(
        default=f"{SIMULATOR_URL}/lgsp/token",
        description="OAuth2 token endpoint of the province's integration "
        "platform (client credentials, HTTP Basic).",
    )
    client_id: str = Field(
        default="motcua-local", description="Client key at the integration platform."
    )
    client_secret: SecretStr = Field(
        default=SecretStr(DEV_CLIENT_SECRET),
        description="Client secret at the integration platform.",
    )
    ca_bundle: Path | None = Field(
        default=None,
        description="PEM file of the certificate authorities to trust for the "
        "platform and the portal (unset: the system's). TLS is always verified.",
    )

    # -- the national portal, behind the platform -----------------------------
    adapter_url: str = Field(
        default=f"{SIMULATOR_URL}/dvcqg",
        description="Base URL of the portal's adapter behind the platform "
        "(`/auth` and `/integration` under it).",
    )
    username: str = Field(default="motcua", description="Portal account.")
    password: SecretStr = Field(
        default=SecretStr(DEV_PASSWORD), description="Portal account's password."
    )
    dstcode: str = Field(
        default="H56",
        description="Province code sent as the `dstcode` header of every call.",
    )
    madonvi: str = Field(
        default="000.00.00.H56",
        description="The province's unit code on the portal (`madonvi`).",
    )
    call_timeout_s: float = Field(
        default=10.0, gt=0, description="Timeout of one call to the platform."
    )

    # -- outbound sync --------------------------------------------------------
    include_imported: bool = Field(
        default=False,
        description="Also push dossiers imported from an earlier system "
        "(their history is on the portal already, as a rule).",
    )
    max_attempts: int = Field(
        default=8,
        ge=1,
        description="Attempts at one sync item before it is parked for an operator.",
    )
    retry_base_delay_s: float = Field(
        default=1.0, gt=0, description="First retry delay; doubles each attempt."
    )
    retry_max_delay_s: float = Field(
        default=120.0, gt=0, description="Longest delay between two attempts."
    )
    sender_concurrency: int = Field(
        default=8, ge=1, description="Dossiers synchronised in parallel."
    )
    sender_batch_size: int = Field(
        default=50,
        ge=1,
        le=500,
        description="Most records or steps sent in one call to the portal.",
    )
    sender_poll_interval_s: float = Field(
        default=1.0,
        gt=0,
        description="How often the sender looks for due items (new items wake it).",
    )

    # -- inbound filings ------------------------------------------------------
    intake_url: str = Field(
        default="http://127.0.0.1:8001",
        description="Base URL of intake, where portal filings become dossiers.",
    )
    intake_token: SecretStr | None = Field(
        default=None,
        description="Bearer token (role `portal`) for intake's filing endpoint; "
        "unset: the service signs a short-lived one with `MOTCUA_JWT_SECRET`.",
    )
    poll_interval_s: float = Field(
        default=3.0,
        gt=0,
        description="How often the portal's queue of online filings is read.",
    )
    poll_limit: int = Field(
        default=20, ge=1, le=500, description="Most filings read per poll."
    )

    @model_validator(mode="after")
    def _no_dev_secrets_in_production(self) -> PortalSettings:
        if self.common.environment != "production":
            return self
        for name, dev in (
            ("client_secret", DEV_CLIENT_SECRET),
            ("password", DEV_PASSWORD),
        ):
            secret: SecretStr = getattr(self, name)
            if secret.get_secret_value() == dev:
                msg = f"MOTCUA_PORTAL_{name.upper()} must be set in production"
                raise ValueError(msg)
        return self
