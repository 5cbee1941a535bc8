"""Intake and routing agree on every act from every status (pure, no broker).

Both ask :mod:`motcua.shared.domain.status`; this checks that the services'
own decisions really do. For every status a dossier can be in:

- each act an officer performs in routing is allowed exactly when the shared
  table allows it, and intake, following the events routing emits, ends in
  the status routing ends in;
- each act of the desk in intake (withdrawal, a supplement) is allowed
  exactly when routing, receiving intake's event, applies it, with the same
  resulting status. A stopped dossier (8) can be withdrawn by neither.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from motcua.intake.domain import ActRefusedError
from motcua.intake.followups import decide_supplement, decide_withdrawal, follow
from motcua.routing import pauses, workflow
from motcua.routing.domain import (
    DeadlinePolicy,
    Dossier,
    Handoff,
    HandoffState,
    IllegalActionError,
    Officer,
    Outcome,
    Pause,
    PauseKind,
)
from motcua.shared.contracts import VN_TZ, EventData, new_event
from motcua.shared.contracts.common import DossierStatus
from motcua.shared.contracts.handoff import RoutedStep
from motcua.shared.domain.calendar import load_calendar
from motcua.shared.domain.status import DossierAction, can

S = DossierStatus
A = DossierAction
POLICY = DeadlinePolicy(load_calendar())
DESK = "000.01.31.H14"
JUSTICE = "000.00.05.H14"
OFFICER = Officer(JUSTICE, "Chuyên viên")
CODE = "000.01.31.H14-260302-0001"
RECEIVED_AT = datetime(2026, 3, 2, 8, 0, tzinfo=VN_TZ)
NOW = datetime(2026, 3, 4, 9, 0, tzinfo=VN_TZ)
DUE = datetime(2026, 3, 16, 8, 0, tzinfo=VN_TZ)
STEPS = (
    RoutedStep(step_no=1, role="receiving_desk", agency_code=DESK, hours=4),
    RoutedStep(step_no=2, role="competent_agency", agency_code=JUSTICE, hours=72),
    RoutedStep(step_no=3, role="receiving_desk", agency_code=JUSTICE, hours=4),
)


def routing_dossier(
    status: DossierStatus,
    *,
    state: HandoffState = HandoffState.ACKNOWLEDGED,
    step_no: int = 2,
) -> Dossier:
    """A dossier routing holds in ``status``, at ``step_no`` with the open
    hand-off in ``state``, paused as its status says."""
    handoff = Handoff(
        seq=step_no,
        step_no=step_no,
        role="competent_agency",
        step_name="",
        from_agency_code=DESK,
        to_agency_code=JUSTICE,
        state=state,
        offered_at=RECEIVED_AT,
        step_hours=72,
        step_due_at=DUE,
        nearly_due_at=None,
        escalate_at=None,
    )
    kind = {S.AWAITING_SUPPLEMENT: PauseKind.SUPPLEMENT, S.AWAITING_FEE: PauseKind.FEE}
    pause = (
        Pause(kind[status], JUSTICE, step_no, RECEIVED_AT) if status in kind else None
    )
    return Dossier(
        code=CODE,
        status=status,
        receiving_agency_code=DESK,
        steps=STEPS,
        due_at=DUE,
        handoff=handoff,
        pause=pause,
    )


def intake_follows(status: DossierStatus, events: list[EventData]) -> DossierStatus:
    """The status intake shows after routing's ``events``."""
    last_change = RECEIVED_AT
    for data in events:
        envelope = new_event(
            data, dossier_code=CODE, producer="routing", occurred_at=NOW
        )
        news = follow(status, last_change, envelope)
        if news.status is not None:
            status, last_change = news.status, NOW
    return status


def intake_withdraws(status: DossierStatus) -> bool:
    try:
        decide_withdrawal(CODE, status, "", NOW)
    except ActRefusedError:
        return False
    return True


def intake_takes_supplement(status: DossierStatus) -> bool:
    try:
        decide_supplement(CODE, status, None, [], "", NOW)
    except ActRefusedError:
        return False
    return True


OfficerAct = Callable[[Dossier], Outcome]
OFFICER_ACTS: dict[DossierAction, tuple[OfficerAct, dict[str, Any]]] = {
    A.ACKNOWLEDGE: (
        lambda d: workflow.acknowledge(d, OFFICER, NOW),
        {"state": HandoffState.OFFERED},
    ),
    A.COMPLETE_STEP: (lambda d: workflow.complete_step(d, OFFICER, NOW, POLICY), {}),
    A.RETURN: (
        lambda d: workflow.return_to_previous(d, OFFICER, NOW, "Sai sót", POLICY),
        {},
    ),
    A.REQUEST_SUPPLEMENT: (
        lambda d: pauses.request_supplement(d, OFFICER, NOW, ["Tờ khai"]),
        {},
    ),
    A.REQUEST_FEE: (lambda d: pauses.request_fee(d, OFFICER, NOW, 50_000), {}),
    A.RECORD_FEE_PAYMENT: (
        lambda d: pauses.record_fee_payment(d, OFFICER, NOW, 50_000, POLICY),
        {},
    ),
    A.STOP_PROCESSING: (lambda d: workflow.stop(d, OFFICER, NOW, "Không đủ ĐK"), {}),
    A.RECORD_RESULT: (lambda d: workflow.record_result(d, OFFICER, NOW), {}),
    A.DELIVER_RESULT: (
        lambda d: workflow.confirm_delivery(d, OFFICER, NOW),
        {"step_no": 3},
    ),
    A.ISSUE_APOLOGY: (
        lambda d: pauses.issue_apology(
            d, OFFICER, NOW, "Chờ xác minh", DUE.replace(day=20), POLICY
        ),
        {},
    ),
}


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("action", list(OFFICER_ACTS))
def test_routing_acts_as_the_table_says_and_intake_follows_to_the_same_status(
    action: DossierAction, status: DossierStatus
) -> None:
    act, setup = OFFICER_ACTS[action]
    dossier = routing_dossier(status, **setup)
    if not can(status, action):
        with pytest.raises(IllegalActionError) as refused:
            act(dossier)
        assert refused.value.code in {"illegal_transition", "illegal_status"}
        return
    outcome = act(dossier)
    assert intake_follows(status, [e.data for e in outcome.events]) is (
        outcome.dossier.status
    )


@pytest.mark.parametrize("status", list(S))
def test_a_withdrawal_is_allowed_by_intake_exactly_when_routing_applies_it(
    status: DossierStatus,
) -> None:
    outcome = workflow.withdraw(routing_dossier(status), NOW)
    assert intake_withdraws(status) is (outcome is not None)
    assert intake_withdraws(status) is can(status, A.WITHDRAW)
    if outcome is not None:
        assert outcome.dossier.status is S.WITHDRAWN


def test_neither_service_withdraws_a_stopped_dossier() -> None:
    assert not intake_withdraws(S.STOPPED)
    assert workflow.withdraw(routing_dossier(S.STOPPED), NOW) is None


@pytest.mark.parametrize("status", list(S))
def test_a_supplement_is_taken_by_intake_exactly_when_routing_resumes_on_it(
    status: DossierStatus,
) -> None:
    dossier = routing_dossier(status)
    if status is S.AWAITING_FEE:  # (a fee pause is not a supplement's)
        dossier = replace(dossier, pause=None)
    outcome = pauses.resume_after_supplement(dossier, NOW, POLICY)
    assert intake_takes_supplement(status) is (outcome is not None)
    if outcome is not None:
        # intake moved its own copy to 4; routing's resumption is an echo
        assert outcome.dossier.status is S.IN_PROGRESS
        assert (
            intake_follows(S.IN_PROGRESS, [e.data for e in outcome.events])
            is S.IN_PROGRESS
        )
