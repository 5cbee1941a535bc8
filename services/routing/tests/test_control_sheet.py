"""Form 05 folded from the events the domain emits (pure)."""

from __future__ import annotations

from typing import Any

from routing_support import (
    JUSTICE,
    KIM_LONG_CENTRE,
    MONDAY_8,
    POLICY,
    officer,
    started,
    vn,
)

from motcua.routing import pauses, workflow
from motcua.routing.control_sheet import HandOverKind, build_control_sheet
from motcua.routing.domain import Dossier, Outcome
from motcua.shared.contracts import EventEnvelope, new_event
from motcua.shared.contracts.handoff import Timeliness

DESK = officer(KIM_LONG_CENTRE, "Lê Văn Một Cửa")
JUSTICE_OFFICER = officer(JUSTICE, "Phạm Thị Tư Pháp")
CODE = "000.01.31.H14-260302-0001"


class Journal:
    """Runs domain actions and keeps their events as envelopes, in order."""

    def __init__(self) -> None:
        self.dossier, outcome = started(CODE)
        self.events: list[EventEnvelope[Any]] = []
        self._keep(outcome)

    def _keep(self, outcome: Outcome) -> None:
        self.dossier = outcome.dossier
        self.events += [
            new_event(
                e.data,
                dossier_code=CODE,
                producer="routing",
                agency_code=e.acting_agency,
                occurred_at=e.occurred_at,
            )
            for e in outcome.events
        ]

    def __call__(self, action: Any, *args: Any) -> Dossier:
        outcome = action(self.dossier, *args)
        assert outcome is not None
        self._keep(outcome)
        return self.dossier


def test_every_hand_over_with_its_mark() -> None:
    run = Journal()
    run(workflow.acknowledge, DESK, vn("2026-03-02 08:30"))
    # the desk forwards the next morning, a day after its 14:00 step due
    # time: late (by the day, as Biểu 06 counts: ADR 0005)
    run(workflow.complete_step, DESK, vn("2026-03-03 07:30"), POLICY)
    run(workflow.acknowledge, JUSTICE_OFFICER, vn("2026-03-03 07:45"))
    run(pauses.request_supplement, JUSTICE_OFFICER, vn("2026-03-03 08:00"), ["Tờ khai"])
    run(pauses.resume_after_supplement, vn("2026-03-05 08:00"), POLICY)
    run(workflow.record_result, JUSTICE_OFFICER, vn("2026-03-05 09:00"), "Đã cấp")
    # the department's step ran to 18/3 (extended by the pause): early
    run(workflow.complete_step, JUSTICE_OFFICER, vn("2026-03-05 09:30"), POLICY)
    run(workflow.acknowledge, DESK, vn("2026-03-05 09:45"))
    run(workflow.confirm_delivery, DESK, vn("2026-03-05 10:00"))

    sheet = build_control_sheet(CODE, run.events, appointment=vn("2026-03-16 08:00"))
    rows = sheet.hand_overs
    assert [r.kind for r in rows] == [
        HandOverKind.RECEPTION,
        HandOverKind.FORWARD,
        HandOverKind.FORWARD,
        HandOverKind.RESULT,
    ]
    assert [(r.from_agency_code, r.to_agency_code) for r in rows] == [
        (None, KIM_LONG_CENTRE),
        (KIM_LONG_CENTRE, JUSTICE),
        (JUSTICE, KIM_LONG_CENTRE),
        (KIM_LONG_CENTRE, None),
    ]
    assert [r.timeliness for r in rows] == [
        None,
        Timeliness.LATE,
        Timeliness.EARLY,
        Timeliness.EARLY,
    ]
    assert rows[0].received_by == DESK.name
    assert rows[0].received_at == vn("2026-03-02 08:30")
    assert (rows[1].from_officer, rows[1].received_by) == (
        DESK.name,
        JUSTICE_OFFICER.name,
    )
    assert rows[1].due_at == vn("2026-03-02 14:00")
    assert rows[2].due_at == vn("2026-03-18 07:30")  # 16/3 07:30 + 16 paused hours
    # the appointment moved by the 16 paused working hours
    assert sheet.due_at == vn("2026-03-18 08:00")
    assert rows[3].due_at == vn("2026-03-18 08:00")
    assert sheet.result_timeliness is Timeliness.EARLY
    assert [n.text.split(":")[0] for n in sheet.notes][:2] == [
        "Yêu cầu bổ sung hồ sơ",
        "Tiếp tục xử lý sau 16 giờ làm việc tạm dừng; thời hạn được lùi tương ứng.",
    ]
    assert sheet.competent_agency_code == JUSTICE


def test_a_return_is_a_hand_over_back_with_its_reason() -> None:
    run = Journal()
    run(workflow.acknowledge, DESK, MONDAY_8)
    run(workflow.complete_step, DESK, vn("2026-03-02 09:00"), POLICY)
    run(workflow.acknowledge, JUSTICE_OFFICER, vn("2026-03-02 10:00"))
    run(
        workflow.return_to_previous,
        JUSTICE_OFFICER,
        vn("2026-03-02 11:00"),
        "Sai mẫu",
        POLICY,
    )
    sheet = build_control_sheet(CODE, run.events)
    back = sheet.hand_overs[-1]
    assert back.kind is HandOverKind.RETURN
    assert (back.from_agency_code, back.to_agency_code) == (JUSTICE, KIM_LONG_CENTRE)
    assert back.note == "Trả lại: Sai mẫu"
    assert back.timeliness is Timeliness.EARLY
    assert back.received_at is None  # not yet taken back


def test_the_co_ordinating_agencies_are_the_specialists() -> None:
    from routing_support import birth_group_workflow

    _, outcome = started(
        CODE, workflow=birth_group_workflow(), competent_type="peoples_committee"
    )
    events = [
        new_event(
            e.data, dossier_code=CODE, producer="routing", occurred_at=e.occurred_at
        )
        for e in outcome.events
    ]
    sheet = build_control_sheet(CODE, events)
    assert sheet.co_ordinating_agency_codes == ("000.02.31.H14", "000.00.21.H14")
