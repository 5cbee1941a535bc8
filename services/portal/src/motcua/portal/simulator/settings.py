"""The simulator's own settings (prefix ``MOTCUA_SIMULATOR_PORTAL_``); the
credentials it accepts are the portal service's (``MOTCUA_PORTAL_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from motcua.portal.processes import SIMULATOR_PORT
from motcua.portal.settings import PortalSettings
from motcua.portal.simulator.state import Credentials


class SimulatorSettings(BaseSettings):
    """How the national portal simulator behaves (prefix
    ``MOTCUA_SIMULATOR_PORTAL_``)."""

    model_config = SettingsConfigDict(
        env_prefix="MOTCUA_SIMULATOR_PORTAL_", extra="ignore"
    )

    host: str = Field(default="127.0.0.1", description="Bind address.")
    port: int = Field(default=SIMULATOR_PORT, description="HTTP port.")
    token_ttl_s: float = Field(
        default=1800, gt=0, description="Lifetime of the platform's tokens."
    )
    session_ttl_s: float = Field(
        default=3600, gt=0, description="Lifetime of the portal's sessions."
    )
    first_number: int = Field(
        default=5001,
        ge=1,
        le=9999,
        description="First number of each day's filing codes, per agency.",
    )


def credentials(portal: PortalSettings | None = None) -> Credentials:
    """What the simulator accepts: the portal service's own settings."""
    s = portal or PortalSettings()
    return Credentials(
        client_key=s.client_id,
        client_secret=s.client_secret.get_secret_value(),
        username=s.username,
        password=s.password.get_secret_value(),
        dstcode=s.dstcode,
        madonvi=s.madonvi,
    )
