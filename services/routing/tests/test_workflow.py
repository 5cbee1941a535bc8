"""The hand-off protocol and the officers' actions, pure and in milliseconds."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from routing_support import (
    JUSTICE,
    KIM_LONG_CENTRE,
    MONDAY_8,
    POLICY,
    REGISTRY,
    criminal_record_workflow,
    hours,
    officer,
    started,
    vn,
)

from motcua.routing import pauses, workflow
from motcua.routing.domain import (
    HANDOFF_TRANSITIONS,
    ActionRefusedError,
    Dossier,
    HandoffState,
    IllegalActionError,
    InvalidActionError,
    form05_mark,
)
from motcua.routing.planning import RoutingRequest
from motcua.routing.rules import OFFICER_ACTIONS
from motcua.shared.contracts.common import DossierStatus
from motcua.shared.contracts.handoff import (
    DossierDispatchQueuedV1,
    DossierRoutedV1,
    HandoffAcknowledgedV1,
    HandoffOfferedV1,
    HandoffReturnedV1,
    ProcessingResumedV1,
    ResultDeliveredV1,
    ResultRecordedV1,
    StepCompletedV1,
    SupplementRequestedV1,
    Timeliness,
)
from motcua.shared.domain.status import TRANSITIONS, IllegalTransitionError

S = DossierStatus
DESK = officer(KIM_LONG_CENTRE, "Lê Văn Một Cửa")
JUSTICE_OFFICER = officer(JUSTICE, "Phạm Thị Tư Pháp")


TEN_AM = vn("2026-03-02 10:00")


def at_justice(now: datetime = TEN_AM) -> Dossier:
    """Step 2 acknowledged by the Department of Justice."""
    dossier, _ = started()
    dossier = workflow.acknowledge(dossier, DESK, vn("2026-03-02 08:30")).dossier
    dossier = workflow.complete_step(
        dossier, DESK, vn("2026-03-02 09:00"), POLICY
    ).dossier
    return workflow.acknowledge(dossier, JUSTICE_OFFICER, now).dossier


# -- the hand-off state machine -----------------------------------------------------


def test_handoff_states_move_only_forward() -> None:
    assert HANDOFF_TRANSITIONS[HandoffState.OFFERED] == {
        HandoffState.ACKNOWLEDGED,
        HandoffState.CLOSED,
    }
    assert HANDOFF_TRANSITIONS[HandoffState.ACKNOWLEDGED] == {
        HandoffState.COMPLETED,
        HandoffState.RETURNED,
        HandoffState.CLOSED,
    }
    for final in (HandoffState.COMPLETED, HandoffState.RETURNED, HandoffState.CLOSED):
        assert HANDOFF_TRANSITIONS[final] == frozenset()
    dossier, _ = started()
    assert dossier.handoff is not None
    with pytest.raises(ValueError, match="cannot go from offered to completed"):
        dossier.handoff.moved(HandoffState.COMPLETED)


def test_every_officer_action_is_an_act_of_the_shared_status_table() -> None:
    # The hand-off state each needs is routing's; the statuses, the table's.
    assert set(OFFICER_ACTIONS) <= set(TRANSITIONS)


# -- starting --------------------------------------------------------------------------


def test_routing_starts_processing_and_offers_the_first_step_with_its_due_time() -> (
    None
):
    dossier, outcome = started()
    assert dossier.status is S.IN_PROGRESS
    assert dossier.holder == KIM_LONG_CENTRE
    handoff = dossier.handoff
    assert handoff is not None
    assert handoff.state is HandoffState.OFFERED
    # 4 working hours from Monday 08:00, across lunch: 14:00
    assert handoff.step_due_at == vn("2026-03-02 14:00")
    # the appointment (10 working days) stays the dossier's own
    assert dossier.due_at == vn("2026-03-16 08:00")
    routed, offered = (e.data for e in outcome.events)
    assert isinstance(routed, DossierRoutedV1)
    assert routed.competent_agency_code == JUSTICE
    assert isinstance(offered, HandoffOfferedV1)
    assert offered.to_agency_code == KIM_LONG_CENTRE
    assert offered.from_agency_code is None
    assert [e.header_agency for e in outcome.events] == [KIM_LONG_CENTRE] * 2


def _received_snapshot(code: str = "000.01.31.H14-260302-0009") -> Dossier:
    return Dossier(
        code=code,
        status=S.RECEIVED,
        receiving_agency_code=KIM_LONG_CENTRE,
        due_at=vn("2026-03-16 08:00"),
    )


def _request(competent_type: str) -> RoutingRequest:
    return RoutingRequest(
        receiving_agency_code=KIM_LONG_CENTRE,
        workflow=tuple(criminal_record_workflow()),
        on=MONDAY_8.date(),
        competent_agency_type=competent_type,
    )


def test_one_decision_starts_a_workflow_or_queues_it_for_dispatch() -> None:
    routed = workflow.decide_start(
        _received_snapshot(),
        _request("justice"),
        registry=REGISTRY,
        policy=POLICY,
        at=MONDAY_8,
    )
    assert (routed.competent_agency_code, routed.unroutable) == (JUSTICE, None)
    assert routed.outcome.dossier.status is S.IN_PROGRESS
    assert [e.data.EVENT_TYPE for e in routed.outcome.events] == [
        "dossier.routed",
        "dossier.handoff_offered",
    ]
    queued = workflow.decide_start(
        _received_snapshot(),
        _request("space_agency"),
        registry=REGISTRY,
        policy=POLICY,
        at=MONDAY_8,
    )
    assert queued.unroutable is not None
    assert queued.unroutable.unresolved_steps == (2,)
    assert queued.outcome.dossier.status is S.RECEIVED  # waits, still status 2
    [event] = [e.data for e in queued.outcome.events]
    assert isinstance(event, DossierDispatchQueuedV1)
    assert "«space_agency»" in event.reason
    # an operator's choice for the step routes it with the same decision
    chosen = workflow.decide_start(
        _received_snapshot(),
        _request("space_agency"),
        registry=REGISTRY,
        policy=POLICY,
        at=MONDAY_8,
        overrides={2: JUSTICE},
    )
    assert [s.agency_code for s in chosen.outcome.dossier.steps] == [
        KIM_LONG_CENTRE,
        JUSTICE,
        KIM_LONG_CENTRE,
    ]


def test_only_a_received_dossier_starts() -> None:
    running, _ = started()
    with pytest.raises(IllegalTransitionError):
        workflow.decide_start(
            running, _request("justice"), registry=REGISTRY, policy=POLICY, at=MONDAY_8
        )


# -- moving between agencies ----------------------------------------------------------


def test_completing_a_step_forwards_to_the_next_agency_with_a_fresh_step_clock() -> (
    None
):
    dossier, _ = started()
    dossier = workflow.acknowledge(dossier, DESK, vn("2026-03-02 08:30")).dossier
    outcome = workflow.complete_step(dossier, DESK, vn("2026-03-02 09:00"), POLICY)
    completed, offered = (e.data for e in outcome.events)
    assert isinstance(completed, StepCompletedV1)
    assert completed.timeliness is Timeliness.ON_TIME
    assert completed.next_agency_code == JUSTICE
    assert isinstance(offered, HandoffOfferedV1)
    assert (offered.step_no, offered.from_agency_code, offered.to_agency_code) == (
        2,
        KIM_LONG_CENTRE,
        JUSTICE,
    )
    # 72 working hours (9 days) from Monday 09:00
    assert offered.step_due_at == vn("2026-03-13 09:00")
    assert outcome.dossier.holder == JUSTICE
    assert [e.header_agency for e in outcome.events] == [JUSTICE, JUSTICE]
    assert [h.state for h in outcome.handoffs] == [
        HandoffState.COMPLETED,
        HandoffState.OFFERED,
    ]


@pytest.mark.parametrize(
    ("finished", "due", "expected"),
    [
        ("2026-03-02 10:00", "2026-03-03 09:00", Timeliness.EARLY),  # an earlier day
        ("2026-03-03 08:59", "2026-03-03 09:00", Timeliness.ON_TIME),  # the due day
        ("2026-03-03 09:00", "2026-03-03 09:00", Timeliness.ON_TIME),  # at the due time
        ("2026-03-03 17:30", "2026-03-03 09:00", Timeliness.ON_TIME),  # the same day
        ("2026-03-04 07:00", "2026-03-03 09:00", Timeliness.LATE),  # a later day
        ("2026-03-05 09:00", None, Timeliness.ON_TIME),  # no limit
    ],
)
def test_form_05_marks_compare_days_as_bieu_06_does(
    finished: str, due: str | None, expected: Timeliness
) -> None:
    assert form05_mark(vn(finished), vn(due) if due else None) is expected


def test_a_step_completed_on_a_later_day_than_its_due_time_is_marked_late() -> None:
    dossier, _ = started()
    dossier = workflow.acknowledge(dossier, DESK, vn("2026-03-02 08:30")).dossier
    # due 14:00: handed over at 15:00 the same day is on time (ADR 0005) …
    same_day = workflow.complete_step(dossier, DESK, vn("2026-03-02 15:00"), POLICY)
    assert same_day.handoffs[0].timeliness is Timeliness.ON_TIME
    # … and the next morning, late
    next_day = workflow.complete_step(dossier, DESK, vn("2026-03-03 07:30"), POLICY)
    assert next_day.handoffs[0].timeliness is Timeliness.LATE


def test_a_result_recorded_on_its_due_day_after_the_due_time_is_on_time() -> None:
    # The inconsistency of issue 11: routing marked it late, Biểu 06 on time.
    dossier, _ = started()
    assert dossier.due_at == vn("2026-03-16 08:00")
    held = workflow.acknowledge(dossier, DESK, vn("2026-03-02 08:30")).dossier
    outcome = workflow.record_result(held, DESK, vn("2026-03-16 17:30"))
    [recorded] = [e.data for e in outcome.events]
    assert isinstance(recorded, ResultRecordedV1)
    assert recorded.timeliness is Timeliness.ON_TIME


def test_acting_before_acknowledging_is_refused_with_the_status_named() -> None:
    dossier, _ = started()
    with pytest.raises(IllegalActionError, match="chưa tiếp nhận") as refused:
        workflow.complete_step(dossier, DESK, MONDAY_8, POLICY)
    assert "«Đang xử lý» (mã 4)" in refused.value.message
    dossier = workflow.acknowledge(dossier, DESK, MONDAY_8).dossier
    with pytest.raises(IllegalActionError, match="đã được tiếp nhận"):
        workflow.acknowledge(dossier, DESK, MONDAY_8)


def test_return_goes_back_to_the_previous_step_agency_with_the_reason() -> None:
    dossier = at_justice()
    outcome = workflow.return_to_previous(
        dossier, JUSTICE_OFFICER, vn("2026-03-02 11:00"), "  Thiếu tờ khai  ", POLICY
    )
    returned, offered = (e.data for e in outcome.events)
    assert isinstance(returned, HandoffReturnedV1)
    assert returned.reason == "Thiếu tờ khai"
    assert isinstance(offered, HandoffOfferedV1)
    assert (offered.step_no, offered.to_agency_code) == (1, KIM_LONG_CENTRE)
    assert outcome.dossier.holder == KIM_LONG_CENTRE
    assert outcome.handoffs[0].state is HandoffState.RETURNED
    with pytest.raises(InvalidActionError, match="lý do"):
        workflow.return_to_previous(dossier, JUSTICE_OFFICER, MONDAY_8, " ", POLICY)


def test_the_first_step_cannot_be_returned_and_the_last_ends_with_delivery() -> None:
    dossier, _ = started()
    dossier = workflow.acknowledge(dossier, DESK, MONDAY_8).dossier
    with pytest.raises(IllegalActionError, match="bước đầu tiên"):
        workflow.return_to_previous(dossier, DESK, MONDAY_8, "x", POLICY)
    last = _at_return_desk()
    with pytest.raises(IllegalActionError, match="bước cuối"):
        workflow.complete_step(last, DESK, vn("2026-03-05 10:00"), POLICY)


def _at_return_desk() -> Dossier:
    dossier = at_justice()
    dossier = workflow.record_result(
        dossier, JUSTICE_OFFICER, vn("2026-03-05 09:00"), "Đã cấp phiếu"
    ).dossier
    dossier = workflow.complete_step(
        dossier, JUSTICE_OFFICER, vn("2026-03-05 09:30"), POLICY
    ).dossier
    return workflow.acknowledge(dossier, DESK, vn("2026-03-05 09:45")).dossier


def test_the_result_travels_back_to_the_desk_and_delivery_completes_the_last_step() -> (
    None
):
    dossier = at_justice()
    with pytest.raises(IllegalActionError, match="chưa đến bước trả kết quả"):
        workflow.confirm_delivery(
            workflow.record_result(dossier, JUSTICE_OFFICER, MONDAY_8).dossier,
            JUSTICE_OFFICER,
            MONDAY_8,
        )
    last = _at_return_desk()
    assert last.status is S.RESOLVED
    outcome = workflow.confirm_delivery(last, DESK, vn("2026-03-05 10:00"))
    completed, delivered = (e.data for e in outcome.events)
    assert isinstance(completed, StepCompletedV1)
    assert completed.next_agency_code is None
    assert isinstance(delivered, ResultDeliveredV1)
    assert delivered.status is S.RESULT_DELIVERED
    assert outcome.dossier.status is S.RESULT_DELIVERED
    assert outcome.dossier.holder is None


def test_nothing_happens_after_processing_stopped() -> None:
    dossier = at_justice()
    stopped = workflow.stop(dossier, JUSTICE_OFFICER, MONDAY_8, "Không đủ điều kiện")
    assert stopped.dossier.status is S.STOPPED
    assert stopped.handoffs[0].state is HandoffState.CLOSED
    for action in (
        lambda d: workflow.record_result(d, JUSTICE_OFFICER, MONDAY_8),
        lambda d: workflow.complete_step(d, JUSTICE_OFFICER, MONDAY_8, POLICY),
        lambda d: pauses.request_fee(d, JUSTICE_OFFICER, MONDAY_8, 1000),
    ):
        with pytest.raises(IllegalActionError, match="«Dừng xử lý» \\(mã 8\\)"):
            action(stopped.dossier)


# -- pauses ----------------------------------------------------------------------------


def test_a_supplement_pauses_and_its_arrival_moves_both_due_times() -> None:
    dossier = at_justice()
    outcome = pauses.request_supplement(
        dossier, JUSTICE_OFFICER, vn("2026-03-03 08:00"), ["Bản sao CCCD"], "Mờ"
    )
    paused = outcome.dossier
    assert paused.status is S.AWAITING_SUPPLEMENT
    event = outcome.events[0].data
    assert isinstance(event, SupplementRequestedV1)
    assert event.officer == JUSTICE_OFFICER.name
    # Tuesday 08:00 → Thursday 08:00: 16 working hours paused
    resumed = pauses.resume_after_supplement(paused, vn("2026-03-05 08:00"), POLICY)
    assert resumed is not None
    event = resumed.events[0].data
    assert isinstance(event, ProcessingResumedV1)
    assert event.paused_working_hours == 16
    assert event.step_due_at == vn("2026-03-17 09:00")  # was Fri 13/3 09:00
    assert event.due_at == vn("2026-03-18 08:00")  # was Mon 16/3 08:00
    assert resumed.dossier.status is S.IN_PROGRESS
    assert resumed.dossier.pause is None
    assert resumed.pause_ended is not None
    assert resumed.pause_ended.working_hours == 16
    # a second supplement_received (another event id) finds nothing to resume
    assert pauses.resume_after_supplement(resumed.dossier, MONDAY_8, POLICY) is None


def test_a_supplement_is_requested_at_most_once_per_agency() -> None:
    dossier = at_justice()
    once = pauses.request_supplement(dossier, JUSTICE_OFFICER, MONDAY_8, ["Tờ khai"])
    back = pauses.resume_after_supplement(once.dossier, vn("2026-03-03 08:00"), POLICY)
    assert back is not None
    with pytest.raises(IllegalActionError, match="chỉ được yêu cầu bổ sung một lần"):
        pauses.request_supplement(back.dossier, JUSTICE_OFFICER, MONDAY_8, ["Ảnh"])
    # the other agencies keep their one request
    assert KIM_LONG_CENTRE not in back.dossier.supplement_agencies
    with pytest.raises(InvalidActionError, match="ít nhất một thành phần"):
        pauses.request_supplement(dossier, JUSTICE_OFFICER, MONDAY_8, ["  "])


def test_a_fee_pauses_until_paid() -> None:
    dossier = at_justice()
    requested = pauses.request_fee(
        dossier, JUSTICE_OFFICER, vn("2026-03-03 08:00"), 200_000, "Phí LLTP"
    )
    assert requested.dossier.status is S.AWAITING_FEE
    with pytest.raises(
        IllegalActionError, match="«Yêu cầu thực hiện nghĩa vụ tài chính»"
    ):
        workflow.complete_step(
            requested.dossier, JUSTICE_OFFICER, vn("2026-03-03 09:00"), POLICY
        )
    paid = pauses.record_fee_payment(
        requested.dossier, JUSTICE_OFFICER, vn("2026-03-03 12:00"), 200_000, POLICY
    )
    assert paid.dossier.status is S.IN_PROGRESS
    assert [e.data.EVENT_TYPE for e in paid.events] == [
        "dossier.fee_paid",
        "dossier.processing_resumed",
    ]
    # 08:00 → 12:00 covers 3.5 working hours (lunch starts at 11:30)
    assert paid.pause_ended is not None
    assert paid.pause_ended.working_hours == 3.5
    with pytest.raises(InvalidActionError, match="lớn hơn 0"):
        pauses.request_fee(dossier, JUSTICE_OFFICER, MONDAY_8, 0)


# -- the apology (form 04) ----------------------------------------------------------------


def test_an_apology_needs_a_reason_and_a_later_appointment() -> None:
    dossier = at_justice()
    new = vn("2026-03-20 16:00")
    with pytest.raises(InvalidActionError, match="lý do"):
        pauses.issue_apology(dossier, JUSTICE_OFFICER, MONDAY_8, "", new, POLICY)
    with pytest.raises(InvalidActionError, match="phải sau ngày hẹn hiện tại"):
        pauses.issue_apology(
            dossier,
            JUSTICE_OFFICER,
            MONDAY_8,
            "Chờ xác minh",
            vn("2026-03-16 08:00"),
            POLICY,
        )
    outcome = pauses.issue_apology(
        dossier, JUSTICE_OFFICER, MONDAY_8, "Chờ xác minh", new, POLICY
    )
    assert outcome.dossier.due_at == new
    event = outcome.events[0].data
    assert event.previous_due_at == vn("2026-03-16 08:00")  # type: ignore[attr-defined]
    assert event.new_due_at == new  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("issued", "allowed"),
    [
        # due Monday 16/3 08:00: one working day earlier is Friday 13/3 08:00
        ("2026-03-12 16:00", True),
        ("2026-03-13 08:00", True),
        ("2026-03-13 08:01", False),
        ("2026-03-16 07:30", False),
    ],
)
def test_an_apology_comes_at_least_one_working_day_before_the_due_time(
    issued: str, allowed: bool
) -> None:
    dossier = at_justice()
    issue = lambda: pauses.issue_apology(  # noqa: E731
        dossier,
        JUSTICE_OFFICER,
        vn(issued),
        "Chờ xác minh",
        vn("2026-03-20 16:00"),
        POLICY,
    )
    if allowed:
        assert issue().dossier.due_at == vn("2026-03-20 16:00")
    else:
        with pytest.raises(IllegalActionError, match="chậm nhất một ngày làm việc"):
            issue()


# -- what other services tell us --------------------------------------------------------


def test_withdrawal_closes_the_open_step_once() -> None:
    dossier = at_justice()
    outcome = workflow.withdraw(dossier, MONDAY_8)
    assert outcome is not None
    assert outcome.dossier.status is S.WITHDRAWN
    assert outcome.handoffs[0].state is HandoffState.CLOSED
    assert outcome.events == ()
    assert workflow.withdraw(outcome.dossier, MONDAY_8) is None


def test_delivery_by_post_only_after_the_result() -> None:
    dossier = at_justice()
    assert workflow.deliver_by_post(dossier, MONDAY_8) is None
    resolved = workflow.record_result(dossier, JUSTICE_OFFICER, MONDAY_8).dossier
    outcome = workflow.deliver_by_post(resolved, vn("2026-03-06 10:00"))
    assert outcome is not None
    event = outcome.events[0].data
    assert isinstance(event, ResultDeliveredV1)
    assert event.method == "post"
    assert outcome.dossier.status is S.RESULT_DELIVERED


def test_imported_history_takes_no_actions() -> None:
    dossier, _ = started()
    history = replace(dossier, imported=True)
    with pytest.raises(ActionRefusedError, match="hệ thống cũ"):
        workflow.acknowledge(history, DESK, MONDAY_8)


def test_acknowledgement_records_officer_and_time() -> None:
    dossier, _ = started()
    outcome = workflow.acknowledge(dossier, DESK, MONDAY_8 + hours(1))
    assert isinstance(outcome.events[0].data, HandoffAcknowledgedV1)
    assert outcome.dossier.handoff is not None
    assert outcome.dossier.handoff.acknowledged_by == DESK.name
    assert outcome.dossier.handoff.acknowledged_at == MONDAY_8 + hours(1)
