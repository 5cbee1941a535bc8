"""Events of a dossier's inter-agency processing, produced by routing.

Every hand-off event carries the receiving agency's e-ID in the ``agency-code``
Kafka header, so an agency's own system can consume only its own hand-offs.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from motcua.shared.contracts.common import DossierStatus
from motcua.shared.contracts.dossier import DossierEventData


class Timeliness(StrEnum):
    """Control-sheet mark of a hand-over or a result (sớm / đúng hạn / quá hạn)."""

    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


class DeadlineScope(StrEnum):
    STEP = "step"
    OVERALL = "overall"


class RoutedStep(BaseModel):
    """A workflow step resolved to a concrete agency."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    step_no: int
    role: str
    name: str = ""
    agency_code: str
    hours: float


class DossierRoutedV1(DossierEventData):
    """The workflow was resolved to concrete agencies by competence."""

    EVENT_TYPE = "dossier.routed"

    competent_agency_code: str
    steps: list[RoutedStep]


class DossierDispatchQueuedV1(DossierEventData):
    """No agency could be found: the dossier waits for an operator."""

    EVENT_TYPE = "dossier.dispatch_queued"

    reason: str


class _StepEvent(DossierEventData):
    step_no: int
    from_agency_code: str | None = None
    to_agency_code: str
    officer: str | None = None


class HandoffOfferedV1(_StepEvent):
    """A step is offered to an agency; its step clock starts."""

    EVENT_TYPE = "dossier.handoff_offered"

    role: str = ""
    step_due_at: AwareDatetime | None = None
    status: DossierStatus = DossierStatus.IN_PROGRESS


class HandoffAcknowledgedV1(_StepEvent):
    """The receiving agency took the dossier over."""

    EVENT_TYPE = "dossier.handoff_acknowledged"


class StepCompletedV1(_StepEvent):
    """The holding agency finished its step and forwarded the dossier."""

    EVENT_TYPE = "dossier.step_completed"

    step_due_at: AwareDatetime | None = None
    timeliness: Timeliness = Timeliness.ON_TIME
    next_agency_code: str | None = None


class HandoffReturnedV1(_StepEvent):
    """Sent back to the previous agency, with a reason."""

    EVENT_TYPE = "dossier.handoff_returned"

    reason: str


class HandoffEscalatedV1(_StepEvent):
    """Left unacknowledged too long: raised to the supervisor queue."""

    EVENT_TYPE = "dossier.handoff_escalated"

    offered_at: AwareDatetime | None = None


class SupplementRequestedV1(DossierEventData):
    """An agency asked for more documents (status 5); the clock pauses."""

    EVENT_TYPE = "dossier.supplement_requested"

    requested_components: list[str]
    reason: str = ""
    status: DossierStatus = DossierStatus.AWAITING_SUPPLEMENT
    officer: str | None = Field(
        default=None, description="Officer who asked (the contact on form 02)."
    )


class FeeRequestedV1(DossierEventData):
    """A fee or tax must be paid (status 6); the clock pauses."""

    EVENT_TYPE = "dossier.fee_requested"

    amount_vnd: int = Field(ge=0)
    description: str = ""
    status: DossierStatus = DossierStatus.AWAITING_FEE
    officer: str | None = None


class FeePaidV1(DossierEventData):
    EVENT_TYPE = "dossier.fee_paid"

    amount_vnd: int = Field(ge=0)
    officer: str | None = Field(default=None, description="Officer who recorded it.")


class ProcessingResumedV1(DossierEventData):
    """A pause ended; due times moved by the paused working time (status 4)."""

    EVENT_TYPE = "dossier.processing_resumed"

    paused_working_hours: float
    due_at: AwareDatetime | None = None
    step_due_at: AwareDatetime | None = None
    status: DossierStatus = DossierStatus.IN_PROGRESS


class ProcessingStoppedV1(DossierEventData):
    """Processing stopped or the dossier is not eligible (status 8)."""

    EVENT_TYPE = "dossier.processing_stopped"

    reason: str
    status: DossierStatus = DossierStatus.STOPPED
    officer: str | None = None


class ResultRecordedV1(DossierEventData):
    """The result is ready (status 9)."""

    EVENT_TYPE = "dossier.result_recorded"

    resolved_at: AwareDatetime
    due_at: AwareDatetime | None = None
    timeliness: Timeliness
    result_summary: str = ""
    status: DossierStatus = DossierStatus.RESOLVED
    officer: str | None = None


class ResultDeliveredV1(DossierEventData):
    """The result reached the citizen (status 10)."""

    EVENT_TYPE = "dossier.result_delivered"

    delivered_at: AwareDatetime
    method: str = "desk"
    status: DossierStatus = DossierStatus.RESULT_DELIVERED
    officer: str | None = Field(
        default=None, description="Officer who handed it over (none by post)."
    )


class _DeadlineEvent(DossierEventData):
    scope: DeadlineScope
    holding_agency_code: str | None = None
    step_no: int | None = None
    due_at: AwareDatetime


class DossierNearlyDueV1(_DeadlineEvent):
    """24 working hours or less remain."""

    EVENT_TYPE = "dossier.nearly_due"


class DossierOverdueV1(_DeadlineEvent):
    """The due time passed while an agency held the dossier."""

    EVENT_TYPE = "dossier.overdue"


class ApologyIssuedV1(DossierEventData):
    """Form 04: the responsible agency apologises and sets a new appointment."""

    EVENT_TYPE = "dossier.apology_issued"

    reason: str
    previous_due_at: AwareDatetime | None = None
    new_due_at: AwareDatetime
    officer: str | None = Field(
        default=None, description="Who signed the apology for the agency."
    )
