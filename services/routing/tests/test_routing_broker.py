"""Routing over the real broker and both databases, through the production
code paths (``create_app`` + ``running_app``); time is moved by hand."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from broker_support import (
    Clock,
    RoutingUnderTest,
    agency_header,
    publish,
    routing_service,
    tap,
    until,
)
from routing_support import (
    JUSTICE,
    KIM_LONG_CENTRE,
    XUAN_QUANG_CENTRE,
    received,
    vn,
)

from motcua.routing.tables import DeadlineAlarm, HandoffRow
from motcua.shared.auth import Role
from motcua.shared.contracts import new_event
from motcua.shared.contracts.common import NotificationChannel
from motcua.shared.contracts.dossier import (
    DossierSupplementReceivedV1,
    DossierWithdrawnV1,
    WorkflowStep,
)
from motcua.shared.contracts.handoff import (
    ResultDeliveredV1,
    ResultRecordedV1,
    Timeliness,
)
from motcua.shared.contracts.notification import PostalStatusChangedV1
from motcua.shared.messaging.tables import OutboxRecord, ParkedRecord
from motcua.shared.settings import KafkaSettings
from motcua.shared.testing.helpers import bearer

pytestmark = pytest.mark.broker

DESK = (KIM_LONG_CENTRE, Role.DESK_OFFICER)
DEPARTMENT = (JUSTICE, Role.AGENCY_OFFICER)


async def _queue(svc: RoutingUnderTest, agency: str) -> list[dict[str, Any]]:
    response = await svc.client.get(
        f"/api/v1/agencies/{agency}/queue", headers=bearer(agency, Role.AGENCY_OFFICER)
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _in_queue(svc: RoutingUnderTest, agency: str, code: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        return next(
            (i for i in await _queue(svc, agency) if i["dossier_code"] == code), None
        )

    found: dict[str, Any] = await until(probe, f"{code} in the queue of {agency}")
    return found


async def test_a_criminal_record_certificate_goes_commune_department_commune(
    database_url: str,
    kafka_settings: KafkaSettings,
    tmp_path: Path,
    clock: Clock,
    code_for: Any,
    group: str,
) -> None:
    code = code_for(KIM_LONG_CENTRE)
    async with (
        routing_service(
            database_url, kafka_settings, tmp_path, clock, group=group
        ) as svc,
        tap(kafka_settings) as topic,
    ):
        announced = received(code)
        await publish(kafka_settings, announced)

        # routed by competence: the commune desk holds step 1 (4 h, due 14:00)
        item = await _in_queue(svc, KIM_LONG_CENTRE, code)
        assert (item["state"], item["step_no"]) == ("offered", 1)
        assert item["step_due_at"] == "2026-03-02T14:00:00+07:00"
        dossier = await svc.dossier(code)
        assert [s["agency"]["code"] for s in dossier["steps"]] == [
            KIM_LONG_CENTRE,
            JUSTICE,
            KIM_LONG_CENTRE,
        ]
        assert dossier["status"] == 4

        clock.now = vn("2026-03-02 08:30")
        await svc.act(code, "acknowledge", *DESK, name="Lê Văn Một Cửa")
        clock.now = vn("2026-03-02 09:00")
        moved = await svc.act(
            code, "complete", *DESK, body={"step_no": 1}, name="Lê Văn Một Cửa"
        )
        assert moved["holder"]["code"] == JUSTICE

        # an officer of another agency is refused and nothing changes
        before, outbox = await svc.dossier(code), await svc.outbox_count(code)
        for agency, action in (
            (XUAN_QUANG_CENTRE, "acknowledge"),
            (KIM_LONG_CENTRE, "stop"),
        ):
            refused = await svc.act(
                code, action, agency, Role.SUPERVISOR, body={"reason": "x"}, expect=403
            )
            assert refused["error"]["code"] == "agency_forbidden"
            assert "không được thao tác" in refused["error"]["message"]
        operator = await svc.act(code, "acknowledge", "*", Role.OPERATOR, expect=403)
        assert operator["error"]["code"] == "role_forbidden"
        assert await svc.dossier(code) == before
        assert await svc.outbox_count(code) == outbox

        clock.now = vn("2026-03-02 10:00")
        await svc.act(code, "acknowledge", *DEPARTMENT, name="Phạm Thị Tư Pháp")
        clock.now = vn("2026-03-03 08:00")
        paused = await svc.act(
            code,
            "supplement-request",
            *DEPARTMENT,
            body={"components": ["Bản sao CCCD"], "reason": "Bản chụp mờ"},
        )
        assert (paused["status"], paused["paused"]) == (5, "supplement")

        # intake receives the supplement on Thursday 08:00: 16 working hours paused
        supplement = new_event(
            DossierSupplementReceivedV1(received_at=vn("2026-03-05 08:00")),
            dossier_code=code,
            producer="intake",
            agency_code=KIM_LONG_CENTRE,
            occurred_at=vn("2026-03-05 08:00"),
        )
        await publish(kafka_settings, supplement)

        async def resumed() -> dict[str, Any] | None:
            d = await svc.dossier(code)
            return d if d["status"] == 4 else None

        dossier = await until(resumed, "processing resumed after the supplement")
        assert dossier["due_at"] == "2026-03-18T08:00:00+07:00"  # was 16/3 08:00
        assert dossier["step_due_at"] == "2026-03-17T09:00:00+07:00"  # was 13/3 09:00

        clock.now = vn("2026-03-05 08:30")
        again = await svc.act(
            code,
            "supplement-request",
            *DEPARTMENT,
            body={"components": ["Ảnh"]},
            expect=409,
        )
        assert again["error"]["code"] == "supplement_already_requested"

        clock.now = vn("2026-03-05 09:00")
        await svc.act(code, "fee-request", *DEPARTMENT, body={"amount_vnd": 200000})
        clock.now = vn("2026-03-05 10:00")
        await svc.act(code, "fee-payment", *DEPARTMENT, body={"amount_vnd": 200000})
        clock.now = vn("2026-03-05 10:30")
        await svc.act(code, "result", *DEPARTMENT, body={"summary": "Phiếu số 12/LLTP"})
        clock.now = vn("2026-03-05 11:00")
        await svc.act(code, "complete", *DEPARTMENT)
        clock.now = vn("2026-03-05 11:15")
        await svc.act(code, "acknowledge", *DESK)
        clock.now = vn("2026-03-05 11:30")
        done = await svc.act(code, "delivery", *DESK)
        assert (done["status"], done["holder"]) == (10, None)

        sheet = (
            await svc.client.get(
                f"/api/v1/dossiers/{code}/control-sheet",
                headers=bearer(JUSTICE, Role.AGENCY_OFFICER),
            )
        ).json()
        rows = sheet["hand_overs"]
        assert [
            (
                r["from_agency"] and r["from_agency"]["code"],
                r["to_agency"] and r["to_agency"]["code"],
                r["timeliness"],
            )
            for r in rows
        ] == [
            (None, KIM_LONG_CENTRE, None),
            (KIM_LONG_CENTRE, JUSTICE, "on_time"),  # 09:00, due 14:00 that day
            (JUSTICE, KIM_LONG_CENTRE, "early"),  # Thursday, due 17/3 10:00
            (KIM_LONG_CENTRE, None, "early"),  # appointment 18/3 09:00
        ]
        assert rows[1]["from_officer"] == "Lê Văn Một Cửa"
        assert rows[1]["received_by"] == "Phạm Thị Tư Pháp"
        assert sheet["competent_agency"]["name"] == "Sở Tư pháp tỉnh Mẫu"
        page = await svc.client.get(
            f"/api/v1/dossiers/{code}/control-sheet.html",
            headers=bearer(KIM_LONG_CENTRE, Role.DESK_OFFICER),
        )
        assert page.status_code == 200
        assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in page.text
        assert "Đúng hạn" in page.text
        assert "Trước hạn" in page.text
        stranger = await svc.client.get(
            f"/api/v1/dossiers/{code}/control-sheet",
            headers=bearer(XUAN_QUANG_CENTRE, Role.DESK_OFFICER),
        )
        assert stranger.status_code == 403

        # every event went over the broker, hand-offs with the receiving agency
        expected = [
            ("dossier.routed", KIM_LONG_CENTRE),
            ("dossier.handoff_offered", KIM_LONG_CENTRE),
            ("dossier.handoff_acknowledged", KIM_LONG_CENTRE),
            ("dossier.step_completed", JUSTICE),
            ("dossier.handoff_offered", JUSTICE),
            ("dossier.handoff_acknowledged", JUSTICE),
            ("dossier.supplement_requested", JUSTICE),
            ("dossier.processing_resumed", JUSTICE),
            ("dossier.fee_requested", JUSTICE),
            ("dossier.fee_paid", JUSTICE),
            ("dossier.processing_resumed", JUSTICE),
            ("dossier.result_recorded", JUSTICE),
            ("dossier.step_completed", KIM_LONG_CENTRE),
            ("dossier.handoff_offered", KIM_LONG_CENTRE),
            ("dossier.handoff_acknowledged", KIM_LONG_CENTRE),
            ("dossier.step_completed", KIM_LONG_CENTRE),
            ("dossier.result_delivered", KIM_LONG_CENTRE),
        ]

        def all_published() -> list[tuple[str, str | None]] | None:
            seen = [(r.envelope.event_type, agency_header(r)) for r in topic.of(code)]
            return seen if len(seen) >= len(expected) else None

        assert (
            await topic.wait(all_published, "routing's events on the topic") == expected
        )
        # officers' actions continue the dossier's correlation; the resumption
        # follows the supplement that caused it
        chains = {
            r.envelope.correlation_id
            for r in topic.of(code)
            if r.envelope.causation_id != supplement.event_id
        }
        assert chains == {announced.correlation_id}


async def test_illegal_actions_change_nothing_and_the_apology_rules_hold(
    database_url: str,
    kafka_settings: KafkaSettings,
    tmp_path: Path,
    clock: Clock,
    code_for: Any,
    group: str,
) -> None:
    code = code_for(KIM_LONG_CENTRE)
    async with routing_service(
        database_url, kafka_settings, tmp_path, clock, group=group
    ) as svc:
        await publish(kafka_settings, received(code))
        await until(lambda: svc.routed(code), "routed")

        refused = await svc.act(code, "complete", *DESK, expect=409)
        assert refused["error"]["code"] == "not_acknowledged"
        assert "«Đang xử lý» (mã 4)" in refused["error"]["message"]
        await svc.act(code, "acknowledge", *DESK)
        await svc.act(code, "result", *DESK)
        before, outbox = await svc.dossier(code), await svc.outbox_count(code)
        for action, body in (
            ("supplement-request", {"components": ["Tờ khai"]}),
            ("fee-request", {"amount_vnd": 1000}),
            ("stop", {"reason": "Không đủ điều kiện"}),
            ("result", {}),
        ):
            answer = await svc.act(code, action, *DESK, body=body, expect=409)
            assert answer["error"]["code"] == "illegal_transition"
            assert "«Đã xử lý xong» (mã 9)" in answer["error"]["message"]
        delivery = await svc.act(code, "delivery", *DESK, expect=409)
        assert delivery["error"]["code"] == "not_at_last_step"
        invalid = await svc.act(
            code, "return", *DESK, body={"reason": "  "}, expect=422
        )
        assert invalid["error"]["details"][0]["message"] == "Cần nêu lý do."
        assert await svc.dossier(code) == before
        assert await svc.outbox_count(code) == outbox

        # the apology (form 04): a supervisor of the holding agency, early enough
        other = code_for(KIM_LONG_CENTRE, 1)
        await publish(kafka_settings, received(other))
        await until(lambda: svc.routed(other), "routed")
        await svc.act(other, "acknowledge", *DESK)
        apology = {"reason": "Chờ xác minh", "new_due_at": "2026-03-20T16:00:00+07:00"}
        officer = await svc.act(other, "apology", *DESK, body=apology, expect=403)
        assert officer["error"]["code"] == "role_forbidden"
        clock.now = vn("2026-03-13 08:01")  # due 16/3 08:00: too late
        late = await svc.act(
            other, "apology", KIM_LONG_CENTRE, Role.SUPERVISOR, body=apology, expect=409
        )
        assert late["error"]["code"] == "apology_too_late"
        clock.now = vn("2026-03-12 16:00")
        earlier = {**apology, "new_due_at": "2026-03-16T07:00:00+07:00"}
        await svc.act(
            other, "apology", KIM_LONG_CENTRE, Role.SUPERVISOR, body=earlier, expect=422
        )
        moved = await svc.act(
            other, "apology", KIM_LONG_CENTRE, Role.SUPERVISOR, body=apology
        )
        assert moved["due_at"] == "2026-03-20T16:00:00+07:00"
        assert moved["original_due_at"] == "2026-03-16T08:00:00+07:00"

        async def handoffs() -> int:
            return int(
                await svc.scalar(
                    sa.select(sa.func.count())
                    .select_from(HandoffRow)
                    .where(HandoffRow.dossier_code == code)  # type: ignore[arg-type]
                )
            )

        assert await handoffs() == 1


async def test_deadline_alarms_and_escalations_are_raised_once_by_two_instances(
    database_url: str,
    kafka_settings: KafkaSettings,
    tmp_path: Path,
    clock: Clock,
    code_for: Any,
    group: str,
) -> None:
    code = code_for(KIM_LONG_CENTRE)
    async with (
        routing_service(
            database_url, kafka_settings, tmp_path / "a", clock, group=group
        ) as one,
        routing_service(
            database_url,
            kafka_settings,
            tmp_path / "b",
            clock,
            group=group,
            join_running=True,
        ) as two,
        tap(kafka_settings) as topic,
    ):
        await publish(kafka_settings, received(code))
        await until(lambda: one.routed(code), "routed")

        async def scan_everywhere() -> int:
            """Scan from both instances at once; the alarms of this dossier
            raised so far (the group also replays other tests' dossiers)."""
            await asyncio.gather(
                one.scheduler.scan(), two.scheduler.scan(), one.scheduler.scan()
            )
            return int(
                await one.scalar(
                    sa.select(sa.func.count())
                    .select_from(DeadlineAlarm)
                    .where(DeadlineAlarm.dossier_code == code)  # type: ignore[arg-type]
                )
            )

        # the 4-hour desk step is inside its last 24 working hours at once
        clock.now = vn("2026-03-02 08:05")
        assert await scan_everywhere() == 1
        # unacknowledged past 4 working hours and past its 14:00 due time
        clock.now = vn("2026-03-02 14:05")
        assert await scan_everywhere() == 3
        assert await scan_everywhere() == 3

        escalations = f"/api/v1/agencies/{KIM_LONG_CENTRE}/escalations"
        supervisor = bearer(KIM_LONG_CENTRE, Role.SUPERVISOR)
        queue = (await one.client.get(escalations, headers=supervisor)).json()
        assert [(i["dossier_code"], i["step_overdue"]) for i in queue["items"]] == [
            (code, True)
        ]
        for headers in (
            bearer(KIM_LONG_CENTRE, Role.DESK_OFFICER),
            bearer(JUSTICE, Role.SUPERVISOR),
        ):
            assert (
                await one.client.get(escalations, headers=headers)
            ).status_code == 403
        clock.now = vn("2026-03-02 14:10")
        await two.act(code, "acknowledge", *DESK)
        queue = (await one.client.get(escalations, headers=supervisor)).json()
        assert queue["items"] == []

        # forwarded late; nobody looks until Monday 16/3, past the department's
        # step and the appointment: overdue both (no longer "nearly" due), and
        # the hand-off escalated
        clock.now = vn("2026-03-02 14:20")
        await two.act(code, "complete", *DESK)
        clock.now = vn("2026-03-16 08:05")
        assert await scan_everywhere() == 6

        def alarms() -> list[tuple[str, Any, Any, str | None]] | None:
            found = [
                (
                    r.envelope.event_type,
                    getattr(r.envelope.data, "scope", None),
                    r.envelope.data.step_no,
                    agency_header(r),
                )
                for r in topic.of(code)
                if r.envelope.event_type
                in (
                    "dossier.nearly_due",
                    "dossier.overdue",
                    "dossier.handoff_escalated",
                )
            ]
            return found if len(found) >= 6 else None

        raised = await topic.wait(alarms, "six alarms on the topic")
        assert sorted(raised, key=str) == sorted(
            [
                ("dossier.nearly_due", "step", 1, KIM_LONG_CENTRE),
                ("dossier.overdue", "step", 1, KIM_LONG_CENTRE),
                ("dossier.handoff_escalated", None, 1, KIM_LONG_CENTRE),
                ("dossier.overdue", "step", 2, JUSTICE),
                ("dossier.handoff_escalated", None, 2, JUSTICE),
                ("dossier.overdue", "overall", None, JUSTICE),
            ],
            key=str,
        )
        queue = (
            await one.client.get(
                f"/api/v1/agencies/{JUSTICE}/queue",
                headers=bearer(JUSTICE, Role.AGENCY_OFFICER),
            )
        ).json()
        item = next(i for i in queue["items"] if i["dossier_code"] == code)
        assert (item["step_overdue"], item["overdue"], item["state"]) == (
            True,
            True,
            "offered",
        )


async def _dead_letter_reasons(svc: Any, code: str) -> list[str]:
    """``dlt-reason`` of the records routing dead-lettered about a dossier."""
    rows = await svc.scalars(
        sa.select(OutboxRecord.headers).where(
            OutboxRecord.key == code,  # type: ignore[arg-type]
            OutboxRecord.topic.startswith("motcua.dlt."),  # type: ignore[attr-defined]
        )
    )
    return sorted(r["dlt-reason"] for r in rows)


async def test_duplicates_and_events_before_their_dossier_are_applied_once(
    database_url: str,
    kafka_settings: KafkaSettings,
    tmp_path: Path,
    clock: Clock,
    code_for: Any,
    group: str,
) -> None:
    code, other = code_for(KIM_LONG_CENTRE), code_for(KIM_LONG_CENTRE, 1)
    async with routing_service(
        database_url, kafka_settings, tmp_path, clock, group=group
    ) as svc:
        withdrawn = new_event(
            DossierWithdrawnV1(reason="Không còn nhu cầu"),
            dossier_code=code,
            producer="intake",
            occurred_at=vn("2026-03-02 08:40"),
        )
        announced = received(code)
        # the withdrawal overtakes the reception; the reception comes twice, and
        # once more under another event id. Only unsigned legacy history can
        # arrive like this: a signed event always follows the events it links
        # to (ADR 0012), and a second reception would be a second first event.
        await publish(
            kafka_settings,
            withdrawn,
            announced,
            announced,
            received(code),
            signed=False,
        )

        async def withdrawn_dossier() -> dict[str, Any] | None:
            d = await svc.routed(code)
            return d if d and d["status"] == 7 else None

        dossier = await until(withdrawn_dossier, "the parked withdrawal applied")
        assert [(h["step_no"], h["state"]) for h in dossier["handoffs"]] == [
            (1, "closed")
        ]
        assert (
            await svc.scalar(sa.select(sa.func.count()).select_from(ParkedRecord)) == 0
        )
        # routed + offered, once; the reception under another event id came
        # after routing had signed the dossier's history: an unsigned event
        # can no longer join it, so the chain guard refuses it before the
        # handler would (duplicate_creation)
        # (the four records may come in more than one batch: the refusal can
        # follow the withdrawal's application)
        refused = await until(
            lambda: _dead_letter_reasons(svc, code), "the third reception refused"
        )
        assert refused == ["signature_invalid"]
        assert await svc.outbox_count(code) == 3

        # a supplement nobody asked for changes nothing: refused
        await publish(kafka_settings, received(other))
        await until(lambda: svc.routed(other), "routed")
        await publish(
            kafka_settings,
            new_event(
                DossierSupplementReceivedV1(received_at=vn("2026-03-02 09:00")),
                dossier_code=other,
                producer="intake",
            ),
            received(code_for(KIM_LONG_CENTRE, 2)),
        )
        await until(
            lambda: svc.routed(code_for(KIM_LONG_CENTRE, 2)), "the next one routed"
        )
        dossier = await svc.dossier(other)
        assert (dossier["status"], dossier["due_at"]) == (
            4,
            "2026-03-16T08:00:00+07:00",
        )
        # the refusal's dead letter and the next dossier's routing are written
        # by different partitions' batches: wait for it rather than assume it
        assert await until(
            lambda: _dead_letter_reasons(svc, other), "the supplement refused"
        ) == ["illegal_transition"]


async def test_history_dispatch_and_delivery_by_post(
    database_url: str,
    kafka_settings: KafkaSettings,
    tmp_path: Path,
    clock: Clock,
    code_for: Any,
    group: str,
) -> None:
    history, lost, posted = (code_for(KIM_LONG_CENTRE, n) for n in range(3))
    async with (
        routing_service(
            database_url, kafka_settings, tmp_path, clock, group=group
        ) as svc,
        tap(kafka_settings) as topic,
    ):
        # imported history: recorded as it was, no workflow, no alarm
        old = vn("2025-09-08 09:00")
        past = received(history, received_at=old, imported=True)
        await publish(
            kafka_settings,
            past,
            new_event(
                ResultRecordedV1(resolved_at=old, timeliness=Timeliness.ON_TIME),
                dossier_code=history,
                producer="intake",
                causation=past,
                occurred_at=old,
            ),
            new_event(
                ResultDeliveredV1(delivered_at=old),
                dossier_code=history,
                producer="intake",
                causation=past,
                occurred_at=old,
            ),
        )

        async def delivered_history() -> dict[str, Any] | None:
            d = await svc.routed(history)
            return d if d and d["status"] == 10 else None

        dossier = await until(delivered_history, "history recorded")
        assert (dossier["imported"], dossier["handoffs"]) == (True, [])
        clock.now = vn("2026-12-31 16:00")
        await svc.scheduler.scan()
        alarms = sa.select(sa.func.count()).select_from(DeadlineAlarm)
        assert (
            await svc.scalar(alarms.where(DeadlineAlarm.dossier_code == history)) == 0
        )  # type: ignore[arg-type]
        clock.now = vn("2026-03-02 08:00")

        # no agency of that type: the dossier waits for an operator
        await publish(kafka_settings, received(lost, competent_type="space_agency"))
        queued = await topic.wait(
            lambda: [
                r
                for r in topic.of(lost)
                if r.envelope.event_type == "dossier.dispatch_queued"
            ],
            "dispatch_queued on the topic",
        )
        assert "«space_agency»" in queued[0].envelope.data.reason
        operator = bearer("*", Role.OPERATOR)
        listed = (await svc.client.get("/api/v1/dispatch", headers=operator)).json()
        assert lost in [i["dossier_code"] for i in listed]
        desk = bearer(KIM_LONG_CENTRE, Role.DESK_OFFICER)
        assert (
            await svc.client.get("/api/v1/dispatch", headers=desk)
        ).status_code == 403
        wrong = await svc.client.post(
            f"/api/v1/dispatch/{lost}",
            json={"agencies": {"2": "123.45.67.H14"}},
            headers=operator,
        )
        assert wrong.status_code == 422
        assert "123.45.67.H14" in wrong.json()["error"]["message"]
        routed = await svc.client.post(
            f"/api/v1/dispatch/{lost}",
            json={"agencies": {"2": JUSTICE}},
            headers=operator,
        )
        assert routed.status_code == 200, routed.text
        assert [s["agency"]["code"] for s in routed.json()["steps"]] == [
            KIM_LONG_CENTRE,
            JUSTICE,
            KIM_LONG_CENTRE,
        ]
        listed = (await svc.client.get("/api/v1/dispatch", headers=operator)).json()
        assert lost not in [i["dossier_code"] for i in listed]
        assert await _in_queue(svc, KIM_LONG_CENTRE, lost)

        # the post delivers the result: routing marks it delivered
        one_step = [
            WorkflowStep(step_no=1, role="receiving_desk", name="Giải quyết", hours=8)
        ]
        await publish(kafka_settings, received(posted, workflow=one_step, limit="1wd"))
        await until(lambda: svc.routed(posted), "routed")
        await svc.act(posted, "acknowledge", *DESK)
        await svc.act(posted, "result", *DESK)
        await publish(
            kafka_settings,
            new_event(
                PostalStatusChangedV1(
                    notification_id=uuid.uuid4(),
                    channel=NotificationChannel.POST,
                    template="dossier.result_recorded",
                    waybill_code="EB123456789VN",
                    postal_status="delivered",
                ),
                dossier_code=posted,
                producer="notification",
                occurred_at=vn("2026-03-03 10:00"),
            ),
        )
        delivered = await topic.wait(
            lambda: [
                r
                for r in topic.of(posted)
                if r.envelope.event_type == "dossier.result_delivered"
            ],
            "result_delivered on the topic",
        )
        assert delivered[0].envelope.data.method == "post"
        assert (await svc.dossier(posted))["status"] == 10
