"""Pausing the legal clock, and the apology (pure).

A supplement (at most once per agency) or a fee pauses the clock: status 5 or
6. When the supplement arrives or the fee is paid, the step's and the
dossier's due times move later by the working time the pause covered. The
apology (form 04) re-sets the appointment, issued at least one working day
before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from motcua.routing.domain import (
    DeadlinePolicy,
    Dossier,
    Emit,
    EndedPause,
    IllegalActionError,
    InvalidActionError,
    Officer,
    Outcome,
    Pause,
    PauseKind,
    format_moment,
    required_text,
)
from motcua.routing.rules import check
from motcua.shared.contracts.handoff import (
    ApologyIssuedV1,
    FeePaidV1,
    FeeRequestedV1,
    ProcessingResumedV1,
    SupplementRequestedV1,
)
from motcua.shared.domain.status import DossierAction, apply, can

# -- pauses: supplements and fees --------------------------------------------------------


def request_supplement(
    dossier: Dossier,
    officer: Officer,
    now: datetime,
    components: Sequence[str],
    reason: str = "",
) -> Outcome:
    """Status 4 → 5 and the clock pauses; at most once per agency."""
    handoff = check(dossier, DossierAction.REQUEST_SUPPLEMENT)
    agency = handoff.to_agency_code
    if agency in dossier.supplement_agencies:
        raise IllegalActionError(
            "supplement_already_requested",
            f"Cơ quan {agency} đã yêu cầu bổ sung hồ sơ này một lần; mỗi cơ quan chỉ "
            "được yêu cầu bổ sung một lần.",
        )
    wanted = [c.strip() for c in components if c.strip()]
    if not wanted:
        raise InvalidActionError(
            "components_required", "Cần nêu ít nhất một thành phần hồ sơ cần bổ sung."
        )
    status = apply(dossier.status, DossierAction.REQUEST_SUPPLEMENT)
    pause = Pause(PauseKind.SUPPLEMENT, agency, handoff.step_no, now)
    event = Emit(
        SupplementRequestedV1(
            requested_components=wanted,
            reason=reason.strip(),
            status=status,
            officer=officer.name,
        ),
        header_agency=agency,
        acting_agency=agency,
        occurred_at=now,
    )
    paused = replace(
        dossier,
        status=status,
        pause=pause,
        supplement_agencies=dossier.supplement_agencies | {agency},
    )
    return Outcome(paused, (event,), pause_started=pause)


def request_fee(
    dossier: Dossier,
    officer: Officer,
    now: datetime,
    amount_vnd: int,
    description: str = "",
) -> Outcome:
    """Status 4 → 6: a fee or tax must be paid; the clock pauses."""
    handoff = check(dossier, DossierAction.REQUEST_FEE)
    if amount_vnd <= 0:
        raise InvalidActionError("amount_invalid", "Số tiền phải lớn hơn 0 đồng.")
    status = apply(dossier.status, DossierAction.REQUEST_FEE)
    agency = handoff.to_agency_code
    pause = Pause(PauseKind.FEE, agency, handoff.step_no, now)
    event = Emit(
        FeeRequestedV1(
            amount_vnd=amount_vnd,
            description=description.strip(),
            status=status,
            officer=officer.name,
        ),
        header_agency=agency,
        acting_agency=agency,
        occurred_at=now,
    )
    return Outcome(
        replace(dossier, status=status, pause=pause), (event,), pause_started=pause
    )


def _resume(
    dossier: Dossier,
    at: datetime,
    action: DossierAction,
    policy: DeadlinePolicy,
    acting_agency: str | None,
) -> tuple[Outcome, Emit]:
    """End the pause: due times move by the working time it covered."""
    status = apply(dossier.status, action)
    pause = dossier.pause
    handoff = dossier.handoff
    if pause is None or handoff is None:
        msg = "a paused dossier has a pause and a hand-off"
        raise ValueError(msg)
    hours = policy.paused_hours(pause.started_at, at)
    due = policy.extend(dossier.due_at, pause.started_at, at)
    step_due = policy.extend(handoff.step_due_at, pause.started_at, at)
    moved = replace(
        handoff, step_due_at=step_due, nearly_due_at=policy.nearly_due_at(step_due)
    )
    resumed = replace(
        dossier,
        status=status,
        due_at=due,
        nearly_due_at=policy.nearly_due_at(due),
        handoff=moved,
        pause=None,
    )
    event = Emit(
        ProcessingResumedV1(
            paused_working_hours=hours, due_at=due, step_due_at=step_due, status=status
        ),
        header_agency=handoff.to_agency_code,
        acting_agency=acting_agency,
        occurred_at=at,
    )
    outcome = Outcome(
        resumed,
        handoffs=(moved,),
        pause_ended=EndedPause(pause, at, hours),
    )
    return outcome, event


def record_fee_payment(
    dossier: Dossier,
    officer: Officer,
    now: datetime,
    amount_vnd: int,
    policy: DeadlinePolicy,
) -> Outcome:
    """Status 6 → 4: the fee is paid and the clock resumes."""
    handoff = check(dossier, DossierAction.RECORD_FEE_PAYMENT)
    if amount_vnd <= 0:
        raise InvalidActionError("amount_invalid", "Số tiền phải lớn hơn 0 đồng.")
    if dossier.pause is None or dossier.pause.kind is not PauseKind.FEE:
        raise IllegalActionError("not_awaiting_fee", "Hồ sơ không chờ nộp phí, lệ phí.")
    agency = handoff.to_agency_code
    outcome, resumed = _resume(
        dossier, now, DossierAction.RECORD_FEE_PAYMENT, policy, agency
    )
    paid = Emit(
        FeePaidV1(amount_vnd=amount_vnd, officer=officer.name), agency, agency, now
    )
    return replace(outcome, events=(paid, resumed))


def resume_after_supplement(
    dossier: Dossier, received_at: datetime, policy: DeadlinePolicy
) -> Outcome | None:
    """The supplement arrived (intake's event): status 5 → 4, due times move.
    None when there is nothing to resume (not waiting for a supplement)."""
    if (
        dossier.imported
        or not can(dossier.status, DossierAction.RECEIVE_SUPPLEMENT)
        or dossier.pause is None
        or dossier.pause.kind is not PauseKind.SUPPLEMENT
    ):
        return None
    outcome, resumed = _resume(
        dossier, received_at, DossierAction.RECEIVE_SUPPLEMENT, policy, None
    )
    return replace(outcome, events=(resumed,))


def issue_apology(
    dossier: Dossier,
    officer: Officer,
    now: datetime,
    reason: str,
    new_due_at: datetime,
    policy: DeadlinePolicy,
) -> Outcome:
    """Form 04: the holding agency apologises and sets a later appointment, at
    least one working day before the current one."""
    handoff = check(dossier, DossierAction.ISSUE_APOLOGY)
    reason = required_text(reason, "reason_required", "Cần nêu lý do chậm trả kết quả.")
    due = dossier.due_at
    if due is None:
        raise IllegalActionError(
            "no_appointment",
            "Hồ sơ không có ngày hẹn trả kết quả nên không cần hẹn lại.",
        )
    latest = policy.latest_apology(due)
    if now > latest:
        raise IllegalActionError(
            "apology_too_late",
            "Thư xin lỗi phải được gửi chậm nhất một ngày làm việc trước thời hạn trả "
            f"kết quả ({format_moment(due)}), tức là trước {format_moment(latest)}.",
        )
    if new_due_at <= due:
        raise InvalidActionError(
            "new_appointment_not_later",
            f"Ngày hẹn trả mới phải sau ngày hẹn hiện tại ({format_moment(due)}).",
        )
    agency = handoff.to_agency_code
    event = Emit(
        ApologyIssuedV1(
            reason=reason,
            previous_due_at=due,
            new_due_at=new_due_at,
            officer=officer.name,
        ),
        agency,
        agency,
        now,
    )
    moved = replace(
        dossier, due_at=new_due_at, nearly_due_at=policy.nearly_due_at(new_due_at)
    )
    return Outcome(moved, (event,))
