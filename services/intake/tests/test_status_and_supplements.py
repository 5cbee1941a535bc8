"""Intake follows routing's events, and takes a supplement only when one was
asked for (SQLite and PostgreSQL; the first test over the real broker, the
others with routing's events fed directly)."""

from __future__ import annotations

from intake_support import (
    DESK,
    Intake,
    dossier,
    outbox_events,
    publish_as_routing,
    published,
)

from motcua.shared.auth import Role
from motcua.shared.contracts import now_vn
from motcua.shared.contracts.handoff import (
    ApologyIssuedV1,
    HandoffAcknowledgedV1,
    HandoffOfferedV1,
    ProcessingStoppedV1,
    ResultDeliveredV1,
    ResultRecordedV1,
    SupplementRequestedV1,
    Timeliness,
)
from motcua.shared.settings import KafkaSettings
from motcua.shared.testing.helpers import bearer, wait_for

OFFICER = bearer(DESK, Role.DESK_OFFICER)


async def _hand_to_desk(intake: Intake, kafka: KafkaSettings, code: str) -> None:
    """Routing offers the first step to the desk, which takes it over (the desk
    then holds the dossier: it may sign the acts that follow)."""
    sessions = intake.app.state.runtime.sessions
    for data in (
        HandoffOfferedV1(step_no=1, to_agency_code=DESK),
        HandoffAcknowledgedV1(step_no=1, to_agency_code=DESK),
    ):
        await publish_as_routing(kafka, code, data, sessions=sessions)


async def _status(intake: Intake, code: str) -> dict[str, object]:
    response = await intake.client.get(f"/api/v1/dossiers/{code}", headers=OFFICER)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_a_supplement_is_taken_only_after_an_agency_asked_for_it(
    intake: Intake, kafka_settings: KafkaSettings
) -> None:
    created = await intake.client.post(
        "/api/v1/dossiers", json=dossier(), headers=OFFICER
    )
    code = created.json()["code"]
    supplement = {
        "components": [{"code": "to_khai", "original": True}],
        "note": "Bản khai mới",
    }
    early = await intake.client.post(
        f"/api/v1/dossiers/{code}/supplements", json=supplement, headers=OFFICER
    )
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "supplement_not_requested"

    await _hand_to_desk(intake, kafka_settings, code)
    await publish_as_routing(
        kafka_settings,
        code,
        SupplementRequestedV1(
            requested_components=["Tờ khai có chữ ký"], reason="Thiếu chữ ký"
        ),
        sessions=intake.app.state.runtime.sessions,
    )

    async def waiting() -> dict[str, object] | None:
        body = await _status(intake, code)
        return body if body["status"] == 5 else None

    body = await wait_for(
        waiting, timeout_s=30, message="status 5 from routing's event"
    )
    assert body["supplement_requested"] == ["Tờ khai có chữ ký"]
    assert body["status_label"] == "Yêu cầu bổ sung"

    taken = await intake.client.post(
        f"/api/v1/dossiers/{code}/supplements",
        json=supplement,
        headers={**OFFICER, "Idempotency-Key": f"sup-{code}"},
    )
    assert taken.status_code == 201, taken.text
    retry = await intake.client.post(
        f"/api/v1/dossiers/{code}/supplements",
        json=supplement,
        headers={**OFFICER, "Idempotency-Key": f"sup-{code}"},
    )
    assert retry.json() == taken.json()
    assert (await _status(intake, code))["status"] == 4
    events = await outbox_events(intake.app.state.runtime.sessions, code)
    assert [e["event_type"] for e in events] == [
        "dossier.received",
        "dossier.supplement_received",
    ]
    supplied = events[1]["data"]
    assert supplied["components"] == [
        {
            "code": "to_khai",
            "name": "Tờ khai đăng ký khai sinh theo mẫu",
            "original": True,
            "copies": 1,
        }
    ]
    await published(kafka_settings, {events[1]["event_id"]})


async def test_results_apologies_and_impossible_moves(offline_intake: Intake) -> None:
    intake = offline_intake
    created = await intake.client.post(
        "/api/v1/dossiers", json=dossier(), headers=OFFICER
    )
    code = created.json()["code"]
    new_due = now_vn().replace(microsecond=0)
    await intake.feed_as_routing(code, HandoffOfferedV1(step_no=1, to_agency_code=DESK))
    await intake.feed_as_routing(
        code, HandoffAcknowledgedV1(step_no=1, to_agency_code=DESK)
    )
    await intake.feed_as_routing(
        code, ApologyIssuedV1(reason="Chờ xác minh", new_due_at=new_due)
    )
    # A delivery announced while intake holds status 4 is impossible by the
    # shared table (9 → 10 only): refused (dead-lettered), where intake used to
    # show 10. (It is signed by the holder, so the chain guard lets it through:
    # the state check is what refuses it; its link stays, so what follows
    # still links.)
    await intake.feed_as_routing(
        code, ResultDeliveredV1(delivered_at=now_vn(), method="desk")
    )
    body = await _status(intake, code)
    assert (body["status"], body["due_at"]) == (4, new_due.isoformat())
    assert intake.offline is not None
    assert [
        row.headers["dlt-reason"]
        for row in await intake.offline.outbox_rows(key=code)
        if row.topic.startswith("motcua.dlt.")
    ] == ["illegal_transition"]
    await intake.feed_as_routing(
        code, ResultRecordedV1(resolved_at=now_vn(), timeliness=Timeliness.EARLY)
    )
    await intake.feed_as_routing(
        code, ResultDeliveredV1(delivered_at=now_vn(), method="desk")
    )
    assert (await _status(intake, code))["status"] == 10
    withdrawal = await intake.client.post(
        f"/api/v1/dossiers/{code}/withdrawal", json={}, headers=OFFICER
    )
    assert withdrawal.status_code == 409


async def test_a_stopped_dossier_cannot_be_withdrawn(offline_intake: Intake) -> None:
    """Issue 11: intake used to accept it (its own final statuses lacked 8)."""
    intake = offline_intake
    created = await intake.client.post(
        "/api/v1/dossiers", json=dossier(), headers=OFFICER
    )
    code = created.json()["code"]
    await intake.feed_as_routing(code, HandoffOfferedV1(step_no=1, to_agency_code=DESK))
    await intake.feed_as_routing(
        code, HandoffAcknowledgedV1(step_no=1, to_agency_code=DESK)
    )
    await intake.feed_as_routing(code, ProcessingStoppedV1(reason="Không đủ điều kiện"))
    assert (await _status(intake, code))["status"] == 8
    withdrawal = await intake.client.post(
        f"/api/v1/dossiers/{code}/withdrawal",
        json={"reason": "Không muốn tiếp tục"},
        headers=OFFICER,
    )
    assert withdrawal.status_code == 409
    assert withdrawal.json()["error"] == {
        "code": "withdrawal_not_allowed",
        "message": f"Hồ sơ {code} đang ở trạng thái “Dừng xử lý”, không thể rút.",
        "details": [],
    }
    assert (await _status(intake, code))["status"] == 8
    events = await outbox_events(intake.app.state.runtime.sessions, code)
    assert [e["event_type"] for e in events] == ["dossier.received"]
