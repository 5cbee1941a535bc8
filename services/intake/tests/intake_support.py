"""Helpers for intake's tests (a module name no other test folder uses):
request bodies, the running-service handle, reading what intake published and
writing what routing would publish."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from motcua.intake.repository import raise_sequence
from motcua.intake.settings import IntakeSettings
from motcua.shared.contracts import VN_TZ, EventData, new_event, now_vn
from motcua.shared.contracts import headers as h
from motcua.shared.contracts.topics import DOSSIER_EVENTS
from motcua.shared.messaging.tables import OutboxRecord
from motcua.shared.settings import CommonSettings, KafkaSettings
from motcua.shared.testing.offline import OfflineService
from motcua.shared.testing.signing import test_chains

DESK = "000.01.31.H14"  # Trung tâm Phục vụ hành chính công xã Kim Long
OTHER_DESK = "000.01.32.H14"  # xã Xuân Quang


def vn(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN_TZ)


def applicant(**overrides: object) -> dict[str, object]:
    person: dict[str, object] = {
        "full_name": "Nguyễn Thị Lan",
        "id_number": "001190012345",
        "phone": "0912 345 678",
        "email": "lan@example.vn",
        "address": "Thôn 3, xã Kim Long",
    }
    person.update(overrides)
    return person


def dossier(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "procedure_code": "1.001193",
        "receiving_agency_code": DESK,
        "channel": "direct",
        "applicant": applicant(),
    }
    body.update(overrides)
    return body


def filing(code: str, **overrides: object) -> dict[str, object]:
    """A filing as the portal service posts it (its code kept, ADR 0015)."""
    body: dict[str, object] = {
        "dossier_code": code,
        "submitted_at": now_vn().isoformat(),
        "procedure_code": "1.001193",
        "receiving_agency_code": DESK,
        "applicant": applicant(),
        "summary": "Đăng ký khai sinh cho con",
    }
    body.update(overrides)
    return body


@dataclass
class Intake:
    app: FastAPI
    client: httpx.AsyncClient
    settings: IntakeSettings
    offline: OfflineService | None = None
    """Set when it runs without a broker: feed it routing's events."""

    def portal_code(self) -> str:
        """A code as the portal would give it, today, from the top of this
        app's block (its counter climbs from the bottom: see spread_codes)."""
        number = next(self.app.state.portal_codes)
        return f"{DESK}-{now_vn():%y%m%d}-{number:04d}"

    def set_clock(self, moment: datetime) -> None:
        self.app.state.intake.clock = lambda: moment

    async def feed_as_routing(self, dossier_code: str, data: EventData) -> None:
        """Apply an event as routing would publish it, signed and linked after
        intake's own events (offline only)."""
        assert self.offline is not None
        event = new_event(data, dossier_code=dossier_code, producer="routing")
        known = await outbox_bodies(self.app.state.runtime.sessions, dossier_code)
        body = test_chains().body(event, known=known)
        await self.offline.feed_records(self.offline.record(event, body=body))


def intake_settings(
    database_url: str, kafka: KafkaSettings, data_dir: Path, group: str
) -> IntakeSettings:
    return IntakeSettings(
        database_url=database_url,
        kafka=kafka,
        common=CommonSettings(data_dir=data_dir, environment="test"),
        consumer_group=group,
        relay_poll_interval_s=0.2,
    )


# -- dossier codes -------------------------------------------------------------

_CODE_BLOCKS = itertools.count(1)
CODE_BLOCK = 150


async def spread_codes(app: FastAPI, *, days: int = 3) -> None:
    """Start this app's dossier codes in a block of its own.

    Every test database starts its daily counters at 1, but all tests share
    one topic, and a dossier code names one chain of signed events: two test
    systems issuing the same code would write two histories for one dossier,
    which consumers rightly refuse (ADR 0012). Production codes are unique.
    """
    floor = next(_CODE_BLOCKS) * CODE_BLOCK
    app.state.portal_codes = iter(range(floor + CODE_BLOCK, floor, -1))
    runtime = app.state.runtime
    registry = app.state.intake.registry
    desks = [a.code for a in registry if a.has_type("one_stop_centre")]
    today = now_vn().date()
    async with runtime.transaction() as session:
        for offset in range(-1, days):
            for desk in desks:
                await raise_sequence(
                    session, desk, today + timedelta(days=offset), floor
                )


# -- events ------------------------------------------------------------------


async def outbox_bodies(
    sessions: async_sessionmaker[AsyncSession], dossier_code: str | None = None
) -> list[bytes]:
    """Record bodies intake queued, oldest first (its events, not the dead
    letters of records it refused: the session's topic carries other tests'
    codes)."""
    t = OutboxRecord.__table__  # type: ignore[attr-defined]
    query = (
        sa.select(t.c.payload)
        .where(~t.c.topic.startswith("motcua.dlt."))
        .order_by(t.c.id)
    )
    if dossier_code is not None:
        query = query.where(t.c.key == dossier_code)
    async with sessions() as session:
        return [bytes(p) for p in (await session.execute(query)).scalars().all()]


async def outbox_events(
    sessions: async_sessionmaker[AsyncSession], dossier_code: str | None = None
) -> list[dict[str, Any]]:
    """Envelopes intake queued, oldest first."""
    return [json.loads(b) for b in await outbox_bodies(sessions, dossier_code)]


async def published(
    kafka: KafkaSettings,
    event_ids: set[str],
    *,
    topic: str = DOSSIER_EVENTS,
    timeout_s: float = 30.0,
) -> dict[str, dict[str, Any]]:
    """The records with these event ids on the topic (read from the start);
    fails if they are not all there within the timeout."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap_servers,
        auto_offset_reset="earliest",
        group_id=None,
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    found: dict[str, dict[str, Any]] = {}
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while set(found) < event_ids and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    headers = {k: v.decode() for k, v in record.headers or ()}
                    if headers.get(h.EVENT_ID) in event_ids:
                        found[headers[h.EVENT_ID]] = json.loads(record.value)
    finally:
        await consumer.stop()
    missing = event_ids - set(found)
    assert not missing, f"not published within {timeout_s} s: {missing}"
    return found


async def publish_as_routing(
    kafka: KafkaSettings,
    dossier_code: str,
    data: EventData,
    *,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    agency_code: str | None = None,
) -> uuid.UUID:
    """Publish an event as routing's relay would: signed by the agency entitled
    to the act and linked after intake's own events (read from ``sessions``,
    intake's database) and those this test published before."""
    event = new_event(
        data, dossier_code=dossier_code, producer="routing", agency_code=agency_code
    )
    known = await outbox_bodies(sessions, dossier_code) if sessions is not None else []
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            DOSSIER_EVENTS,
            test_chains().body(event, known=known),
            key=dossier_code.encode(),
            headers=[
                (h.EVENT_ID, str(event.event_id).encode()),
                (h.EVENT_TYPE, event.event_type.encode()),
            ],
        )
    finally:
        await producer.stop()
    return event.event_id
