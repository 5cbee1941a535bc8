"""Routing's domain model (pure): the hand-off protocol and the step clocks.

A dossier moves along its routed workflow one hand-off (chuyển giao) at a time:

    offered ──acknowledge──▶ acknowledged ──complete──▶ completed
       │                          ├──return──▶ returned
       └──────── closed ◀─────────┘  (stopped, withdrawn, delivered by post)

A :class:`Dossier` is a snapshot of everything routing knows about one
dossier; every action (:mod:`motcua.routing.workflow`,
:mod:`motcua.routing.pauses`) is a function from a snapshot to an
:class:`Outcome` (the new snapshot, the changed hand-offs, the events to emit)
or an :class:`ActionRefusedError` that changes nothing. Step due times come
from the working calendar (:class:`DeadlinePolicy`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from motcua.shared.contracts.common import DossierStatus
from motcua.shared.contracts.envelope import VN_TZ, EventData
from motcua.shared.contracts.handoff import (
    RoutedStep,
    Timeliness,
)
from motcua.shared.domain.calendar import WorkCalendar
from motcua.shared.domain.timeliness import Granularity, timeliness

S = DossierStatus


# -- rule violations ----------------------------------------------------------------


class ActionRefusedError(ValueError):
    """An action refused by a rule; nothing changed. ``code`` is for systems,
    the message (Vietnamese) for the officer."""

    http_status = 409

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class IllegalActionError(ActionRefusedError):
    """Not allowed in the dossier's current state (HTTP 409)."""


class InvalidActionError(ActionRefusedError):
    """The request itself is wrong, whatever the state (HTTP 422)."""

    http_status = 422


# -- time ----------------------------------------------------------------------------


def form05_mark(finished_at: datetime, due_at: datetime | None) -> Timeliness:
    """A hand-over's or a result's mark on the control sheet (form 05): by the
    day, as Biểu 06 counts (docs/adr/0005-timeliness-compares-days.md)."""
    return timeliness(finished_at, due_at, granularity=Granularity.DAY)


@dataclass(frozen=True)
class DeadlinePolicy:
    """Working-time rules for step clocks, alarms and escalations."""

    calendar: WorkCalendar
    nearly_due: timedelta = timedelta(hours=24)
    escalate_after: timedelta = timedelta(hours=4)

    @property
    def one_working_day(self) -> timedelta:
        return timedelta(hours=self.calendar.office.hours_per_day)

    def step_due(self, offered_at: datetime, hours: float) -> datetime | None:
        """Offered moment + the step's allotted working hours (none if 0)."""
        if hours <= 0:
            return None
        return self.calendar.add_working_time(offered_at, timedelta(hours=hours))

    def nearly_due_at(self, due: datetime | None) -> datetime | None:
        if due is None:
            return None
        return self.calendar.add_working_time(due, -self.nearly_due)

    def escalate_at(self, offered_at: datetime) -> datetime:
        return self.calendar.add_working_time(offered_at, self.escalate_after)

    def paused_hours(self, paused_from: datetime, resumed_at: datetime) -> float:
        paused = self.calendar.working_time_between(paused_from, resumed_at)
        return round(paused.total_seconds() / 3600, 4)

    def extend(
        self, due: datetime | None, paused_from: datetime, resumed_at: datetime
    ) -> datetime | None:
        if due is None:
            return None
        return self.calendar.extend_for_pause(due, paused_from, resumed_at)

    def latest_apology(self, due: datetime) -> datetime:
        """Form 04 goes out at least one working day before the due time."""
        return self.calendar.add_working_time(due, -self.one_working_day)


# -- state ---------------------------------------------------------------------------


class HandoffState(StrEnum):
    OFFERED = "offered"  # chuyển đến, chờ tiếp nhận
    ACKNOWLEDGED = "acknowledged"  # đã tiếp nhận, đang giữ hồ sơ
    COMPLETED = "completed"  # hoàn thành bước, chuyển tiếp
    RETURNED = "returned"  # trả lại cơ quan trước
    CLOSED = "closed"  # quy trình kết thúc khi bước còn mở


HANDOFF_TRANSITIONS: Final[Mapping[HandoffState, frozenset[HandoffState]]] = (
    MappingProxyType(
        {
            HandoffState.OFFERED: frozenset(
                {HandoffState.ACKNOWLEDGED, HandoffState.CLOSED}
            ),
            HandoffState.ACKNOWLEDGED: frozenset(
                {HandoffState.COMPLETED, HandoffState.RETURNED, HandoffState.CLOSED}
            ),
            HandoffState.COMPLETED: frozenset(),
            HandoffState.RETURNED: frozenset(),
            HandoffState.CLOSED: frozenset(),
        }
    )
)
OPEN_HANDOFF_STATES: Final = frozenset(
    {HandoffState.OFFERED, HandoffState.ACKNOWLEDGED}
)


class PauseKind(StrEnum):
    SUPPLEMENT = "supplement"  # chờ bổ sung hồ sơ (status 5)
    FEE = "fee"  # chờ thực hiện nghĩa vụ tài chính (status 6)


@dataclass(frozen=True)
class Officer:
    """Who acts: the officer's agency (from the token) and display name."""

    agency_code: str
    name: str


@dataclass(frozen=True)
class Handoff:
    """One hand-over of the dossier to an agency for one workflow step."""

    seq: int
    step_no: int
    role: str
    step_name: str
    from_agency_code: str | None
    to_agency_code: str
    state: HandoffState
    offered_at: datetime
    step_hours: float
    step_due_at: datetime | None
    nearly_due_at: datetime | None
    escalate_at: datetime | None
    offered_by: str | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    close_reason: str = ""
    timeliness: Timeliness | None = None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_HANDOFF_STATES

    def moved(self, state: HandoffState, **changes: Any) -> Handoff:
        """This hand-off in ``state``; refuses a move the protocol forbids."""
        if state not in HANDOFF_TRANSITIONS[self.state]:
            msg = f"hand-off cannot go from {self.state} to {state}"
            raise ValueError(msg)
        return replace(self, state=state, **changes)


@dataclass(frozen=True)
class Pause:
    kind: PauseKind
    agency_code: str
    step_no: int
    started_at: datetime


@dataclass(frozen=True)
class EndedPause:
    pause: Pause
    ended_at: datetime
    working_hours: float


@dataclass(frozen=True)
class Dossier:
    """What routing knows about a dossier: enough to decide any action."""

    code: str
    status: DossierStatus
    receiving_agency_code: str
    steps: tuple[RoutedStep, ...] = ()
    due_at: datetime | None = None
    nearly_due_at: datetime | None = None
    handoff: Handoff | None = None
    pause: Pause | None = None
    supplement_agencies: frozenset[str] = frozenset()
    imported: bool = False

    @property
    def holder(self) -> str | None:
        """The agency the open hand-off is at (it alone may act), if any."""
        return (
            self.handoff.to_agency_code
            if self.handoff and self.handoff.is_open
            else None
        )

    @property
    def last_step_no(self) -> int:
        return max((s.step_no for s in self.steps), default=0)


@dataclass(frozen=True)
class Emit:
    """An event to publish: the payload, the ``agency-code`` header (the agency
    receiving the dossier or holding it), the acting agency and business time."""

    data: EventData
    header_agency: str | None
    acting_agency: str | None
    occurred_at: datetime


@dataclass(frozen=True)
class Outcome:
    dossier: Dossier
    events: tuple[Emit, ...] = ()
    handoffs: tuple[Handoff, ...] = ()
    """Hand-offs created or changed (matched by ``seq``)."""
    pause_started: Pause | None = None
    pause_ended: EndedPause | None = None


def required_text(text: str, code: str, message: str) -> str:
    """``text`` stripped; an :class:`InvalidActionError` if nothing is left."""
    text = text.strip()
    if not text:
        raise InvalidActionError(code, message)
    return text


def format_moment(moment: datetime) -> str:
    """A moment as officers read it: ``14:30 ngày 05/03/2026``."""
    return moment.astimezone(VN_TZ).strftime("%H:%M ngày %d/%m/%Y")
