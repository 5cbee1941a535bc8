"""What intake's routes and tasks share: settings, calendar, agencies, clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path

import jwt
from fastapi import Request

from motcua.intake.catalogue import Catalogue, load_catalogue
from motcua.intake.catalogue_store import CurrentProcedures
from motcua.intake.settings import IntakeSettings
from motcua.shared.contracts import now_vn
from motcua.shared.domain.agencies import Agency, AgencyRegistry, load_registry
from motcua.shared.domain.calendar import (
    CalendarOverrides,
    WorkCalendar,
    build_calendar,
    default_overrides_path,
    read_overrides,
)
from motcua.shared.personal_data import PersonalDataSealer, load_keys
from motcua.shared.service import ServiceRuntime

FORM_AUDIENCE = "motcua-intake-form"


@dataclass
class IntakeContext:
    settings: IntakeSettings
    runtime: ServiceRuntime
    calendar: WorkCalendar
    registry: AgencyRegistry
    catalogue: Catalogue
    procedures: CurrentProcedures
    """The newest published version of each procedure (cached)."""
    sealer: PersonalDataSealer
    """Seals the people of a dossier for the services entitled to them (ADR 0007)."""
    clock: Callable[[], datetime] = field(default=now_vn)

    @classmethod
    def create(cls, settings: IntakeSettings, runtime: ServiceRuntime) -> IntakeContext:
        calendar = build_intake_calendar(settings)
        catalogue = load_catalogue(
            settings.catalogue_file, calendar.office.hours_per_day
        )
        return cls(
            settings=settings,
            runtime=runtime,
            calendar=calendar,
            registry=load_registry(),
            catalogue=catalogue,
            procedures=CurrentProcedures(
                runtime.sessions, ttl_s=settings.catalogue_cache_ttl_s
            ),
            sealer=PersonalDataSealer(load_keys(settings.common)),
        )

    def now(self) -> datetime:
        return self.clock()

    def agency_name(self, code: str) -> str:
        agency = self.registry.find(code)
        return agency.name if agency else code

    def province_of(self, code: str) -> Agency | None:
        agency = self.registry.find(code)
        if agency is None:
            return None
        chain = [agency, *self.registry.ancestors(code)]
        return chain[-1]

    # -- signed links to printable forms (no bearer header in a browser) ------

    def sign_form_link(self, code: str, form: str) -> str:
        secret = self.settings.common.jwt_secret.get_secret_value()
        claims = {
            "sub": code,
            "form": form,
            "aud": FORM_AUDIENCE,
            # wall-clock time, not the business clock: JWT checks use it
            "exp": int(time.time()) + self.settings.form_link_ttl_s,
        }
        return jwt.encode(claims, secret, algorithm="HS256")

    def form_link_valid(self, token: str, code: str, form: str) -> bool:
        secret = self.settings.common.jwt_secret.get_secret_value()
        try:
            claims = jwt.decode(
                token, secret, algorithms=["HS256"], audience=FORM_AUDIENCE
            )
        except jwt.InvalidTokenError:
            return False
        return claims.get("sub") == code and claims.get("form") == form


def build_intake_calendar(settings: IntakeSettings) -> WorkCalendar:
    return _calendar(
        settings.office_sessions,
        settings.same_day_cutoff,
        settings.calendar_overrides or default_overrides_path(),
    )


@cache
def _calendar(sessions: str, cutoff: str, path: Path) -> WorkCalendar:
    overrides = read_overrides(path) if path.exists() else CalendarOverrides()
    this_year = now_vn().year
    office = IntakeSettings(office_sessions=sessions, same_day_cutoff=cutoff)
    return build_calendar(
        years=range(min(2014, this_year - 10), this_year + 11),
        overrides=overrides,
        office=office.office_hours(),
    )


async def intake_context(request: Request) -> IntakeContext:
    # async: a plain function dependency costs a thread-pool hop per request
    context: IntakeContext = request.app.state.intake
    return context
