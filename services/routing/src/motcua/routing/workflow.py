"""Starting a dossier's workflow, moving it between agencies and ending it
(pure).

:func:`decide_start` starts every workflow (routed, or queued for dispatch).
Officers' actions (acknowledge, complete a step, return, stop, record the
result, confirm delivery) and the reactions to other services' events
(withdrawal, delivery by post). Each returns an :class:`Outcome` or raises an
:class:`ActionRefusedError`; see :mod:`motcua.routing.rules` for when each is
allowed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from motcua.routing.domain import (
    DeadlinePolicy,
    Dossier,
    Emit,
    EndedPause,
    Handoff,
    HandoffState,
    IllegalActionError,
    Officer,
    Outcome,
    form05_mark,
    required_text,
)
from motcua.routing.planning import RoutingRequest, Unroutable, plan_route
from motcua.routing.rules import check
from motcua.shared.contracts.common import DossierStatus
from motcua.shared.contracts.envelope import EventData
from motcua.shared.contracts.handoff import (
    DossierDispatchQueuedV1,
    DossierRoutedV1,
    HandoffAcknowledgedV1,
    HandoffOfferedV1,
    HandoffReturnedV1,
    ProcessingStoppedV1,
    ResultDeliveredV1,
    ResultRecordedV1,
    RoutedStep,
    StepCompletedV1,
)
from motcua.shared.domain.agencies import AgencyRegistry
from motcua.shared.domain.status import DossierAction, apply, can

# -- starting the workflow ------------------------------------------------------------


def _offer(
    *,
    seq: int,
    step: RoutedStep,
    from_agency: str | None,
    at: datetime,
    by: str | None,
    policy: DeadlinePolicy,
) -> Handoff:
    due = policy.step_due(at, step.hours)
    return Handoff(
        seq=seq,
        step_no=step.step_no,
        role=step.role,
        step_name=step.name,
        from_agency_code=from_agency,
        to_agency_code=step.agency_code,
        state=HandoffState.OFFERED,
        offered_at=at,
        step_hours=step.hours,
        step_due_at=due,
        nearly_due_at=policy.nearly_due_at(due),
        escalate_at=policy.escalate_at(at),
        offered_by=by,
    )


def _offered_event(handoff: Handoff, status: DossierStatus, at: datetime) -> Emit:
    return Emit(
        HandoffOfferedV1(
            step_no=handoff.step_no,
            from_agency_code=handoff.from_agency_code,
            to_agency_code=handoff.to_agency_code,
            officer=handoff.offered_by,
            role=handoff.role,
            step_due_at=handoff.step_due_at,
            status=status,
        ),
        header_agency=handoff.to_agency_code,
        acting_agency=handoff.from_agency_code,
        occurred_at=at,
    )


def start_workflow(
    dossier: Dossier,
    *,
    steps: Sequence[RoutedStep],
    competent_agency_code: str,
    offered_at: datetime,
    policy: DeadlinePolicy,
) -> Outcome:
    """Received (2) → in progress (4): the first step is offered at once."""
    if not steps:
        msg = "a routed workflow has at least one step"
        raise ValueError(msg)
    status = apply(dossier.status, DossierAction.START_PROCESSING)
    ordered = tuple(sorted(steps, key=lambda s: s.step_no))
    first = _offer(
        seq=1, step=ordered[0], from_agency=None, at=offered_at, by=None, policy=policy
    )
    started = replace(
        dossier,
        status=status,
        steps=ordered,
        handoff=first,
        nearly_due_at=policy.nearly_due_at(dossier.due_at),
    )
    routed = Emit(
        DossierRoutedV1(
            competent_agency_code=competent_agency_code, steps=list(ordered)
        ),
        header_agency=dossier.receiving_agency_code,
        acting_agency=dossier.receiving_agency_code,
        occurred_at=offered_at,
    )
    return Outcome(
        started, (routed, _offered_event(first, status, offered_at)), handoffs=(first,)
    )


@dataclass(frozen=True)
class Start:
    """How a received dossier's workflow starts: routed, its first step
    offered (``competent_agency_code`` set), or queued for an operator
    because no agency was found for some step (``unroutable`` set)."""

    outcome: Outcome
    competent_agency_code: str | None = None
    unroutable: Unroutable | None = None


def decide_start(
    dossier: Dossier,
    request: RoutingRequest,
    *,
    registry: AgencyRegistry,
    policy: DeadlinePolicy,
    at: datetime,
    overrides: Mapping[int, str] | None = None,
) -> Start:
    """The one decision that starts a workflow, for a dossier just received
    or one an operator routes from the dispatch queue (``overrides``: the
    agencies chosen for some steps): resolve every step by competence, then
    offer the first step, or queue the dossier for dispatch."""
    plan = plan_route(request, registry, overrides=overrides or {})
    if isinstance(plan, Unroutable):
        apply(dossier.status, DossierAction.QUEUE_FOR_DISPATCH)
        agency = dossier.receiving_agency_code or None
        queued = Emit(
            DossierDispatchQueuedV1(reason=plan.reason),
            header_agency=agency,
            acting_agency=agency,
            occurred_at=at,
        )
        return Start(Outcome(dossier, (queued,)), unroutable=plan)
    outcome = start_workflow(
        dossier,
        steps=plan.steps,
        competent_agency_code=plan.competent_agency_code,
        offered_at=at,
        policy=policy,
    )
    return Start(outcome, competent_agency_code=plan.competent_agency_code)


# -- moving between agencies ------------------------------------------------------------


def _neighbour(
    steps: Sequence[RoutedStep], step_no: int, *, after: bool
) -> RoutedStep | None:
    if after:
        later = [s for s in steps if s.step_no > step_no]
        return min(later, key=lambda s: s.step_no) if later else None
    earlier = [s for s in steps if s.step_no < step_no]
    return max(earlier, key=lambda s: s.step_no) if earlier else None


def acknowledge(dossier: Dossier, officer: Officer, now: datetime) -> Outcome:
    handoff = check(dossier, DossierAction.ACKNOWLEDGE)
    taken = handoff.moved(
        HandoffState.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=officer.name
    )
    event = Emit(
        HandoffAcknowledgedV1(
            step_no=taken.step_no,
            from_agency_code=taken.from_agency_code,
            to_agency_code=taken.to_agency_code,
            officer=officer.name,
        ),
        header_agency=taken.to_agency_code,
        acting_agency=taken.to_agency_code,
        occurred_at=now,
    )
    return Outcome(replace(dossier, handoff=taken), (event,), handoffs=(taken,))


def complete_step(
    dossier: Dossier, officer: Officer, now: datetime, policy: DeadlinePolicy
) -> Outcome:
    """The holder finished its step: forward to the next step's agency."""
    handoff = check(dossier, DossierAction.COMPLETE_STEP)
    following = _neighbour(dossier.steps, handoff.step_no, after=True)
    if following is None:
        raise IllegalActionError(
            "last_step",
            f"Bước {handoff.step_no} là bước cuối của quy trình: bước này kết thúc "
            "khi xác nhận đã trả kết quả cho người nộp.",
        )
    timeliness = form05_mark(now, handoff.step_due_at)
    done = handoff.moved(
        HandoffState.COMPLETED,
        closed_at=now,
        closed_by=officer.name,
        timeliness=timeliness,
    )
    completed = StepCompletedV1(
        step_no=done.step_no,
        from_agency_code=done.from_agency_code,
        to_agency_code=done.to_agency_code,
        officer=officer.name,
        step_due_at=done.step_due_at,
        timeliness=timeliness,
        next_agency_code=following.agency_code,
    )
    return _pass_on(dossier, done, following, completed, officer, now, policy)


def _pass_on(
    dossier: Dossier,
    closed: Handoff,
    step: RoutedStep,
    announcement: EventData,
    officer: Officer,
    now: datetime,
    policy: DeadlinePolicy,
) -> Outcome:
    """The holder's hand-off is closed (``announcement`` says how); ``step`` is
    offered to its agency."""
    offered = _offer(
        seq=closed.seq + 1,
        step=step,
        from_agency=closed.to_agency_code,
        at=now,
        by=officer.name,
        policy=policy,
    )
    events = (
        Emit(announcement, step.agency_code, closed.to_agency_code, now),
        _offered_event(offered, dossier.status, now),
    )
    return Outcome(
        replace(dossier, handoff=offered), events, handoffs=(closed, offered)
    )


def return_to_previous(
    dossier: Dossier,
    officer: Officer,
    now: datetime,
    reason: str,
    policy: DeadlinePolicy,
) -> Outcome:
    """Send the dossier back to the previous step's agency, with a reason."""
    handoff = check(dossier, DossierAction.RETURN)
    reason = required_text(reason, "reason_required", "Cần nêu lý do trả lại hồ sơ.")
    previous = _neighbour(dossier.steps, handoff.step_no, after=False)
    if previous is None:
        raise IllegalActionError(
            "first_step",
            "Hồ sơ đang ở bước đầu tiên của quy trình, không có cơ quan trước để trả lại.",
        )
    returned = handoff.moved(
        HandoffState.RETURNED,
        closed_at=now,
        closed_by=officer.name,
        close_reason=reason,
        timeliness=form05_mark(now, handoff.step_due_at),
    )
    returned_event = HandoffReturnedV1(
        step_no=returned.step_no,
        from_agency_code=returned.to_agency_code,
        to_agency_code=previous.agency_code,
        officer=officer.name,
        reason=reason,
    )
    return _pass_on(dossier, returned, previous, returned_event, officer, now, policy)


# -- ending ---------------------------------------------------------------------------------


def stop(dossier: Dossier, officer: Officer, now: datetime, reason: str) -> Outcome:
    """Status 4 → 8: processing stops (or the dossier is not eligible)."""
    handoff = check(dossier, DossierAction.STOP_PROCESSING)
    reason = required_text(reason, "reason_required", "Cần nêu lý do dừng xử lý hồ sơ.")
    status = apply(dossier.status, DossierAction.STOP_PROCESSING)
    closed = handoff.moved(
        HandoffState.CLOSED, closed_at=now, closed_by=officer.name, close_reason=reason
    )
    event = Emit(
        ProcessingStoppedV1(reason=reason, status=status, officer=officer.name),
        header_agency=closed.to_agency_code,
        acting_agency=closed.to_agency_code,
        occurred_at=now,
    )
    return Outcome(
        replace(dossier, status=status, handoff=closed), (event,), handoffs=(closed,)
    )


def record_result(
    dossier: Dossier,
    officer: Officer,
    now: datetime,
    summary: str = "",
) -> Outcome:
    """Status 4 → 9: the result is ready; it still travels to the return desk."""
    handoff = check(dossier, DossierAction.RECORD_RESULT)
    status = apply(dossier.status, DossierAction.RECORD_RESULT)
    event = Emit(
        ResultRecordedV1(
            resolved_at=now,
            due_at=dossier.due_at,
            timeliness=form05_mark(now, dossier.due_at),
            result_summary=summary.strip(),
            status=status,
            officer=officer.name,
        ),
        header_agency=handoff.to_agency_code,
        acting_agency=handoff.to_agency_code,
        occurred_at=now,
    )
    return Outcome(replace(dossier, status=status), (event,))


def confirm_delivery(
    dossier: Dossier, officer: Officer, now: datetime, method: str = "desk"
) -> Outcome:
    """Status 9 → 10 at the last step: the result reached the applicant, which
    completes the last step."""
    handoff = check(dossier, DossierAction.DELIVER_RESULT)
    if handoff.step_no != dossier.last_step_no:
        raise IllegalActionError(
            "not_at_last_step",
            f"Hồ sơ đang ở bước {handoff.step_no}, chưa đến bước trả kết quả "
            f"(bước {dossier.last_step_no}); hãy hoàn thành và chuyển tiếp trước.",
        )
    status = apply(dossier.status, DossierAction.DELIVER_RESULT)
    timeliness = form05_mark(now, handoff.step_due_at)
    done = handoff.moved(
        HandoffState.COMPLETED,
        closed_at=now,
        closed_by=officer.name,
        timeliness=timeliness,
    )
    agency = done.to_agency_code
    events = (
        Emit(
            StepCompletedV1(
                step_no=done.step_no,
                from_agency_code=done.from_agency_code,
                to_agency_code=agency,
                officer=officer.name,
                step_due_at=done.step_due_at,
                timeliness=timeliness,
                next_agency_code=None,
            ),
            agency,
            agency,
            now,
        ),
        Emit(
            ResultDeliveredV1(
                delivered_at=now, method=method, status=status, officer=officer.name
            ),
            agency,
            agency,
            now,
        ),
    )
    return Outcome(
        replace(dossier, status=status, handoff=done), events, handoffs=(done,)
    )


def deliver_by_post(dossier: Dossier, delivered_at: datetime) -> Outcome | None:
    """The post delivered the result (notification's event): status 9 → 10.
    None when the dossier is not waiting for its result to be delivered."""
    if dossier.imported or not can(dossier.status, DossierAction.DELIVER_RESULT):
        return None
    status = apply(dossier.status, DossierAction.DELIVER_RESULT)
    handoff = dossier.handoff
    changed: tuple[Handoff, ...] = ()
    if handoff is not None and handoff.is_open:
        handoff = handoff.moved(
            HandoffState.CLOSED,
            closed_at=delivered_at,
            close_reason="Kết quả đã được bưu điện phát cho người nhận.",
        )
        changed = (handoff,)
    agency = handoff.to_agency_code if handoff else None
    event = Emit(
        ResultDeliveredV1(delivered_at=delivered_at, method="post", status=status),
        agency,
        None,
        delivered_at,
    )
    return Outcome(
        replace(dossier, status=status, handoff=handoff), (event,), handoffs=changed
    )


def withdraw(dossier: Dossier, at: datetime) -> Outcome | None:
    """The citizen withdrew the dossier (intake's event): the workflow stops.
    None when it had already ended."""
    if not can(dossier.status, DossierAction.WITHDRAW):
        return None
    status = apply(dossier.status, DossierAction.WITHDRAW)
    handoff = dossier.handoff
    changed: tuple[Handoff, ...] = ()
    if handoff is not None and handoff.is_open:
        handoff = handoff.moved(
            HandoffState.CLOSED, closed_at=at, close_reason="Công dân rút hồ sơ."
        )
        changed = (handoff,)
    ended = EndedPause(dossier.pause, at, 0.0) if dossier.pause else None
    return Outcome(
        replace(dossier, status=status, handoff=handoff, pause=None),
        handoffs=changed,
        pause_ended=ended,
    )
