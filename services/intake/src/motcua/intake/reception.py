"""What a reception decides (pure): the appointment, the workflow handed to
routing, which components are missing, and which later actions a status allows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from motcua.intake.catalogue import Procedure
from motcua.shared.contracts.common import Channel, DossierStatus
from motcua.shared.contracts.dossier import WorkflowStep
from motcua.shared.domain.calendar import TimeLimit, WorkCalendar
from motcua.shared.domain.status import TRANSITIONS, DossierAction, can


class Outcome(StrEnum):
    """The desk officer's decision on a dossier (forms 01, 02, 03)."""

    RECEIVED = "received"  # Mẫu 01: complete and valid, appointment given
    COMPLETION_REQUESTED = "completion_requested"  # Mẫu 02: what to complete
    REFUSED = "refused"  # Mẫu 03: not acceptable, with reasons

    @property
    def form(self) -> str:
        return {"received": "01", "completion_requested": "02", "refused": "03"}[
            self.value
        ]

    @property
    def action(self) -> DossierAction:
        """The act on the dossier's status the decision is (shared table)."""
        return {
            "received": DossierAction.ACCEPT,
            "completion_requested": DossierAction.REQUEST_COMPLETION,
            "refused": DossierAction.REFUSE,
        }[self.value]

    @property
    def status(self) -> DossierStatus:
        """The status a dossier starts in after this decision."""
        status = TRANSITIONS[self.action].creates
        assert status is not None  # (every desk decision creates a dossier)
        return status


@dataclass(frozen=True)
class Appointment:
    """When the legal clock starts and when the result is due (ngày hẹn trả)."""

    received_at: datetime
    clock_started_at: datetime
    due_at: datetime
    limit: TimeLimit


def appointment(
    calendar: WorkCalendar, received_at: datetime, limit: TimeLimit
) -> Appointment:
    return Appointment(
        received_at=received_at,
        clock_started_at=calendar.clock_start(received_at),
        due_at=calendar.due_at(received_at, limit),
        limit=limit,
    )


def workflow_for(procedure: Procedure, channel: Channel) -> list[WorkflowStep]:
    """The procedure's internal workflow for ``channel``, as the event carries it."""
    return [
        WorkflowStep(step_no=number, role=step.role, name=step.name, hours=step.hours)
        for number, step in enumerate(procedure.workflow(channel), start=1)
    ]


def missing_components(procedure: Procedure, submitted: Iterable[str]) -> list[str]:
    """Names of required components that were not submitted."""
    given = set(submitted)
    return [c.name for c in procedure.required_components() if c.code not in given]


def unknown_components(procedure: Procedure, submitted: Iterable[str]) -> list[str]:
    """Submitted codes the procedure does not list (staff may not ask for them)."""
    return [code for code in submitted if procedure.component(code) is None]


def can_withdraw(status: DossierStatus) -> bool:
    """A citizen may withdraw an open dossier (not one refused, stopped,
    withdrawn or delivered)."""
    return can(status, DossierAction.WITHDRAW)


def can_take_supplement(status: DossierStatus) -> bool:
    """Supplements are accepted only after an agency asked for them."""
    return can(status, DossierAction.RECEIVE_SUPPLEMENT)


def is_stale(event_time: datetime, last_change: datetime | None) -> bool:
    """An event older than the last status change it would overwrite (events
    from different producers may arrive out of order)."""
    return last_change is not None and event_time < last_change
