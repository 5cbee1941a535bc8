"""Receiving dossiers over HTTP, on SQLite and PostgreSQL: appointments,
validation messages, idempotent retries, forms 01–03 and the events
downstream services read. Without a broker (``offline_intake``), but for the
tests that show the events reach the topic."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa
from intake_support import (
    DESK,
    OTHER_DESK,
    Intake,
    applicant,
    dossier,
    outbox_events,
    published,
    vn,
)

from motcua.intake.tables import DossierRecord
from motcua.shared.auth import Role
from motcua.shared.contracts import parse_event
from motcua.shared.messaging.tables import OutboxRecord
from motcua.shared.personal_data import PersonalDataAccess, load_keys
from motcua.shared.settings import CommonSettings, KafkaSettings
from motcua.shared.testing.helpers import bearer

OFFICER = bearer(DESK, Role.DESK_OFFICER)


async def _counts(intake: Intake) -> tuple[int, int]:
    """(dossiers, outbox rows) in the module's database."""
    async with intake.app.state.runtime.sessions() as session:
        dossiers = await session.scalar(
            sa.select(sa.func.count()).select_from(DossierRecord)
        )
        outbox = await session.scalar(
            sa.select(sa.func.count()).select_from(OutboxRecord)
        )
    return int(dossiers or 0), int(outbox or 0)


async def _receive(intake: Intake, **overrides: object) -> dict[str, object]:
    response = await intake.client.post(
        "/api/v1/dossiers", json=dossier(**overrides), headers=OFFICER
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_appointments_across_weekends_holidays_lunch_evenings_and_15h(
    offline_intake: Intake,
) -> None:
    cases = [
        # (received, procedure, channel, due)
        ("2026-03-02 10:00", "1.004873", "direct", "2026-03-05 10:00"),  # +3 WD
        ("2026-03-06 16:00", "1.003677", "direct", "2026-03-09 16:00"),  # weekend
        ("2026-02-13 10:00", "1.004873", "direct", "2026-02-25 10:00"),  # Tết 2026
        ("2026-08-21 10:00", "1.003677", "direct", "2026-08-22 10:00"),  # make-up Sat
        ("2026-03-02 12:15", "1.003677", "direct", "2026-03-03 11:30"),  # lunch
        ("2026-03-02 19:40", "1.003677", "direct", "2026-03-03 17:00"),  # evening
        ("2026-03-02 14:59", "1.001193", "direct", "2026-03-02 17:00"),  # same day
        ("2026-03-02 15:00", "1.001193", "direct", "2026-03-03 17:00"),  # 15:00 rule
        ("2026-03-02 10:00", "1.001193.02", "online", "2026-03-05 10:00"),  # group
    ]
    for received, procedure, channel, due in cases:
        offline_intake.set_clock(vn(received))
        body = await _receive(offline_intake, procedure_code=procedure, channel=channel)
        assert body["due_at"] == vn(due).isoformat(), (received, procedure)
        assert body["status"] == 2
        assert str(body["code"]).startswith(f"{DESK}-{vn(received):%y%m%d}-")


async def test_a_received_dossier_publishes_everything_downstream_needs(
    intake: Intake, kafka_settings: KafkaSettings
) -> None:
    intake.set_clock(vn("2026-03-02 10:00"))
    body = await _receive(
        intake,
        procedure_code="2.000488",
        result_delivery="post",
        postal_address={
            "receiver_name": "Nguyễn Thị Lan",
            "address": "Thôn 3, xã Kim Long",
            "phone": "0912345678",
        },
        representative=applicant(full_name="Trần Văn Bình", id_number="079203004567"),
    )
    code = str(body["code"])
    [queued] = await outbox_events(intake.app.state.runtime.sessions, code)
    records = await published(kafka_settings, {queued["event_id"]})
    event = records[queued["event_id"]]
    data = event["data"]
    assert event["event_type"] == "dossier.received"
    assert event["dossier_code"] == code
    assert event["imported"] is False
    assert data["procedure_name"].startswith("Thủ tục cấp Phiếu lý lịch tư pháp")
    assert data["procedure_level"] == "province"
    assert data["competent_agency_type"] == "justice"
    assert data["field_name"] == "Lý lịch tư pháp"
    assert data["due_at"] == vn("2026-03-16 10:00").isoformat()
    assert data["clock_started_at"] == vn("2026-03-02 10:00").isoformat()
    assert data["time_limit"] == "10wd"
    assert sum(step["hours"] for step in data["workflow"]) == 80
    assert data["workflow"][0]["role"] == "receiving_desk"
    # the people only sealed, each entitled service opening its share (ADR 0007)
    assert {"applicant", "representative", "postal_address"}.isdisjoint(data)
    raw = json.dumps(event, ensure_ascii=False)
    for clear in ("912345678", "Nguyễn Thị Lan", "001190012345", "079203004567"):
        assert clear not in raw
    envelope = parse_event(json.dumps(event))
    keys = load_keys(CommonSettings())
    notification = PersonalDataAccess("notification", keys).open_event(
        envelope, purpose="test"
    )
    assert notification.applicant is not None
    assert notification.applicant.phone == "+84912345678"
    assert notification.applicant.id_number is None
    assert notification.representative is not None
    assert notification.representative.full_name == "Trần Văn Bình"
    assert notification.postal_address is not None
    assert notification.postal_address.address == "Thôn 3, xã Kim Long"
    portal = PersonalDataAccess("portal", keys).open_event(envelope, purpose="test")
    assert portal.representative is not None
    assert portal.representative.id_number == "079203004567"
    reporting = PersonalDataAccess("reporting", keys)
    digest = reporting.open_event(envelope, purpose="test").id_digest
    assert digest is not None
    assert digest == reporting.lookup_digest("001190012345")
    assert data["result_delivery"] == "post"
    assert data["notify_channels"] == ["sms", "email", "post"]
    assert data["fee_vnd"] == 200_000
    assert data["filed_by"] == "desk_officer"
    assert data["procedure_version"] == 1
    assert [c["code"] for c in data["components"]] == ["to_khai", "ban_chup_giay_to"]


async def test_invalid_input_gets_vietnamese_messages_per_field(
    offline_intake: Intake,
) -> None:
    response = await offline_intake.client.post(
        "/api/v1/dossiers",
        json=dossier(
            applicant=applicant(
                id_number="123", phone="12345", email="lan@", full_name=""
            ),
            channel="fax",
        ),
        headers=OFFICER,
    )
    assert response.status_code == 422
    error = response.json()["error"]
    messages = {d["field"]: d["message"] for d in error["details"]}
    assert (
        messages["applicant.id_number"]
        == "Số định danh cá nhân phải gồm đúng 12 chữ số."
    )
    assert messages["applicant.phone"].startswith("Số điện thoại")
    assert messages["applicant.email"] == "Địa chỉ thư điện tử không hợp lệ."
    assert messages["applicant.full_name"] == "Quá ngắn."
    assert messages["channel"] == "Giá trị không thuộc danh sách cho phép."
    assert error["message"].startswith("Thông tin chưa hợp lệ")


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
async def test_what_the_catalogue_forbids_is_refused_per_field(
    offline_intake: Intake, overrides: dict[str, object], field: str, message: str
) -> None:
    headers = bearer("*", Role.DESK_OFFICER)
    before = await _counts(offline_intake)
    response = await offline_intake.client.post(
        "/api/v1/dossiers", json=dossier(**overrides), headers=headers
    )
    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    assert message in " ".join(d["message"] for d in details if d["field"] == field)
    assert await _counts(offline_intake) == before


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31"])
async def test_a_listing_day_out_of_any_dossier_life_is_a_422_not_a_500(
    offline_intake: Intake, day: str
) -> None:
    response = await offline_intake.client.get(
        "/api/v1/dossiers", params={"received_on": day}, headers=OFFICER
    )
    assert response.status_code == 422, response.text
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == "query.received_on"
    ok = await offline_intake.client.get(
        "/api/v1/dossiers", params={"received_on": "2100-12-31"}, headers=OFFICER
    )
    assert ok.status_code == 200


async def test_a_wrong_method_is_a_405_that_says_what_is_allowed(
    offline_intake: Intake,
) -> None:
    response = await offline_intake.client.delete("/api/v1/procedures")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.json()["error"]["code"] == "method_not_allowed"


async def test_officers_receive_only_at_their_own_agency(
    offline_intake: Intake,
) -> None:
    anonymous = await offline_intake.client.post("/api/v1/dossiers", json=dossier())
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["message"].startswith("Cần đăng nhập")
    elsewhere = await offline_intake.client.post(
        "/api/v1/dossiers",
        json=dossier(receiving_agency_code=OTHER_DESK),
        headers=OFFICER,
    )
    assert elsewhere.status_code == 403
    operator = await offline_intake.client.post(
        "/api/v1/dossiers", json=dossier(), headers=bearer(DESK, Role.OPERATOR)
    )
    assert operator.status_code == 403


async def test_a_retry_with_the_same_key_returns_the_first_answer_and_writes_nothing(
    offline_intake: Intake,
) -> None:
    headers = {**OFFICER, "Idempotency-Key": f"desk-7-{uuid.uuid4()}"}
    before = await _counts(offline_intake)
    first = await offline_intake.client.post(
        "/api/v1/dossiers", json=dossier(), headers=headers
    )
    again = await offline_intake.client.post(
        "/api/v1/dossiers", json=dossier(), headers=headers
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await offline_intake.client.post(
        "/api/v1/dossiers", json=dossier(summary="khác"), headers=headers
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    fresh = await offline_intake.client.post(
        "/api/v1/dossiers",
        json=dossier(),
        headers={**OFFICER, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert fresh.json()["code"] != first.json()["code"]
    dossiers, outbox = await _counts(offline_intake)
    assert (dossiers, outbox) == (before[0] + 2, before[1] + 2)


async def test_the_receipt_prints_with_the_appointment_and_a_qr_code(
    offline_intake: Intake,
) -> None:
    offline_intake.set_clock(vn("2026-03-02 15:00"))
    body = await _receive(offline_intake)
    links = body["form"]
    assert isinstance(links, dict)
    html = await offline_intake.client.get(links["html"])
    assert html.status_code == 200
    page = html.text
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in page
    assert body["code"] in page
    assert "17 giờ 00 phút, Thứ Ba ngày 03 tháng 03 năm 2026" in page
    assert "data:image/svg+xml;base64," in page
    assert "@media print" in page
    pdf = await offline_intake.client.get(links["pdf"])
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    code = body["code"]
    unsigned = await offline_intake.client.get(f"/api/v1/dossiers/{code}/forms/01")
    assert unsigned.status_code == 401
    forged = await offline_intake.client.get(
        f"/api/v1/dossiers/{code}/forms/01?sig=abc"
    )
    assert forged.status_code == 401
    with_token = await offline_intake.client.get(
        f"/api/v1/dossiers/{code}/forms/01", headers=OFFICER
    )
    assert with_token.status_code == 200
    other_agency = await offline_intake.client.get(
        f"/api/v1/dossiers/{code}/forms/01",
        headers=bearer(OTHER_DESK, Role.DESK_OFFICER),
    )
    assert other_agency.status_code == 403
    wrong_form = await offline_intake.client.get(
        f"/api/v1/dossiers/{code}/forms/03", headers=OFFICER
    )
    assert wrong_form.status_code == 404


async def test_refusal_and_completion_request_give_forms_03_and_02(
    intake: Intake, kafka_settings: KafkaSettings
) -> None:
    refused = await _receive(
        intake, outcome="refused", reasons=["Thủ tục không thuộc thẩm quyền của xã"]
    )
    completion = await _receive(
        intake,
        outcome="completion_requested",
        missing_components=["giay_chung_sinh"],
        instructions="Mang Giấy chứng sinh bản chính.",
    )
    assert (refused["status"], refused["outcome"], refused["due_at"]) == (
        3,
        "refused",
        None,
    )
    assert completion["status"] == 1
    assert completion["outcome"] == "completion_requested"
    runtime = intake.app.state.runtime
    events = [
        *await outbox_events(runtime.sessions, str(refused["code"])),
        *await outbox_events(runtime.sessions, str(completion["code"])),
    ]
    assert [e["event_type"] for e in events] == [
        "dossier.refused",
        "dossier.completion_requested",
    ]
    assert events[1]["data"]["missing_components"] == [
        "Giấy chứng sinh (hoặc văn bản xác nhận của người làm chứng)"
    ]
    await published(kafka_settings, {e["event_id"] for e in events})
    form03 = await intake.client.get(refused["form"]["html"])  # type: ignore[index]
    assert "PHIẾU TỪ CHỐI TIẾP NHẬN" in form03.text
    assert "Thủ tục không thuộc thẩm quyền của xã" in form03.text
    form02 = await intake.client.get(completion["form"]["pdf"])  # type: ignore[index]
    assert form02.content.startswith(b"%PDF")
    form02_html = await intake.client.get(completion["form"]["html"])  # type: ignore[index]
    assert "Mang Giấy chứng sinh bản chính." in form02_html.text


async def test_withdrawal_is_an_event_and_happens_once(offline_intake: Intake) -> None:
    code = (await _receive(offline_intake))["code"]
    first = await offline_intake.client.post(
        f"/api/v1/dossiers/{code}/withdrawal",
        json={"reason": "Không còn nhu cầu"},
        headers=OFFICER,
    )
    assert first.status_code == 201, first.text
    assert first.json()["status"] == 7
    second = await offline_intake.client.post(
        f"/api/v1/dossiers/{code}/withdrawal", json={}, headers=OFFICER
    )
    assert second.status_code == 409
    assert "không thể rút" in second.json()["error"]["message"]
    types = [
        e["event_type"]
        for e in await outbox_events(
            offline_intake.app.state.runtime.sessions, str(code)
        )
    ]
    assert types == ["dossier.received", "dossier.withdrawn"]
    missing = await offline_intake.client.post(
        "/api/v1/dossiers/000.01.31.H14-260302-9999/withdrawal",
        json={},
        headers=OFFICER,
    )
    assert missing.status_code == 404


async def test_a_reception_continues_the_callers_trace_in_its_event(
    offline_intake: Intake,
) -> None:
    """Without an exporter the request's span records nothing, yet the event
    it writes carries the caller's trace (a span of its own in it); a caller
    without a trace context gets a new trace per request."""
    assert offline_intake.offline is not None
    caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    response = await offline_intake.client.post(
        "/api/v1/dossiers",
        json=dossier(),
        headers={**OFFICER, "traceparent": caller, "x-correlation-id": "c-42"},
    )
    assert response.status_code == 201, response.text
    assert response.headers["x-correlation-id"] == "c-42"
    code = response.json()["code"]
    (row,) = await offline_intake.offline.outbox_rows(key=code)
    version, trace_id, span_id, flags = row.headers["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", caller.split("-")[1], "01")
    assert span_id != caller.split("-")[2]
    traces = set()
    for _ in range(2):
        code = (await _receive(offline_intake))["code"]
        (row,) = await offline_intake.offline.outbox_rows(key=str(code))
        traces.add(row.headers["traceparent"].split("-")[1])
    assert len(traces) == 2
    assert trace_id not in traces
