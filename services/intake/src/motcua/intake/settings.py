from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from motcua.shared.domain.calendar import OfficeHours
from motcua.shared.settings import ServiceSettings

_SESSION = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class IntakeSettings(ServiceSettings):
    """Settings of the intake service (prefix ``MOTCUA_INTAKE_``)."""

    service_name: ClassVar[str] = "intake"
    default_port: ClassVar[int] = 8001
    model_config = SettingsConfigDict(env_prefix="MOTCUA_INTAKE_", extra="ignore")

    office_sessions: str = Field(
        default="07:00-11:30,13:30-17:00",
        description="Office sessions of a working day, comma-separated "
        "`HH:MM-HH:MM`; legal limits count working time inside them.",
    )
    same_day_cutoff: str = Field(
        default="15:00",
        description="Same-day procedures received from this time are due the "
        "next working day.",
    )
    calendar_overrides: Path | None = Field(
        default=None,
        description="TOML of announced days off and make-up working days; unset: "
        "the file shipped in motcua.shared.",
    )
    catalogue_file: Path | None = Field(
        default=None,
        description="Procedure catalogue TOML loaded at startup; unset: the one "
        "shipped with intake.",
    )
    public_lookup_url: str = Field(
        default="http://127.0.0.1:8004/api/v1/public/dossiers",
        description="Base URL of the public status lookup; receipts print a QR "
        "code of `<this>/<dossier code>`.",
    )
    consumer_group: str = Field(
        default="intake",
        description="Consumer group reading routing's events (status updates).",
    )
    catalogue_cache_ttl_s: float = Field(
        default=5.0,
        ge=0,
        description="How long a process keeps a procedure's newest version in "
        "memory. A publication through this process's API is seen at once; "
        "other intake processes on the same database see it within this time. "
        "0: read the database on every reception.",
    )
    form_link_ttl_s: int = Field(
        default=3600,
        ge=60,
        description="Validity of the signed links to printable forms returned "
        "after a reception.",
    )

    @field_validator("office_sessions")
    @classmethod
    def _sessions(cls, value: str) -> str:
        parse_sessions(value)
        return value

    @field_validator("same_day_cutoff")
    @classmethod
    def _cutoff(cls, value: str) -> str:
        time.fromisoformat(value)
        return value

    def office_hours(self) -> OfficeHours:
        return OfficeHours(
            sessions=parse_sessions(self.office_sessions),
            same_day_cutoff=time.fromisoformat(self.same_day_cutoff),
        )


def parse_sessions(text: str) -> tuple[tuple[time, time], ...]:
    sessions: list[tuple[time, time]] = []
    for part in text.split(","):
        match = _SESSION.match(part.strip())
        if not match:
            msg = f"office session {part!r} is not HH:MM-HH:MM"
            raise ValueError(msg)
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        sessions.append((time(h1, m1), time(h2, m2)))
    OfficeHours(sessions=tuple(sessions))  # ordered, non-overlapping
    return tuple(sessions)
