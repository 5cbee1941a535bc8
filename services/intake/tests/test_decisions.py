"""Intake's rules as pure decisions, in milliseconds (no HTTP, broker or
database): the reception (forms 01, 02, 03), supplements, withdrawal, and
what routing's events change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from intake_support import DESK, applicant, dossier, vn

from motcua.intake.catalogue import load_catalogue
from motcua.intake.domain import ActRefusedError, InvalidDossierError, Outcome
from motcua.intake.followups import (
    decide_supplement,
    decide_withdrawal,
    follow,
)
from motcua.intake.reception import Reception, decide_reception
from motcua.intake.schemas import ComponentIn, DossierIn
from motcua.shared.contracts import new_event
from motcua.shared.contracts.common import DossierStatus, FiledBy
from motcua.shared.contracts.dossier import (
    DossierCompletionRequestedV2,
    DossierReceivedV2,
    DossierRefusedV2,
)
from motcua.shared.contracts.handoff import (
    ApologyIssuedV1,
    HandoffOfferedV1,
    ProcessingResumedV1,
    ResultDeliveredV1,
    SupplementRequestedV1,
)
from motcua.shared.domain.agencies import load_registry
from motcua.shared.domain.calendar import load_calendar

S = DossierStatus
CATALOGUE = load_catalogue()
CALENDAR = load_calendar()
REGISTRY = load_registry()
PROCEDURES = {p.code: p for p in CATALOGUE.procedures}
CODE = f"{DESK}-260302-0001"


def decide(at: str = "2026-03-02 10:00", **overrides: Any) -> Reception:
    body = DossierIn.model_validate(dossier(**overrides))
    return decide_reception(
        body,
        procedure=PROCEDURES.get(body.procedure_code),
        version=1,
        agency=REGISTRY.find(body.receiving_agency_code),
        catalogue=CATALOGUE,
        calendar=CALENDAR,
        received_at=vn(at),
        filed_by=FiledBy.DESK_OFFICER,
        officer="Cán bộ Hà",
    )


def problems(**overrides: Any) -> dict[str, str]:
    """The refusal's messages, joined per field."""
    with pytest.raises(InvalidDossierError) as refused:
        decide(**overrides)
    found: dict[str, str] = {}
    for problem in refused.value.problems:
        found[problem.field] = f"{found.get(problem.field, '')} {problem.message}"
    return found


# -- reception --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "procedure", "channel", "due"),
    [
        ("2026-03-02 10:00", "1.004873", "direct", "2026-03-05 10:00"),  # +3 WD
        ("2026-03-06 16:00", "1.003677", "direct", "2026-03-09 16:00"),  # weekend
        ("2026-02-13 10:00", "1.004873", "direct", "2026-02-25 10:00"),  # Tết 2026
        ("2026-03-02 19:40", "1.003677", "direct", "2026-03-03 17:00"),  # evening
        ("2026-03-02 15:00", "1.001193", "direct", "2026-03-03 17:00"),  # 15:00 rule
    ],
)
def test_a_received_dossier_gets_its_appointment(
    received: str, procedure: str, channel: str, due: str
) -> None:
    reception = decide(received, procedure_code=procedure, channel=channel)
    assert reception.status is S.RECEIVED
    assert reception.terms is not None
    assert reception.terms.due_at == vn(due)
    event = reception.event
    assert isinstance(event, DossierReceivedV2)
    assert (event.received_at, event.due_at) == (vn(received), vn(due))
    assert event.workflow  # routing gets the internal workflow


def test_the_decision_carries_everything_the_forms_and_routing_need() -> None:
    reception = decide(
        result_delivery="post",
        postal_address={
            "receiver_name": "Nguyễn Thị Lan",
            "address": "Thôn 3, xã Kim Long",
            "phone": "0912345678",
        },
        components=[{"code": "to_khai"}, {"code": "giay_chung_sinh", "copies": 2}],
    )
    event = reception.event
    assert isinstance(event, DossierReceivedV2)
    assert [c.code for c in event.components] == ["to_khai", "giay_chung_sinh"]
    assert event.components[1].copies == 2
    # SMS and email because the applicant gave both, post for the result
    assert [c.value for c in event.notify_channels] == ["sms", "email", "post"]
    assert reception.details["notify_channels"] == ["sms", "email", "post"]
    assert reception.details["components"] == [c.model_dump() for c in event.components]
    assert reception.applicant["id_number"] == "001190012345"


def test_forms_02_and_03_record_what_to_complete_and_why_not() -> None:
    refused = decide(outcome="refused", reasons=["  Không thuộc thẩm quyền ", " "])
    assert (refused.status, refused.terms) == (S.REFUSED, None)
    assert isinstance(refused.event, DossierRefusedV2)
    assert refused.event.reasons == ["Không thuộc thẩm quyền"]
    completion = decide(
        outcome="completion_requested",
        missing_components=["giay_chung_sinh", "ghi chú tự do"],
    )
    assert (completion.status, completion.outcome) == (
        S.SUBMITTED,
        Outcome.COMPLETION_REQUESTED,
    )
    assert isinstance(completion.event, DossierCompletionRequestedV2)
    assert completion.event.missing_components == [
        "Giấy chứng sinh (hoặc văn bản xác nhận của người làm chứng)",
        "ghi chú tự do",
    ]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"procedure_code": "9.999999"}, "procedure_code", "không có trong danh mục"),
        (
            {"receiving_agency_code": "000.00.05.H14"},
            "receiving_agency_code",
            "không phải nơi tiếp nhận",
        ),
        ({"result_delivery": "post"}, "postal_address", "bưu chính"),
        (
            {"components": [{"code": "to_khai"}]},
            "components",
            "Thiếu thành phần hồ sơ bắt buộc",
        ),
        ({"components": [{"code": "so_do"}]}, "components", "Không thuộc thành phần"),
        (
            {"procedure_code": "2.000884", "channel": "online"},
            "channel",
            "không nhận hồ sơ qua kênh",
        ),
        ({"outcome": "refused"}, "reasons", "lý do"),
        ({"outcome": "completion_requested"}, "missing_components", "bổ sung"),
    ],
)
def test_what_the_catalogue_forbids_is_refused_per_field(
    overrides: dict[str, object], field: str, message: str
) -> None:
    assert message in problems(**overrides)[field]


def test_every_problem_is_told_at_once() -> None:
    found = problems(
        receiving_agency_code="000.00.05.H14",
        result_delivery="post",
        components=[{"code": "so_do"}],
        applicant=applicant(),
    )
    assert set(found) == {"receiving_agency_code", "postal_address", "components"}


# -- supplements and withdrawal -------------------------------------------------------------


@pytest.mark.parametrize("status", list(S))
def test_a_supplement_is_taken_only_while_one_is_awaited(status: DossierStatus) -> None:
    given = [ComponentIn(code="to_khai", original=True)]
    birth = PROCEDURES["1.001193"]
    if status is not S.AWAITING_SUPPLEMENT:
        with pytest.raises(ActRefusedError) as refused:
            decide_supplement(CODE, status, birth, given, "", vn("2026-03-04 09:00"))
        assert refused.value.code == "supplement_not_requested"
        return
    taken = decide_supplement(
        CODE, status, birth, given, "Bản mới", vn("2026-03-04 09:00")
    )
    assert taken.status is S.IN_PROGRESS
    assert taken.event.components[0].name == "Tờ khai đăng ký khai sinh theo mẫu"
    assert taken.entry()["note"] == "Bản mới"


@pytest.mark.parametrize("status", list(S))
def test_an_open_dossier_can_be_withdrawn_and_a_closed_one_cannot(
    status: DossierStatus,
) -> None:
    closed = {S.REFUSED, S.WITHDRAWN, S.STOPPED, S.RESULT_DELIVERED}
    if status in closed:
        with pytest.raises(ActRefusedError) as refused:
            decide_withdrawal(CODE, status, "", vn("2026-03-04 09:00"))
        assert refused.value.code == "withdrawal_not_allowed"
        assert refused.value.message == (
            f"Hồ sơ {CODE} đang ở trạng thái “{status.label_vi}”, không thể rút."
        )
        return
    withdrawal = decide_withdrawal(CODE, status, "Không còn nhu cầu", vn("2026-03-04"))
    assert withdrawal.status is S.WITHDRAWN
    assert withdrawal.event.reason == "Không còn nhu cầu"


# -- following routing -------------------------------------------------------------------------


def _event(data: Any, at: datetime) -> Any:
    return new_event(data, dossier_code=CODE, producer="routing", occurred_at=at)


def test_routing_moves_the_status_as_the_shared_table_allows() -> None:
    at = vn("2026-03-03 09:00")
    offered = follow(
        S.RECEIVED, None, _event(HandoffOfferedV1(step_no=1, to_agency_code=DESK), at)
    )
    assert offered.status is S.IN_PROGRESS
    asked = follow(
        S.IN_PROGRESS,
        at,
        _event(SupplementRequestedV1(requested_components=["Tờ khai"]), at),
    )
    assert (asked.status, asked.supplement_requested) == (
        S.AWAITING_SUPPLEMENT,
        ["Tờ khai"],
    )
    # a later hand-over does not undo a pause, and is not a contradiction
    paused = follow(
        S.AWAITING_SUPPLEMENT,
        at,
        _event(HandoffOfferedV1(step_no=2, to_agency_code=DESK), at),
    )
    assert (paused.status, paused.ignored) == (None, True)
    # delivered before any result: impossible from 4, ignored
    skipped = follow(
        S.IN_PROGRESS, at, _event(ResultDeliveredV1(delivered_at=at, method="desk"), at)
    )
    assert (skipped.status, skipped.ignored) == (None, True)


def test_a_new_appointment_is_taken_whatever_the_status() -> None:
    at, new_due = vn("2026-03-03 09:00"), vn("2026-03-20 17:00")
    apology = follow(
        S.IN_PROGRESS, at, _event(ApologyIssuedV1(reason="x", new_due_at=new_due), at)
    )
    assert (apology.due_at, apology.status, apology.ignored) == (new_due, None, False)
    # the desk took the supplement already (4): routing's resumption echoes it
    resumed = follow(
        S.IN_PROGRESS,
        at,
        _event(ProcessingResumedV1(paused_working_hours=8, due_at=new_due), at),
    )
    assert (resumed.due_at, resumed.status, resumed.ignored) == (new_due, None, False)


def test_an_event_older_than_the_last_change_moves_nothing() -> None:
    offered = _event(
        HandoffOfferedV1(step_no=1, to_agency_code=DESK), vn("2026-03-03 08:00")
    )
    news = follow(S.RECEIVED, vn("2026-03-03 09:00"), offered)
    assert (news.status, news.ignored) == (None, False)
