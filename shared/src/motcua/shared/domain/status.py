"""The dossier status rules, in one table every service asks (pure).

The national status codes (``TrangThaiHoSo`` 1–10, :class:`DossierStatus`)
change only through the acts in :data:`TRANSITIONS`: for each
:class:`DossierAction`, the statuses it may happen in and the status each
leads to (the same status when the act moves none). :data:`EVENT_ACTIONS`
says which act each event type on ``motcua.dossier.events`` announces, so a
service that follows another's events asks the same table as the service
that acted:

==================  ==========================  ===================  ===========
action              event type                  from → to            meaning
==================  ==========================  ===================  ===========
submit              dossier.submitted           new → 1              nộp trực tuyến
request_completion  dossier.completion_requested new → 1, 1 → 1      mẫu 02
accept              dossier.received            new → 2, 1 → 2       tiếp nhận (mẫu 01)
refuse              dossier.refused             new → 3, 1 → 3       từ chối (mẫu 03)
queue_for_dispatch  dossier.dispatch_queued     2 → 2                chờ điều phối
start_processing    dossier.routed              2 → 4                chuyển xử lý
hand_over           dossier.handoff_offered     2 → 4, 4 → 4, 9 → 9  chuyển hồ sơ
acknowledge         dossier.handoff_acknowledged  4, 9 (no move)     nhận hồ sơ
complete_step       dossier.step_completed      4, 9 (no move)       hoàn thành bước
return              dossier.handoff_returned    4, 9 (no move)       trả lại
escalate            dossier.handoff_escalated   4, 9 (no move)       báo lãnh đạo
raise_alarm         dossier.nearly_due/overdue  4, 9 (no move)       cảnh báo hạn
request_supplement  dossier.supplement_requested 4 → 5               yêu cầu bổ sung
receive_supplement  dossier.supplement_received 5 → 4                nhận bổ sung
request_fee         dossier.fee_requested       4 → 6                yêu cầu nộp phí
record_fee_payment  dossier.fee_paid            6 → 4                đã nộp phí
resume_processing   dossier.processing_resumed  5 → 4, 6 → 4         tiếp tục xử lý
issue_apology       dossier.apology_issued      4, 5, 6 (no move)    mẫu 04
stop_processing     dossier.processing_stopped  4 → 8                dừng xử lý
record_result       dossier.result_recorded     4 → 9                có kết quả
deliver_result      dossier.result_delivered    9 → 10               đã trả kết quả
withdraw            dossier.withdrawn           any open → 7         rút hồ sơ
rate                dossier.rated               9, 10 (no move)      đánh giá
seal_legacy         dossier.legacy_sealed       any (no move)        niêm phong dữ liệu cũ
==================  ==========================  ===================  ===========

"Overdue" is not a status: it is derived from the due time. Statuses 3, 7, 8
and 10 are final: nothing leaves them (a stopped dossier cannot be withdrawn).

Acting on a dossier: :func:`can` / :func:`apply` (which raises
:class:`IllegalTransitionError` with a Vietnamese message). Following another
service's events: :func:`action_of` and :func:`status_after_event` (or
:func:`status_after_event_seen` for a follower that skips some acts' events).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from motcua.shared.contracts.common import DossierStatus
from motcua.shared.contracts.dossier import (
    DossierCompletionRequestedV2,
    DossierLegacySealedV1,
    DossierRatedV1,
    DossierReceivedV2,
    DossierRefusedV2,
    DossierSubmittedV1,
    DossierSupplementReceivedV1,
    DossierWithdrawnV1,
)
from motcua.shared.contracts.handoff import (
    ApologyIssuedV1,
    DossierDispatchQueuedV1,
    DossierNearlyDueV1,
    DossierOverdueV1,
    DossierRoutedV1,
    FeePaidV1,
    FeeRequestedV1,
    HandoffAcknowledgedV1,
    HandoffEscalatedV1,
    HandoffOfferedV1,
    HandoffReturnedV1,
    ProcessingResumedV1,
    ProcessingStoppedV1,
    ResultDeliveredV1,
    ResultRecordedV1,
    StepCompletedV1,
    SupplementRequestedV1,
)

__all__ = [
    "EVENT_ACTIONS",
    "FINAL_STATUSES",
    "OPEN_STATUSES",
    "PAUSED_STATUSES",
    "RESULT_STATUSES",
    "TRANSITIONS",
    "TRAVELLING_STATUSES",
    "UNRESOLVED_STATUSES",
    "DossierAction",
    "DossierStatus",
    "IllegalTransitionError",
    "Transition",
    "action_of",
    "apply",
    "can",
    "is_final",
    "is_legal",
    "is_paused",
    "legal_targets",
    "status_after_event",
    "status_after_event_seen",
]

S = DossierStatus

# -- named sets of statuses ----------------------------------------------------------

FINAL_STATUSES: Final = frozenset(
    {S.REFUSED, S.WITHDRAWN, S.STOPPED, S.RESULT_DELIVERED}
)
"""Nothing leaves these statuses."""
OPEN_STATUSES: Final = frozenset(DossierStatus) - FINAL_STATUSES
PAUSED_STATUSES: Final = frozenset({S.AWAITING_SUPPLEMENT, S.AWAITING_FEE})
"""The legal clock does not run in these statuses (the due time moves later)."""
TRAVELLING_STATUSES: Final = frozenset({S.IN_PROGRESS, S.RESOLVED})
"""The dossier moves between agencies: while it is processed, and while its
result goes back to the return desk. The holding agency's step clock runs."""
UNRESOLVED_STATUSES: Final = frozenset(
    {S.RECEIVED, S.IN_PROGRESS, S.AWAITING_SUPPLEMENT, S.AWAITING_FEE}
)
"""Received and without a result yet: the appointment is still to be met."""
RESULT_STATUSES: Final = frozenset({S.RESOLVED, S.RESULT_DELIVERED})
"""The dossier has its result (ready, or handed over)."""


# -- the acts ----------------------------------------------------------------------------


class DossierAction(StrEnum):
    """What can happen to a dossier (see the module's table)."""

    SUBMIT = "submit"
    REQUEST_COMPLETION = "request_completion"
    ACCEPT = "accept"
    REFUSE = "refuse"
    QUEUE_FOR_DISPATCH = "queue_for_dispatch"
    START_PROCESSING = "start_processing"
    HAND_OVER = "hand_over"
    ACKNOWLEDGE = "acknowledge"
    COMPLETE_STEP = "complete_step"
    RETURN = "return"
    ESCALATE = "escalate"
    RAISE_ALARM = "raise_alarm"
    REQUEST_SUPPLEMENT = "request_supplement"
    RECEIVE_SUPPLEMENT = "receive_supplement"
    REQUEST_FEE = "request_fee"
    RECORD_FEE_PAYMENT = "record_fee_payment"
    RESUME_PROCESSING = "resume_processing"
    ISSUE_APOLOGY = "issue_apology"
    STOP_PROCESSING = "stop_processing"
    RECORD_RESULT = "record_result"
    DELIVER_RESULT = "deliver_result"
    WITHDRAW = "withdraw"
    RATE = "rate"
    SEAL_LEGACY = "seal_legacy"


@dataclass(frozen=True)
class Transition:
    """Where an act may happen and where it leads."""

    moves: Mapping[DossierStatus, DossierStatus]
    """Status before → status after, for every status the act may happen in."""
    label_vi: str
    """The act in Vietnamese, used in refusals ("Không thể <label_vi> …")."""
    creates: DossierStatus | None = None
    """The status of the dossier when the act is the dossier's first."""

    @property
    def sources(self) -> frozenset[DossierStatus]:
        return frozenset(self.moves)

    @property
    def targets(self) -> frozenset[DossierStatus]:
        return frozenset(self.moves.values())

    @property
    def changes_status(self) -> bool:
        return any(source is not target for source, target in self.moves.items())


def _to(
    sources: Iterable[DossierStatus],
    target: DossierStatus,
    label: str,
    *,
    creates: DossierStatus | None = None,
) -> Transition:
    return Transition(
        MappingProxyType(dict.fromkeys(sources, target)), label, creates=creates
    )


def _within(statuses: Iterable[DossierStatus], label: str) -> Transition:
    """An act that may happen in ``statuses`` and changes none of them."""
    return Transition(MappingProxyType({s: s for s in statuses}), label)


A = DossierAction
TRANSITIONS: Final[Mapping[DossierAction, Transition]] = MappingProxyType(
    {
        A.SUBMIT: _to((), S.SUBMITTED, "nộp hồ sơ", creates=S.SUBMITTED),
        A.REQUEST_COMPLETION: _to(
            {S.SUBMITTED},
            S.SUBMITTED,
            "yêu cầu bổ sung, hoàn thiện hồ sơ",
            creates=S.SUBMITTED,
        ),
        A.ACCEPT: _to({S.SUBMITTED}, S.RECEIVED, "tiếp nhận hồ sơ", creates=S.RECEIVED),
        A.REFUSE: _to({S.SUBMITTED}, S.REFUSED, "từ chối tiếp nhận", creates=S.REFUSED),
        A.QUEUE_FOR_DISPATCH: _within({S.RECEIVED}, "đưa hồ sơ vào hàng đợi điều phối"),
        A.START_PROCESSING: _to({S.RECEIVED}, S.IN_PROGRESS, "chuyển hồ sơ sang xử lý"),
        A.HAND_OVER: Transition(
            MappingProxyType(
                {
                    S.RECEIVED: S.IN_PROGRESS,
                    S.IN_PROGRESS: S.IN_PROGRESS,
                    S.RESOLVED: S.RESOLVED,
                }
            ),
            "chuyển hồ sơ đến cơ quan xử lý",
        ),
        A.ACKNOWLEDGE: _within(TRAVELLING_STATUSES, "tiếp nhận hồ sơ được chuyển đến"),
        A.COMPLETE_STEP: _within(
            TRAVELLING_STATUSES, "hoàn thành bước xử lý và chuyển tiếp"
        ),
        A.RETURN: _within(TRAVELLING_STATUSES, "trả hồ sơ về cơ quan trước"),
        A.ESCALATE: _within(TRAVELLING_STATUSES, "báo lãnh đạo hồ sơ chưa được nhận"),
        A.RAISE_ALARM: _within(TRAVELLING_STATUSES, "cảnh báo thời hạn xử lý"),
        A.REQUEST_SUPPLEMENT: _to(
            {S.IN_PROGRESS}, S.AWAITING_SUPPLEMENT, "yêu cầu bổ sung hồ sơ"
        ),
        A.RECEIVE_SUPPLEMENT: _to(
            {S.AWAITING_SUPPLEMENT}, S.IN_PROGRESS, "nhận hồ sơ bổ sung"
        ),
        A.REQUEST_FEE: _to(
            {S.IN_PROGRESS}, S.AWAITING_FEE, "yêu cầu thực hiện nghĩa vụ tài chính"
        ),
        A.RECORD_FEE_PAYMENT: _to(
            {S.AWAITING_FEE}, S.IN_PROGRESS, "ghi nhận đã nộp phí, lệ phí"
        ),
        A.RESUME_PROCESSING: _to(
            PAUSED_STATUSES, S.IN_PROGRESS, "tiếp tục xử lý hồ sơ"
        ),
        A.ISSUE_APOLOGY: _within(
            {S.IN_PROGRESS, *PAUSED_STATUSES},
            "gửi thư xin lỗi và hẹn lại ngày trả kết quả",
        ),
        A.STOP_PROCESSING: _to({S.IN_PROGRESS}, S.STOPPED, "dừng xử lý hồ sơ"),
        A.RECORD_RESULT: _to(
            {S.IN_PROGRESS}, S.RESOLVED, "ghi nhận kết quả giải quyết"
        ),
        A.DELIVER_RESULT: _to(
            {S.RESOLVED}, S.RESULT_DELIVERED, "xác nhận đã trả kết quả"
        ),
        A.WITHDRAW: _to(OPEN_STATUSES, S.WITHDRAWN, "rút hồ sơ"),
        A.RATE: _within(RESULT_STATUSES, "đánh giá việc giải quyết hồ sơ"),
        A.SEAL_LEGACY: _within(
            frozenset(DossierStatus), "niêm phong dữ liệu cũ chưa ký số"
        ),
    }
)

EVENT_ACTIONS: Final[Mapping[str, DossierAction]] = MappingProxyType(
    {
        DossierSubmittedV1.EVENT_TYPE: A.SUBMIT,
        DossierCompletionRequestedV2.EVENT_TYPE: A.REQUEST_COMPLETION,
        DossierReceivedV2.EVENT_TYPE: A.ACCEPT,
        DossierRefusedV2.EVENT_TYPE: A.REFUSE,
        DossierDispatchQueuedV1.EVENT_TYPE: A.QUEUE_FOR_DISPATCH,
        DossierRoutedV1.EVENT_TYPE: A.START_PROCESSING,
        HandoffOfferedV1.EVENT_TYPE: A.HAND_OVER,
        HandoffAcknowledgedV1.EVENT_TYPE: A.ACKNOWLEDGE,
        StepCompletedV1.EVENT_TYPE: A.COMPLETE_STEP,
        HandoffReturnedV1.EVENT_TYPE: A.RETURN,
        HandoffEscalatedV1.EVENT_TYPE: A.ESCALATE,
        DossierNearlyDueV1.EVENT_TYPE: A.RAISE_ALARM,
        DossierOverdueV1.EVENT_TYPE: A.RAISE_ALARM,
        SupplementRequestedV1.EVENT_TYPE: A.REQUEST_SUPPLEMENT,
        DossierSupplementReceivedV1.EVENT_TYPE: A.RECEIVE_SUPPLEMENT,
        FeeRequestedV1.EVENT_TYPE: A.REQUEST_FEE,
        FeePaidV1.EVENT_TYPE: A.RECORD_FEE_PAYMENT,
        ProcessingResumedV1.EVENT_TYPE: A.RESUME_PROCESSING,
        ApologyIssuedV1.EVENT_TYPE: A.ISSUE_APOLOGY,
        ProcessingStoppedV1.EVENT_TYPE: A.STOP_PROCESSING,
        ResultRecordedV1.EVENT_TYPE: A.RECORD_RESULT,
        ResultDeliveredV1.EVENT_TYPE: A.DELIVER_RESULT,
        DossierWithdrawnV1.EVENT_TYPE: A.WITHDRAW,
        DossierRatedV1.EVENT_TYPE: A.RATE,
        DossierLegacySealedV1.EVENT_TYPE: A.SEAL_LEGACY,
    }
)
"""The act each dossier event type announces."""


# -- asking the table ----------------------------------------------------------------------


class IllegalTransitionError(ValueError):
    """The action is not legal from the dossier's current status."""

    def __init__(self, status: DossierStatus, action: DossierAction) -> None:
        self.status = status
        self.action = action
        label = TRANSITIONS[action].label_vi
        super().__init__(
            f"Không thể {label} vì hồ sơ đang ở trạng thái "
            f"«{status.label_vi}» (mã {int(status)})."
        )


def can(status: DossierStatus, action: DossierAction) -> bool:
    """Whether ``action`` may happen to a dossier in ``status``."""
    return status in TRANSITIONS[action].moves


def apply(status: DossierStatus, action: DossierAction) -> DossierStatus:
    """The status after ``action``; raises :class:`IllegalTransitionError`."""
    moves = TRANSITIONS[action].moves
    if status not in moves:
        raise IllegalTransitionError(status, action)
    return moves[status]


def action_of(event_type: str) -> DossierAction | None:
    """The act an event type announces; None for events about no act on the
    dossier (notices, unknown types)."""
    return EVENT_ACTIONS.get(event_type)


def status_after_event(
    status: DossierStatus | None, event_type: str
) -> DossierStatus | None:
    """What a service following another's events records for the dossier.

    ``status`` is the status the follower holds (None: it has not seen the
    dossier yet). The answer is the status the event's act leads to; the
    same status when the follower already shows the act's result (an echo:
    the desk took a supplement, then routing announces the resumption); and
    None when the act is impossible from ``status``, or the event type is no
    act on the dossier.
    """
    action = action_of(event_type)
    if action is None:
        return None
    transition = TRANSITIONS[action]
    if status is None:
        return transition.creates
    if status in transition.moves:
        return transition.moves[status]
    return status if status in transition.targets else None


def status_after_event_seen(
    status: DossierStatus | None,
    event_type: str,
    *,
    unseen: Iterable[DossierAction] = (),
) -> DossierStatus | None:
    """:func:`status_after_event` for a follower that does not read every
    act: ``unseen`` are the acts whose events it skips (notification reads no
    hand-over, so a dossier it holds at 2 may be at 4 by now). The event is
    possible if it is from ``status`` or from any status those acts reach."""
    reachable = [status]
    if status is not None:
        reachable = list(_closure(status, frozenset(unseen)))
    for candidate in reachable:
        after = status_after_event(candidate, event_type)
        if after is not None:
            return after
    return None


def _closure(
    status: DossierStatus, acts: frozenset[DossierAction]
) -> list[DossierStatus]:
    """``status`` and every status ``acts`` lead to from it, nearest first."""
    found, frontier = [status], [status]
    while frontier:
        step = []
        for current in frontier:
            for act in sorted(acts):  # a fixed order: the same answer each time
                target = TRANSITIONS[act].moves.get(current)
                if target is not None and target not in found:
                    found.append(target)
                    step.append(target)
        frontier = step
    return found


def legal_targets(status: DossierStatus) -> frozenset[DossierStatus]:
    """Every other status reachable from ``status`` in one legal act."""
    return frozenset(
        target
        for transition in TRANSITIONS.values()
        if (target := transition.moves.get(status)) is not None and target is not status
    )


def is_legal(source: DossierStatus, target: DossierStatus) -> bool:
    """Whether one act moves a dossier from ``source`` to another ``target``."""
    return target in legal_targets(source)


def is_final(status: DossierStatus) -> bool:
    return status in FINAL_STATUSES


def is_paused(status: DossierStatus) -> bool:
    return status in PAUSED_STATUSES
