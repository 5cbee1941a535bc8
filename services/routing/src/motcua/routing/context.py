"""What routing's handlers, routes and scheduler share (built by ``create_app``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from motcua.routing.domain import DeadlinePolicy
from motcua.shared.domain.agencies import AgencyRegistry
from motcua.shared.service import ServiceRuntime

Clock = Callable[[], datetime]
"""Returns the current moment (aware). Injected so tests can move time."""


@dataclass(frozen=True)
class Routing:
    runtime: ServiceRuntime
    registry: AgencyRegistry
    policy: DeadlinePolicy
    clock: Clock

    def agency_name(self, code: str | None) -> str:
        if code is None:
            return ""
        agency = self.registry.find(code)
        return agency.name if agency else code
