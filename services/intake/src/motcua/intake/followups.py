"""What happens to a received dossier afterwards (pure): the supplement an
agency asked for, withdrawal at the citizen's request, and what routing's
events change in what intake shows.

Every status question goes to the shared table
(:mod:`motcua.shared.domain.status`), the one routing acts by, so intake and
routing agree on every act from every status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from motcua.intake.catalogue import Procedure
from motcua.intake.domain import ActRefusedError
from motcua.intake.schemas import ComponentIn
from motcua.shared.contracts import EventData, EventEnvelope
from motcua.shared.contracts.common import DossierStatus
from motcua.shared.contracts.dossier import (
    DossierSupplementReceivedV1,
    DossierWithdrawnV1,
    SubmittedComponent,
)
from motcua.shared.contracts.handoff import (
    ApologyIssuedV1,
    FeeRequestedV1,
    HandoffOfferedV1,
    ProcessingResumedV1,
    ProcessingStoppedV1,
    ResultDeliveredV1,
    ResultRecordedV1,
    SupplementRequestedV1,
)
from motcua.shared.domain.status import (
    DossierAction,
    apply,
    can,
    status_after_event,
)

# -- supplements ---------------------------------------------------------------------


@dataclass(frozen=True)
class SupplementTaken:
    """The requested components arrived at the desk: status 5 → 4."""

    status: DossierStatus
    received_at: datetime
    components: list[SubmittedComponent]
    note: str
    event: DossierSupplementReceivedV1

    def entry(self) -> dict[str, Any]:
        """The supplement as the dossier's details list it."""
        return {
            "received_at": self.received_at.isoformat(),
            "components": [c.model_dump() for c in self.components],
            "note": self.note,
        }


def decide_supplement(
    code: str,
    status: DossierStatus,
    procedure: Procedure | None,
    given: list[ComponentIn],
    note: str,
    now: datetime,
) -> SupplementTaken:
    """Supplements are taken only after an agency asked for one (status 5)."""
    if not can(status, DossierAction.RECEIVE_SUPPLEMENT):
        raise ActRefusedError(
            "supplement_not_requested",
            f"Hồ sơ {code} không ở trạng thái chờ bổ sung; chỉ nhận bổ sung "
            "khi cơ quan giải quyết đã yêu cầu.",
        )
    components = _supplied(procedure, given)
    return SupplementTaken(
        status=apply(status, DossierAction.RECEIVE_SUPPLEMENT),
        received_at=now,
        components=components,
        note=note,
        event=DossierSupplementReceivedV1(
            received_at=now, components=components, note=note
        ),
    )


def _supplied(
    procedure: Procedure | None, given: list[ComponentIn]
) -> list[SubmittedComponent]:
    """The components handed in, named as the dossier's procedure version
    names them (a code it does not list is kept as given)."""
    result: list[SubmittedComponent] = []
    for item in given:
        listed = procedure.component(item.code) if procedure else None
        result.append(
            SubmittedComponent(
                code=item.code,
                name=listed.name if listed else item.code,
                original=bool(item.original),
                copies=item.copies or 1,
            )
        )
    return result


# -- withdrawal ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Withdrawal:
    """Withdrawn at the citizen's request: status 7."""

    status: DossierStatus
    withdrawn_at: datetime
    reason: str
    event: DossierWithdrawnV1

    def entry(self) -> dict[str, Any]:
        return {"at": self.withdrawn_at.isoformat(), "reason": self.reason}


def decide_withdrawal(
    code: str, status: DossierStatus, reason: str, now: datetime
) -> Withdrawal:
    """A citizen may withdraw an open dossier: not one refused, stopped,
    withdrawn or delivered."""
    if not can(status, DossierAction.WITHDRAW):
        raise ActRefusedError(
            "withdrawal_not_allowed",
            f"Hồ sơ {code} đang ở trạng thái “{status.label_vi}”, không thể rút.",
        )
    return Withdrawal(
        status=apply(status, DossierAction.WITHDRAW),
        withdrawn_at=now,
        reason=reason,
        event=DossierWithdrawnV1(reason=reason),
    )


# -- following routing -----------------------------------------------------------------------

FOLLOWED_EVENTS: tuple[type[EventData], ...] = (
    HandoffOfferedV1,
    SupplementRequestedV1,
    FeeRequestedV1,
    ProcessingResumedV1,
    ProcessingStoppedV1,
    ResultRecordedV1,
    ResultDeliveredV1,
    ApologyIssuedV1,
)
"""Routing's events that change what intake shows of a dossier: its status
(through the shared table) or its appointment."""


@dataclass(frozen=True)
class News:
    """What one of routing's events changes in intake's record."""

    due_at: datetime | None = None
    """A new appointment (after a pause, or form 04)."""
    status: DossierStatus | None = None
    """A new status, when the event moves it."""
    supplement_requested: list[str] | None = None
    ignored: bool = False
    """The event's act is impossible from the status intake holds."""


def follow(
    status: DossierStatus, last_change: datetime | None, event: EventEnvelope[Any]
) -> News:
    """What intake records when routing's ``event`` arrives for a dossier it
    holds in ``status`` (changed at ``last_change``)."""
    data = event.data
    due_at = None
    if isinstance(data, ProcessingResumedV1):
        due_at = data.due_at
    elif isinstance(data, ApologyIssuedV1):
        due_at = data.new_due_at
    if is_stale(event.occurred_at, last_change):
        return News(due_at=due_at)
    after = status_after_event(status, event.event_type)
    if after is None:
        return News(due_at=due_at, ignored=True)
    if after is status:  # a hand-over between agencies, an apology, an echo
        return News(due_at=due_at)
    requested = (
        list(data.requested_components)
        if isinstance(data, SupplementRequestedV1)
        else None
    )
    return News(due_at=due_at, status=after, supplement_requested=requested)


def is_stale(event_time: datetime, last_change: datetime | None) -> bool:
    """An event older than the last status change it would overwrite (events
    from different producers may arrive out of order)."""
    return last_change is not None and event_time < last_change
