"""Which alarms are due when, and the queue's deadline flags (pure)."""

from __future__ import annotations

from dataclasses import replace

from routing_support import KIM_LONG_CENTRE, MONDAY_8, POLICY, officer, started, vn

from motcua.routing import pauses, workflow
from motcua.routing.deadlines import AlarmKind, alarms_due, flags, next_alarm_at
from motcua.shared.contracts.handoff import (
    DeadlineScope,
    DossierOverdueV1,
    HandoffEscalatedV1,
)

DESK = officer(KIM_LONG_CENTRE)


def _kinds(alarms: list) -> set[tuple[AlarmKind, DeadlineScope]]:  # type: ignore[type-arg]
    return {(a.kind, a.scope) for a in alarms}


def test_a_short_step_is_nearly_due_at_once_then_overdue_and_escalated() -> None:
    dossier, _ = started()  # step 1: 4 h from Monday 08:00, due 14:00
    assert _kinds(alarms_due(dossier, vn("2026-03-02 08:01"))) == {
        (AlarmKind.NEARLY_DUE, DeadlineScope.STEP)
    }
    # unacknowledged 4 working hours: escalated; 14:00 is not yet overdue
    assert _kinds(alarms_due(dossier, vn("2026-03-02 14:00"))) == {
        (AlarmKind.NEARLY_DUE, DeadlineScope.STEP),
        (AlarmKind.ESCALATED, DeadlineScope.STEP),
    }
    late = alarms_due(dossier, vn("2026-03-02 14:01"))
    assert _kinds(late) == {
        (AlarmKind.OVERDUE, DeadlineScope.STEP),
        (AlarmKind.ESCALATED, DeadlineScope.STEP),
    }
    overdue = next(a for a in late if a.kind is AlarmKind.OVERDUE)
    event = overdue.event()
    assert isinstance(event, DossierOverdueV1)
    assert (event.holding_agency_code, event.step_no, event.due_at) == (
        KIM_LONG_CENTRE,
        1,
        vn("2026-03-02 14:00"),
    )
    escalated = next(a for a in late if a.kind is AlarmKind.ESCALATED).event()
    assert isinstance(escalated, HandoffEscalatedV1)
    assert escalated.offered_at == MONDAY_8


def test_the_overall_appointment_alarms_in_its_last_24_working_hours() -> None:
    dossier, _ = started()
    dossier = workflow.acknowledge(dossier, DESK, MONDAY_8).dossier
    # due Monday 16/3 08:00; 24 working hours earlier is Wednesday 11/3 08:00
    assert (AlarmKind.NEARLY_DUE, DeadlineScope.OVERALL) not in _kinds(
        alarms_due(dossier, vn("2026-03-11 07:59"))
    )
    assert (AlarmKind.NEARLY_DUE, DeadlineScope.OVERALL) in _kinds(
        alarms_due(dossier, vn("2026-03-11 08:00"))
    )
    assert (AlarmKind.OVERDUE, DeadlineScope.OVERALL) in _kinds(
        alarms_due(dossier, vn("2026-03-16 08:01"))
    )


def test_no_alarm_while_the_clock_is_paused_or_for_history() -> None:
    dossier, _ = started()
    dossier = workflow.acknowledge(dossier, DESK, MONDAY_8).dossier
    paused = pauses.request_supplement(dossier, DESK, MONDAY_8, ["Tờ khai"]).dossier
    assert alarms_due(paused, vn("2026-04-30 08:00")) == []
    assert next_alarm_at(paused) is None
    assert alarms_due(replace(dossier, imported=True), vn("2026-04-30 08:00")) == []


def test_the_scheduler_looks_again_at_the_next_moment_an_alarm_can_start() -> None:
    dossier, _ = started()
    # after an action: at once (the step is already inside its last 24 h)
    first = next_alarm_at(dossier)
    assert first is not None
    assert first < MONDAY_8
    # after a scan at 08:01: the escalation and the step due time, both 14:00
    assert next_alarm_at(dossier, after=vn("2026-03-02 08:01")) == vn(
        "2026-03-02 14:00"
    )
    # a scan exactly at the due time must come back: overdue starts after it
    assert next_alarm_at(dossier, after=vn("2026-03-02 14:00")) == vn(
        "2026-03-02 14:00"
    )
    # once acknowledged and forwarded, the next step's clock counts
    dossier = workflow.acknowledge(dossier, DESK, MONDAY_8).dossier
    dossier = workflow.complete_step(
        dossier, DESK, vn("2026-03-02 09:00"), POLICY
    ).dossier
    # (step 2 offered at 09:00: escalation 4 working hours later, across lunch)
    assert next_alarm_at(dossier, after=vn("2026-03-02 09:00")) == vn(
        "2026-03-02 15:00"
    )


def test_queue_flags_freeze_while_paused() -> None:
    dossier, _ = started()
    assert flags(dossier, vn("2026-03-02 09:00"), POLICY).step_nearly_due
    late = flags(dossier, vn("2026-03-02 15:00"), POLICY)
    assert late.step_overdue
    assert late.step_remaining_hours == -1.0
    assert not late.overdue
    dossier = workflow.acknowledge(dossier, DESK, MONDAY_8).dossier
    paused = pauses.request_fee(dossier, DESK, vn("2026-03-02 10:00"), 50_000).dossier
    frozen = flags(paused, vn("2026-03-20 10:00"), POLICY)
    assert not frozen.step_overdue
    assert not frozen.overdue
    assert frozen.step_remaining_hours == 2.0  # 10:00 → 14:00 minus lunch
