"""Which deadline alarms a dossier is due for at a given moment (pure).

Three alarms, each raised once per deadline (the database keeps a unique key
per dossier, kind, scope, hand-off and due time, so several routing instances
never raise one twice):

- ``nearly_due``: 24 working hours or less remain (per step and overall);
- ``overdue``: the due time passed while an agency held the dossier (per
  step and overall); an overdue deadline is no longer "nearly" due;
- ``escalated``: a hand-off left unacknowledged past the escalation time.

The clock does not run while the dossier waits for a supplement or a fee, so
no alarm fires then; imported history never raises alarms. A step's clock runs
while the dossier travels (status 4, and 9 on the way back to the desk); the
overall appointment only while it is processed (status 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from motcua.routing.domain import DeadlinePolicy, Dossier, HandoffState
from motcua.shared.contracts.common import DossierStatus
from motcua.shared.contracts.envelope import EventData
from motcua.shared.contracts.handoff import (
    DeadlineScope,
    DossierNearlyDueV1,
    DossierOverdueV1,
    HandoffEscalatedV1,
)
from motcua.shared.domain.status import TRAVELLING_STATUSES, UNRESOLVED_STATUSES


class AlarmKind(StrEnum):
    NEARLY_DUE = "nearly_due"
    OVERDUE = "overdue"
    ESCALATED = "escalated"


@dataclass(frozen=True)
class Alarm:
    kind: AlarmKind
    scope: DeadlineScope
    handoff_seq: int
    """0 for the overall appointment."""
    step_no: int | None
    due_at: datetime
    """The deadline the alarm is about (the escalation time for escalations)."""
    agency_code: str | None
    """The agency holding the dossier (or offered it, for escalations)."""
    offered_at: datetime | None = None
    from_agency_code: str | None = None

    def event(self) -> EventData:
        if self.kind is AlarmKind.ESCALATED:
            return HandoffEscalatedV1(
                step_no=self.step_no or 0,
                from_agency_code=self.from_agency_code,
                to_agency_code=self.agency_code or "",
                offered_at=self.offered_at,
            )
        cls = (
            DossierNearlyDueV1
            if self.kind is AlarmKind.NEARLY_DUE
            else DossierOverdueV1
        )
        return cls(
            scope=self.scope,
            holding_agency_code=self.agency_code,
            step_no=self.step_no,
            due_at=self.due_at,
        )


def _deadline(
    due: datetime | None, nearly: datetime | None, now: datetime
) -> AlarmKind | None:
    if due is None:
        return None
    if now > due:
        return AlarmKind.OVERDUE
    if nearly is not None and now >= nearly:
        return AlarmKind.NEARLY_DUE
    return None


def alarms_due(dossier: Dossier, now: datetime) -> list[Alarm]:
    """Every alarm whose moment has come (already-raised ones included: the
    caller's unique key drops those)."""
    if dossier.imported:
        return []
    alarms: list[Alarm] = []
    handoff = dossier.handoff
    holder = dossier.holder
    if (
        handoff is not None
        and handoff.is_open
        and dossier.status in TRAVELLING_STATUSES
    ):
        kind = _deadline(handoff.step_due_at, handoff.nearly_due_at, now)
        if kind is not None and handoff.step_due_at is not None:
            alarms.append(
                Alarm(
                    kind,
                    DeadlineScope.STEP,
                    handoff.seq,
                    handoff.step_no,
                    handoff.step_due_at,
                    holder,
                )
            )
        if (
            handoff.state is HandoffState.OFFERED
            and handoff.escalate_at is not None
            and now >= handoff.escalate_at
        ):
            alarms.append(
                Alarm(
                    AlarmKind.ESCALATED,
                    DeadlineScope.STEP,
                    handoff.seq,
                    handoff.step_no,
                    handoff.escalate_at,
                    holder,
                    offered_at=handoff.offered_at,
                    from_agency_code=handoff.from_agency_code,
                )
            )
    if dossier.status is DossierStatus.IN_PROGRESS:
        kind = _deadline(dossier.due_at, dossier.nearly_due_at, now)
        if kind is not None and dossier.due_at is not None:
            alarms.append(
                Alarm(kind, DeadlineScope.OVERALL, 0, None, dossier.due_at, holder)
            )
    return alarms


def next_alarm_at(dossier: Dossier, after: datetime | None = None) -> datetime | None:
    """When this dossier should next be looked at for alarms.

    With ``after`` (the scheduler, having just raised what was due), the first
    moment when a new alarm can start; without it (an action changed the
    dossier), the earliest deadline moment at all, so that the scheduler
    re-checks at once anything the action may have brought due.
    """
    if dossier.imported:
        return None
    # (moment, strict): an overdue alarm starts strictly after its due time,
    # the others at their moment.
    moments: list[tuple[datetime, bool]] = []
    handoff = dossier.handoff
    if (
        handoff is not None
        and handoff.is_open
        and dossier.status in TRAVELLING_STATUSES
    ):
        if handoff.nearly_due_at:
            moments.append((handoff.nearly_due_at, False))
        if handoff.step_due_at:
            moments.append((handoff.step_due_at, True))
        if handoff.state is HandoffState.OFFERED and handoff.escalate_at:
            moments.append((handoff.escalate_at, False))
    if dossier.status is DossierStatus.IN_PROGRESS:
        if dossier.nearly_due_at:
            moments.append((dossier.nearly_due_at, False))
        if dossier.due_at:
            moments.append((dossier.due_at, True))
    if after is not None:
        moments = [(m, s) for m, s in moments if (m >= after if s else m > after)]
    return min((m for m, _ in moments), default=None)


@dataclass(frozen=True)
class DeadlineFlags:
    """How close a dossier is to its deadlines, for the agencies' queues."""

    step_nearly_due: bool
    step_overdue: bool
    nearly_due: bool
    overdue: bool
    step_remaining_hours: float | None
    """Working hours left on the step (negative: overdue by that much)."""


def flags(dossier: Dossier, now: datetime, policy: DeadlinePolicy) -> DeadlineFlags:
    """Deadline flags at ``now``; while paused, as they stood when the clock stopped."""
    at = dossier.pause.started_at if dossier.pause else now
    handoff = dossier.handoff
    step: AlarmKind | None = None
    remaining: float | None = None
    if handoff is not None and handoff.is_open:
        step = _deadline(handoff.step_due_at, handoff.nearly_due_at, at)
        if handoff.step_due_at is not None:
            left = policy.calendar.remaining(at, handoff.step_due_at)
            remaining = round(left / timedelta(hours=1), 2)
    overall = (
        _deadline(dossier.due_at, dossier.nearly_due_at, at)
        if dossier.status in UNRESOLVED_STATUSES
        else None
    )
    return DeadlineFlags(
        step_nearly_due=step is AlarmKind.NEARLY_DUE,
        step_overdue=step is AlarmKind.OVERDUE,
        nearly_due=overall is AlarmKind.NEARLY_DUE,
        overdue=overall is AlarmKind.OVERDUE,
        step_remaining_hours=remaining,
    )
