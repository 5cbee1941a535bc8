"""What reporting knows about one dossier, folded from its events (pure).

:func:`apply_event` is the whole projection logic: it turns the current
:class:`DossierFacts` and one event into the new facts plus what else the
read model records (occurrences counted beside Biểu 06, and appointment or
pause changes kept so a past period's report does not move when an
appointment moves later). Everything is taken from business time
(``occurred_at`` and the times inside payloads), so imported history lands in
the period it happened in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from motcua.reporting.bieu06 import Closure, Occurrence
from motcua.reporting.periods import OPEN_DAY, day_number
from motcua.shared.contracts import EventData, EventEnvelope
from motcua.shared.contracts.common import DossierStatus
from motcua.shared.contracts.dossier import (
    DossierRatedV1,
    DossierReceivedV2,
    DossierRefusedV2,
    DossierSubmittedV1,
    DossierWithdrawnV1,
)
from motcua.shared.contracts.handoff import (
    ApologyIssuedV1,
    DossierRoutedV1,
    FeeRequestedV1,
    HandoffOfferedV1,
    ProcessingResumedV1,
    ProcessingStoppedV1,
    ResultDeliveredV1,
    ResultRecordedV1,
    SupplementRequestedV1,
)
from motcua.shared.contracts.notification import PostalOrderCreatedV1
from motcua.shared.domain.status import (
    DossierAction,
    action_of,
    status_after_event,
    status_after_event_seen,
)
from motcua.shared.domain.timeliness import Granularity, timeliness


@dataclass
class DossierFacts:
    """One row of the read model (``reporting_dossier``)."""

    dossier_code: str
    status: int = 0
    procedure_code: str | None = None
    procedure_name: str | None = None
    field_code: str | None = None
    field_name: str | None = None
    procedure_level: str | None = None
    receiving_agency_code: str | None = None
    competent_agency_code: str | None = None
    channel: str | None = None
    imported: bool = False
    received_at: datetime | None = None
    due_at: datetime | None = None
    initial_due_at: datetime | None = None
    paused: bool = False
    state_changed_at: datetime | None = None
    changes: int = 0
    closed_at: datetime | None = None
    closure: str | None = None
    timeliness: str | None = None
    processing_hours: float | None = None
    id_hash: str | None = None
    rating: int | None = None
    rated_at: datetime | None = None
    occurrence_days: tuple[tuple[str, int], ...] = ()
    """(kind, day number) of every counted occurrence, so the monthly figures
    can move them with the dossier."""

    @property
    def agency_code(self) -> str | None:
        """The handling agency: the competent one once routed, else the desk."""
        return self.competent_agency_code or self.receiving_agency_code

    @property
    def is_closed(self) -> bool:
        return self.closure is not None

    def row_values(self) -> dict[str, Any]:
        """Every column of the dossier's read-model row, derived ones included."""
        # Shallow: every value is immutable (``dataclasses.asdict`` would copy
        # the tuples recursively for nothing, and it is on the hot path).
        values: dict[str, Any] = {name: getattr(self, name) for name in _FIELDS}
        values["agency_code"] = self.agency_code
        values.update(self.day_columns())
        return values

    def day_columns(self) -> dict[str, int | None]:
        """Day numbers the report compares (Vietnam calendar days)."""
        return {
            "received_day": _day(self.received_at),
            "due_day": _day(self.due_at),
            "open_until_day": OPEN_DAY
            if self.closed_at is None
            else day_number(self.closed_at),
            "state_changed_day": _day(self.state_changed_at),
            "rated_day": _day(self.rated_at),
        }


_FIELDS = tuple(f.name for f in dataclasses.fields(DossierFacts))


def _day(moment: datetime | None) -> int | None:
    return None if moment is None else day_number(moment)


@dataclass(frozen=True)
class ScheduleChange:
    """The appointment or the pause changed (kept for past periods)."""

    changed_at: datetime
    seq: int
    due_at: datetime | None
    paused: bool


@dataclass
class Projected:
    facts: DossierFacts
    occurrences: list[tuple[Occurrence, datetime]] = field(default_factory=list)
    change: ScheduleChange | None = None


IdHasher = Callable[[str], str]
"""The lookup digest of an ID number a citizen types (HMAC, see
:func:`motcua.shared.personal_data.lookup_digest`)."""


class CreationRepeatedError(ValueError):
    """A second reception (or refusal) of a dossier already received or
    refused here: the first stands, this one must not be applied."""


class IllegalEventError(ValueError):
    """An act the shared status table does not allow from the dossier's
    status as reporting records it."""


STATUS_LAGS: Final = frozenset(
    {
        DossierAction.START_PROCESSING,  # dossier.routed: 2 until the hand-over
        DossierAction.RECEIVE_SUPPLEMENT,  # 5 until dossier.processing_resumed
        DossierAction.RECORD_FEE_PAYMENT,  # 6 until dossier.processing_resumed
    }
)
"""Acts whose events reporting folds without moving the status it keeps."""
CREATING_ACTS: Final = frozenset(
    {
        DossierAction.SUBMIT,
        DossierAction.ACCEPT,
        DossierAction.REFUSE,
        DossierAction.REQUEST_COMPLETION,
    }
)
"""A second one of these is a duplicate creation, not an illegal move."""


def check_act(facts: DossierFacts, event: EventEnvelope[EventData]) -> None:
    """Refuse an act impossible from the dossier's recorded status (a result
    delivered while processing, anything after a withdrawal). A dossier not
    created here yet is not checked: an event may overtake its reception
    (it counts nowhere until the reception comes, see ``monthly``)."""
    if facts.procedure_code is None or facts.status == 0:
        return
    if event.imported or facts.imported:
        if event.imported and not facts.imported:
            msg = f"{event.event_type}: imported history about a live dossier"
            raise IllegalEventError(msg)
        return  # history describes past states, not each move
    status = DossierStatus(facts.status)
    action = action_of(event.event_type)
    if action is None or action in CREATING_ACTS:  # creations: see _not_created
        return
    if status_after_event_seen(status, event.event_type, unseen=STATUS_LAGS) is None:
        msg = (
            f"{event.event_type} for dossier {facts.dossier_code} at status "
            f"{int(status)} ({status.name.lower()})"
        )
        raise IllegalEventError(msg)


FOLDED_TYPES: tuple[type[EventData], ...] = (
    DossierSubmittedV1,
    DossierReceivedV2,
    DossierRefusedV2,
    DossierRoutedV1,
    HandoffOfferedV1,
    SupplementRequestedV1,
    FeeRequestedV1,
    ProcessingStoppedV1,
    ProcessingResumedV1,
    ApologyIssuedV1,
    ResultRecordedV1,
    ResultDeliveredV1,
    DossierWithdrawnV1,
    DossierRatedV1,
    PostalOrderCreatedV1,
)
"""The payloads :func:`apply_event` reads; any other event (notices being sent,
hand-offs acknowledged, unknown types) leaves a dossier's facts as they are, so
the projection need not even read them."""


def folds(event: EventEnvelope[EventData]) -> bool:
    """Whether the event can change a dossier's facts or record anything."""
    return isinstance(event.data, FOLDED_TYPES)


def apply_event(
    facts: DossierFacts, event: EventEnvelope[EventData], id_digest: str | None = None
) -> Projected:
    """Fold one event into a dossier's facts. ``id_digest``: for a reception,
    the lookup digest of the applicant's ID number (sealed for reporting in
    the event). Raises :class:`CreationRepeatedError`."""
    out = Projected(replace(facts))
    if not folds(event):
        return out
    new = out.facts
    at = event.occurred_at
    match event.data:
        case DossierSubmittedV1() as d:
            _describe(new, d.procedure_code, d.receiving_agency_code, d.channel.value)
            _follow(new, event.event_type)
        case DossierReceivedV2() as d:
            _not_created(facts, event)
            _apply_received(new, d, event.imported, id_digest)
            _follow(new, event.event_type)
        case DossierRefusedV2() as d:
            _not_created(facts, event)
            _describe(new, d.procedure_code, d.receiving_agency_code, d.channel.value)
            _follow(new, event.event_type)
            out.occurrences.append((Occurrence.REFUSAL, at))
        case DossierRoutedV1() as d:
            new.competent_agency_code = d.competent_agency_code
        case HandoffOfferedV1():
            _follow(new, event.event_type)
        case SupplementRequestedV1() as d:
            out.occurrences.append((Occurrence.SUPPLEMENT, at))
            _reschedule(out, at, status=d.status, paused=True)
        case FeeRequestedV1() as d:
            _reschedule(out, at, status=d.status, paused=True)
        case ProcessingStoppedV1() as d:
            _reschedule(out, at, status=d.status, paused=True)
        case ProcessingResumedV1() as d:
            _reschedule(out, at, status=d.status, paused=False, due_at=d.due_at)
        case ApologyIssuedV1() as d:
            out.occurrences.append((Occurrence.APOLOGY, at))
            _reschedule(out, at, status=None, paused=new.paused, due_at=d.new_due_at)
        case ResultRecordedV1() as d:
            _close_resolved(new, d.resolved_at, d.due_at or new.due_at)
            new.status = d.status
        case ResultDeliveredV1() as d:
            if not new.is_closed:
                _close_resolved(new, d.delivered_at, new.due_at)
            new.status = d.status
        case DossierWithdrawnV1() as d:
            out.occurrences.append((Occurrence.WITHDRAWAL, at))
            if not new.is_closed:
                new.closed_at = at
                new.closure = Closure.WITHDRAWN
                new.paused = False
            new.status = d.status
        case DossierRatedV1() as d:
            new.rating = d.score
            new.rated_at = at
        case PostalOrderCreatedV1():
            out.occurrences.append((Occurrence.POSTAL_RETURN, at))
        case _:
            pass
    if out.occurrences:  # sorted: the two topics interleave differently on replay
        new.occurrence_days = tuple(
            sorted(
                (
                    *new.occurrence_days,
                    *((kind.value, day_number(at)) for kind, at in out.occurrences),
                )
            )
        )
    return out


def _not_created(facts: DossierFacts, event: EventEnvelope[EventData]) -> None:
    if facts.received_at is not None or facts.status == DossierStatus.REFUSED:
        msg = f"{event.event_type} for dossier {facts.dossier_code}, created already"
        raise CreationRepeatedError(msg)


def _describe(
    facts: DossierFacts, procedure_code: str, agency_code: str, channel: str
) -> None:
    facts.procedure_code = facts.procedure_code or procedure_code
    facts.receiving_agency_code = facts.receiving_agency_code or agency_code
    facts.channel = facts.channel or channel


def _apply_received(
    facts: DossierFacts, d: DossierReceivedV2, imported: bool, id_digest: str | None
) -> None:
    facts.procedure_code = d.procedure_code
    facts.procedure_name = d.procedure_name
    facts.field_code = d.field_code
    facts.field_name = d.field_name
    facts.procedure_level = d.procedure_level.value
    facts.receiving_agency_code = d.receiving_agency_code
    if d.competent_agency_code:  # intake knew it; routing may still refine it
        facts.competent_agency_code = d.competent_agency_code
    facts.channel = d.channel.value
    facts.imported = imported
    facts.received_at = d.received_at
    facts.due_at = d.due_at
    facts.initial_due_at = d.due_at
    facts.id_hash = id_digest


def _follow(facts: DossierFacts, event_type: str) -> None:
    """Move the status as the shared table says; a status the event's act
    cannot come from stays as it is. A dossier reporting has not seen yet
    (0: the two topics and producers interleave) takes the status the act
    creates, or, for routing's acts, the one it leads to from "received"
    (routing acts only on received dossiers)."""
    held = DossierStatus(facts.status) if facts.status else None
    after = status_after_event(held, event_type)
    if after is None and held is None:
        after = status_after_event(DossierStatus.RECEIVED, event_type)
    if after is not None:
        facts.status = after


def _reschedule(
    out: Projected,
    at: datetime,
    *,
    status: int | None,
    paused: bool,
    due_at: datetime | None = None,
) -> None:
    """Pause, resume or move the appointment of an open dossier."""
    facts = out.facts
    if facts.is_closed:
        return
    if status is not None:
        facts.status = status
    facts.paused = paused
    if due_at is not None:
        facts.due_at = due_at
    facts.changes += 1
    if facts.state_changed_at is None or at > facts.state_changed_at:
        facts.state_changed_at = at
    out.change = ScheduleChange(at, facts.changes, facts.due_at, facts.paused)


def _close_resolved(
    facts: DossierFacts, finished_at: datetime, due_at: datetime | None
) -> None:
    facts.closed_at = finished_at
    facts.closure = Closure.RESOLVED
    facts.timeliness = timeliness(finished_at, due_at, granularity=Granularity.DAY)
    facts.paused = False
    if facts.received_at is not None:
        hours = (finished_at - facts.received_at).total_seconds() / 3600
        facts.processing_hours = round(max(hours, 0.0), 3)


def schedule_at(
    initial_due_at: datetime | None,
    changes: list[ScheduleChange],
    end_day: int,
) -> tuple[int | None, bool]:
    """Appointment day and pause as they stood before day ``end_day`` began."""
    due, paused = initial_due_at, False
    for change in sorted(changes, key=lambda c: (c.changed_at, c.seq)):
        if day_number(change.changed_at) >= end_day:
            break
        due, paused = change.due_at, change.paused
    return (None if due is None else day_number(due)), paused
