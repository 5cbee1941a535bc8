"""Routing's consumer paths without a broker: events fed to the production
consumer core (inbox, savepoints, dead letters), the use cases and the
database as in production, what routing publishes read from its outbox.
SQLite and PostgreSQL. (The guarantees that need the broker, and the whole
journey over it, are in test_routing_broker.py.)"""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from broker_support import Clock, RoutingUnderTest, offline_routing
from routing_support import JUSTICE, KIM_LONG_CENTRE, received, vn

from motcua.routing.tables import DeadlineAlarm
from motcua.shared.auth import Role
from motcua.shared.contracts import headers as h
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
from motcua.shared.contracts.topics import DOSSIER_EVENTS, dead_letter_topic
from motcua.shared.messaging.tables import ParkedRecord
from motcua.shared.testing.helpers import bearer

DESK = (KIM_LONG_CENTRE, Role.DESK_OFFICER)
DEPARTMENT = (JUSTICE, Role.AGENCY_OFFICER)


async def _types(svc: RoutingUnderTest, code: str) -> list[str]:
    assert svc.offline is not None
    return [e.event_type for e in await svc.offline.outbox(code)]


async def test_a_received_dossier_is_routed_and_offered_once(
    database_url: str, tmp_path: Path, clock: Clock, code_for: Any
) -> None:
    code = code_for(KIM_LONG_CENTRE)
    async with offline_routing(database_url, tmp_path, clock) as svc:
        announced = received(code)
        await svc.feed(announced, announced)  # told twice with one id
        assert await _types(svc, code) == [
            "dossier.routed",
            "dossier.handoff_offered",
        ]
        # Once more under another event id, unsigned: after routing signed
        # the dossier's history an unsigned event cannot join it (ADR 0012),
        # so it is dead-lettered, not applied.
        assert svc.offline is not None
        await svc.offline.feed(received(code), signed=False)
        dead = [
            row.headers[h.DLT_REASON]
            for row in await svc.offline.outbox_rows(key=code)
            if row.topic != DOSSIER_EVENTS
        ]
        assert dead == ["signature_invalid"]
        dossier = await svc.dossier(code)
        assert (dossier["status"], dossier["holder"]["code"]) == (4, KIM_LONG_CENTRE)
        assert svc.offline is not None
        [offered] = [
            row
            for row in await svc.offline.outbox_rows(key=code)
            if row.headers[h.EVENT_TYPE] == "dossier.handoff_offered"
        ]
        assert offered.headers[h.AGENCY_CODE] == KIM_LONG_CENTRE


async def test_an_event_before_its_dossier_is_parked_then_applied(
    database_url: str, tmp_path: Path, clock: Clock, code_for: Any
) -> None:
    code = code_for(KIM_LONG_CENTRE)
    async with offline_routing(database_url, tmp_path, clock) as svc:
        withdrawn = new_event(
            DossierWithdrawnV1(reason="Không còn nhu cầu"),
            dossier_code=code,
            producer="intake",
            occurred_at=vn("2026-03-02 08:40"),
        )
        # only unsigned legacy history can overtake its reception: a signed
        # event always follows the events it links to (ADR 0012)
        assert svc.offline is not None
        await svc.offline.feed(withdrawn, signed=False)
        assert (
            await svc.scalar(sa.select(sa.func.count()).select_from(ParkedRecord)) == 1
        )
        await svc.offline.feed(received(code), signed=False)
        dossier = await svc.dossier(code)
        assert dossier["status"] == 7
        assert [(x["step_no"], x["state"]) for x in dossier["handoffs"]] == [
            (1, "closed")
        ]
        assert (
            await svc.scalar(sa.select(sa.func.count()).select_from(ParkedRecord)) == 0
        )


async def test_a_supplement_resumes_only_what_was_paused(
    database_url: str, tmp_path: Path, clock: Clock, code_for: Any
) -> None:
    code = code_for(KIM_LONG_CENTRE)
    async with offline_routing(database_url, tmp_path, clock) as svc:
        await svc.feed(received(code))
        supplement = new_event(
            DossierSupplementReceivedV1(received_at=vn("2026-03-02 09:00")),
            dossier_code=code,
            producer="intake",
        )
        await svc.feed(supplement)  # nobody asked: nothing changes
        assert (await svc.dossier(code))["status"] == 4
        clock.now = vn("2026-03-02 08:30")
        await svc.act(code, "acknowledge", *DESK)
        await svc.act(
            code, "supplement-request", *DESK, body={"components": ["Tờ khai"]}
        )
        assert (await svc.dossier(code))["status"] == 5
        asked = new_event(
            DossierSupplementReceivedV1(received_at=vn("2026-03-04 08:30")),
            dossier_code=code,
            producer="intake",
        )
        await svc.feed(asked)
        dossier = await svc.dossier(code)
        # two paused working days move the appointment from 16/3 to 18/3
        assert (dossier["status"], dossier["due_at"]) == (
            4,
            "2026-03-18T08:00:00+07:00",
        )
        assert (await _types(svc, code))[-1] == "dossier.processing_resumed"


async def test_history_is_recorded_as_it_was_and_raises_no_alarm(
    database_url: str, tmp_path: Path, clock: Clock, code_for: Any
) -> None:
    code = code_for(KIM_LONG_CENTRE)
    async with offline_routing(database_url, tmp_path, clock) as svc:
        old = vn("2025-09-08 09:00")
        past = received(code, received_at=old, imported=True)
        recorded = new_event(
            ResultRecordedV1(resolved_at=old, timeliness=Timeliness.ON_TIME),
            dossier_code=code,
            producer="intake",
            causation=past,
            occurred_at=old,
        )
        delivered = new_event(
            ResultDeliveredV1(delivered_at=old),
            dossier_code=code,
            producer="intake",
            causation=past,
            occurred_at=old,
        )
        await svc.feed(past, recorded, delivered)
        dossier = await svc.dossier(code)
        assert (dossier["status"], dossier["imported"], dossier["handoffs"]) == (
            10,
            True,
            [],
        )
        assert await _types(svc, code) == []
        clock.now = vn("2026-12-31 16:00")
        await svc.scheduler.scan()
        assert (
            await svc.scalar(sa.select(sa.func.count()).select_from(DeadlineAlarm)) == 0
        )


async def test_no_agency_queues_for_dispatch_until_an_operator_routes_it(
    database_url: str, tmp_path: Path, clock: Clock, code_for: Any
) -> None:
    code = code_for(KIM_LONG_CENTRE)
    async with offline_routing(database_url, tmp_path, clock) as svc:
        await svc.feed(received(code, competent_type="space_agency"))
        assert svc.offline is not None
        [queued] = await svc.offline.outbox(code)
        assert queued.event_type == "dossier.dispatch_queued"
        assert "«space_agency»" in queued.data.reason
        assert (await svc.dossier(code))["status"] == 2
        routed = await svc.client.post(
            f"/api/v1/dispatch/{code}",
            json={"agencies": {"2": JUSTICE}},
            headers=_operator(),
        )
        assert routed.status_code == 200, routed.text
        assert await _types(svc, code) == [
            "dossier.dispatch_queued",
            "dossier.routed",
            "dossier.handoff_offered",
        ]


async def test_the_post_delivering_the_result_closes_the_dossier(
    database_url: str, tmp_path: Path, clock: Clock, code_for: Any
) -> None:
    code = code_for(KIM_LONG_CENTRE)
    one_step = [
        WorkflowStep(step_no=1, role="receiving_desk", name="Giải quyết", hours=8)
    ]
    async with offline_routing(database_url, tmp_path, clock) as svc:
        await svc.feed(received(code, workflow=one_step, limit="1wd"))
        await svc.act(code, "acknowledge", *DESK)
        await svc.act(code, "result", *DESK)
        await svc.feed(_postal(code, "accepted"))  # not yet: nothing happens
        assert (await svc.dossier(code))["status"] == 9
        await svc.feed(_postal(code, "delivered"))
        assert svc.offline is not None
        delivered = (await svc.offline.outbox(code))[-1]
        assert (delivered.event_type, delivered.data.method) == (
            "dossier.result_delivered",
            "post",
        )
        assert (await svc.dossier(code))["status"] == 10


async def test_a_malformed_record_is_dead_lettered_and_the_batch_goes_on(
    database_url: str, tmp_path: Path, clock: Clock, code_for: Any
) -> None:
    code = code_for(KIM_LONG_CENTRE)
    async with offline_routing(database_url, tmp_path, clock) as svc:
        assert svc.offline is not None
        good = svc.offline.record(received(code))
        poison = svc.offline.record(received(code_for(KIM_LONG_CENTRE, 1)))
        poison = replace(poison, value=b"{not json")
        await svc.offline.feed_records(poison, good)
        rows = await svc.offline.outbox_rows()
        dead = [r for r in rows if r.topic == dead_letter_topic("routing")]
        assert len(dead) == 1
        assert dead[0].headers[h.DLT_REASON] == "malformed"
        assert dead[0].headers[h.DLT_ORIGINAL_TOPIC] == DOSSIER_EVENTS
        assert (await svc.dossier(code))["status"] == 4


def _operator() -> dict[str, str]:
    return bearer("*", Role.OPERATOR)


def _postal(code: str, status: str) -> Any:
    return new_event(
        PostalStatusChangedV1(
            notification_id=uuid.uuid4(),
            channel=NotificationChannel.POST,
            template="dossier.result_recorded",
            waybill_code="EB123456789VN",
            postal_status=status,
        ),
        dossier_code=code,
        producer="notification",
        occurred_at=vn("2026-03-03 10:00"),
    )


async def test_a_batch_reads_its_dossiers_chains_in_one_statement(
    database_url: str, tmp_path: Path, clock: Clock, code_for: Any
) -> None:
    """The chain guard checks every chained record against its dossier's
    chain: a consumed batch loads those chains at once, not one by one."""
    codes = [code_for(KIM_LONG_CENTRE, n) for n in range(1, 5)]
    async with offline_routing(database_url, tmp_path, clock) as svc:
        chain_reads: list[str] = []

        def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.lstrip().upper().startswith("SELECT") and (
                "FROM signing_chain" in statement
            ):
                chain_reads.append(statement)

        engine = svc.app.state.runtime.engine.sync_engine
        sa.event.listen(engine, "before_cursor_execute", seen)
        try:
            await svc.feed(*(received(code) for code in codes))
        finally:
            sa.event.remove(engine, "before_cursor_execute", seen)
        for code in codes:
            assert await _types(svc, code) == [
                "dossier.routed",
                "dossier.handoff_offered",
            ]
        assert len(chain_reads) == 1, chain_reads


async def test_the_scheduler_raises_many_dossiers_alarms_in_a_fixed_number_of_statements(
    database_url: str, tmp_path: Path, clock: Clock, code_for: Any
) -> None:
    """A scan takes the due dossiers a chunk at a time: four dossiers cost the
    statements one does, and each alarm is still raised once."""
    codes = [code_for(KIM_LONG_CENTRE, n) for n in range(1, 6)]
    async with offline_routing(database_url, tmp_path, clock) as svc:
        statements: list[str] = []

        def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement)

        engine = svc.app.state.runtime.engine.sync_engine

        async def scan() -> tuple[int, int]:
            statements.clear()
            sa.event.listen(engine, "before_cursor_execute", seen)
            try:
                raised = await svc.scheduler.scan()
            finally:
                sa.event.remove(engine, "before_cursor_execute", seen)
            return raised, len(statements)

        await svc.feed(received(codes[0]))
        # unacknowledged past 4 working hours and past the desk step's due time
        clock.now = vn("2026-03-02 14:05")
        raised_one, cost_one = await scan()
        await svc.feed(*(received(code) for code in codes[1:]))
        raised_four, cost_four = await scan()
        assert raised_one > 0
        assert raised_four == 4 * raised_one
        assert cost_four == cost_one, statements
        alarms = sorted((await _types(svc, codes[0]))[2:])
        assert len(alarms) == raised_one
        for code in codes[1:]:
            assert sorted((await _types(svc, code))[2:]) == alarms
        raised_none, cost_none = await scan()  # nothing due: one look
        assert raised_none == 0
        assert cost_none < cost_one
