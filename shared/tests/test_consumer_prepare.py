"""A handler's ``prepare`` hook sees the batch it is about to be called with,
once per batch applied in one pass; a batch redone record by record goes
without it and still applies every good record and dead-letters the bad
one; and records of types nobody here reads are acknowledged and counted
without being decoded (on SQLite and PostgreSQL, and over the real broker)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from aiokafka.structs import ConsumerRecord
from messaging_support import (
    applied,
    applied_counts,
    create_tables,
    harness,
    recording_handler,
    withdrawal,
    write_events,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from motcua.shared.contracts import EventData, EventEnvelope, new_event
from motcua.shared.contracts import headers as h
from motcua.shared.contracts.dossier import DossierRatedV1, DossierWithdrawnV1
from motcua.shared.db import create_engine, create_session_factory
from motcua.shared.messaging import ConsumedRecord, EventConsumer, HandlerContext
from motcua.shared.messaging.outbox import envelope_headers
from motcua.shared.messaging.tables import InboxRecord
from motcua.shared.metrics import ServiceMetrics
from motcua.shared.settings import KafkaSettings
from motcua.shared.testing.helpers import wait_for

CODE = "000.00.12.H14-260101-0001"
OTHER = "000.00.12.H14-260101-0002"


@dataclass
class Preparing:
    """``recording_handler`` with a ``prepare`` that notes what it saw, and
    which handler calls came after it in the same batch."""

    fail_prepare: bool = False
    batches: list[list[str]] = field(default_factory=list)
    calls: list[tuple[str, bool]] = field(default_factory=list)
    """(event id, whether a prepare of this session listed it first)."""

    async def prepare(
        self, session: AsyncSession, events: Sequence[EventEnvelope[EventData]]
    ) -> None:
        ids = [str(e.event_id) for e in events]
        self.batches.append(ids)
        session.info["prepared"] = set(ids)
        if self.fail_prepare:
            msg = "the read failed"
            raise ValueError(msg)

    async def __call__(self, ctx: HandlerContext, event: EventEnvelope[Any]) -> None:
        prepared = ctx.session.info.get("prepared", set())
        self.calls.append((str(event.event_id), str(event.event_id) in prepared))
        await recording_handler(ctx, event)


def record(event: EventEnvelope[Any], offset: int, **headers: str) -> ConsumedRecord:
    return ConsumedRecord(
        topic="t",
        partition=0,
        offset=offset,
        key=event.dossier_code,
        value=event.to_json(),
        headers={**envelope_headers(event), **headers},
    )


@asynccontextmanager
async def _tables(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The messaging tables in a fresh database, and sessions on it."""
    engine = create_engine(database_url)
    try:
        await create_tables(engine)
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def _statuses(sessions: Any) -> dict[str, str]:
    inbox = InboxRecord.__table__  # type: ignore[attr-defined]
    async with sessions() as session:
        rows = await session.execute(sa.select(inbox.c.message_id, inbox.c.status))
        return {r.message_id: r.status for r in rows}


async def test_prepare_sees_the_new_handled_events_of_a_batch_before_the_handler(
    database_url: str,
) -> None:
    async with _tables(database_url) as sessions:
        handler = Preparing()
        consumer = EventConsumer(
            group_id="g",
            topics=["t"],
            handler=handler,
            sessions=sessions,
            producer="test",
            handles=[DossierWithdrawnV1],
        )
        first, second, third = withdrawal(CODE), withdrawal(OTHER), withdrawal(CODE)
        rated = new_event(DossierRatedV1(score=4), dossier_code=CODE, producer="t")
        await consumer.apply_batch([record(first, 0)])
        # a duplicate, a type the handler does not handle, a repeat in the batch
        batch = [
            record(first, 1),
            record(second, 2),
            record(rated, 3),
            record(third, 4),
            record(second, 5),
        ]
        await consumer.apply_batch(batch)
        assert handler.batches == [
            [str(first.event_id)],
            [str(second.event_id), str(third.event_id)],
        ]
        assert handler.calls == [
            (str(first.event_id), True),
            (str(second.event_id), True),
            (str(third.event_id), True),
        ]
        assert await applied_counts(sessions) == {
            str(e.event_id): 1 for e in (first, second, third)
        }


@pytest.mark.parametrize("failing", ["handler", "prepare", "admission"])
async def test_a_batch_redone_record_by_record_goes_without_prepare(
    database_url: str, failing: str
) -> None:
    """A record whose handler fails (after ``prepare`` saw the batch), a
    ``prepare`` that fails, or a record refused before it: the batch is
    applied again record by record, without ``prepare``, every good record
    applied once and only the bad one dead-lettered."""
    async with _tables(database_url) as sessions:
        handler = Preparing(fail_prepare=failing == "prepare")
        consumer = EventConsumer(
            group_id="g",
            topics=["t"],
            handler=handler,
            sessions=sessions,
            producer="test",
            retry_backoff_s=0,
        )
        good = [withdrawal(CODE), withdrawal(OTHER), withdrawal(CODE)]
        batch = [record(e, n) for n, e in enumerate(good)]
        bad_id = None
        if failing == "handler":
            bad = withdrawal(OTHER, reason="poison")
            bad_id = str(bad.event_id)
            batch.insert(1, record(bad, 9))
        elif failing == "admission":
            bad_id = "not-an-event"
            batch.insert(
                1,
                ConsumedRecord(
                    topic="t",
                    partition=0,
                    offset=9,
                    key=CODE,
                    value=b'{"event_type": "dossier.withdrawn", "oops',
                    headers={h.EVENT_ID: bad_id, h.EVENT_TYPE: "dossier.withdrawn"},
                ),
            )
        await consumer.apply_batch(batch)
        assert len(handler.batches) == (0 if failing == "admission" else 1)
        ids = [str(e.event_id) for e in good]
        # record by record, no handler call relies on a prepare
        redone = [call for call in handler.calls if call[0] in ids][-len(ids) :]
        assert redone == [(i, False) for i in ids]
        assert await applied_counts(sessions) == dict.fromkeys(ids, 1)
        expected = dict.fromkeys(ids, "processed")
        if bad_id is not None:
            expected[bad_id] = "dead_lettered"
        assert await _statuses(sessions) == expected


class _Message:
    """What FastStream hands the batch subscriber (manual acks)."""

    def __init__(self, raw: list[ConsumerRecord[bytes, bytes]]) -> None:
        self.raw_message = raw
        self.acked = self.nacked = 0

    async def ack(self) -> None:
        self.acked += 1

    async def nack(self) -> None:
        self.nacked += 1


def _kafka_record(
    event: EventEnvelope[Any], offset: int, headers: list[tuple[str, bytes]]
) -> ConsumerRecord[bytes, bytes]:
    value = event.to_json()
    return ConsumerRecord(
        topic="t",
        partition=0,
        offset=offset,
        timestamp=1,
        timestamp_type=0,
        key=event.dossier_code.encode(),
        value=value,
        checksum=None,
        serialized_key_size=len(event.dossier_code),
        serialized_value_size=len(value),
        headers=headers,
    )


async def test_records_nobody_reads_are_acknowledged_and_counted_unread(
    sqlite_database_url: str,
) -> None:
    async with _tables(sqlite_database_url) as sessions:
        metrics = ServiceMetrics("test")
        consumer = EventConsumer(
            group_id="g",
            topics=["t"],
            handler=recording_handler,
            sessions=sessions,
            producer="test",
            metrics=metrics,
            handles=[DossierWithdrawnV1],
        )
        rated = new_event(DossierRatedV1(score=4), dossier_code=CODE, producer="t")
        kept = withdrawal(CODE)
        undecodable = [(h.EVENT_TYPE, b"dossier.rated"), ("x-garbage", b"\xff\xfe")]
        only_skipped = _Message([_kafka_record(rated, 0, undecodable)])
        await consumer.on_kafka_batch(only_skipped)
        assert (only_skipped.acked, only_skipped.nacked) == (1, 0)
        mixed = _Message(
            [
                _kafka_record(rated, 1, undecodable),
                _kafka_record(
                    kept,
                    2,
                    [(k, v.encode()) for k, v in envelope_headers(kept).items()],
                ),
            ]
        )
        await consumer.on_kafka_batch(mixed)
        assert (mixed.acked, mixed.nacked) == (1, 0)
        assert await applied_counts(sessions) == {str(kept.event_id): 1}
        registry = metrics.registry
        labels = {"consumer": "g", "event_type": "dossier.rated"}
        assert registry.get_sample_value("motcua_events_unhandled_total", labels) == 2
        assert (
            registry.get_sample_value(
                "motcua_consumed_records_total", {**labels, "outcome": "unhandled"}
            )
            == 2
        )
        assert (
            registry.get_sample_value(
                "motcua_consumed_records_total",
                {
                    "consumer": "g",
                    "event_type": "dossier.withdrawn",
                    "outcome": "applied",
                },
            )
            == 1
        )
        assert await _statuses(sessions) == {str(kept.event_id): "processed"}


@pytest.mark.broker
async def test_prepare_over_the_broker_sees_every_applied_event_once(
    database_url: str, kafka_settings: KafkaSettings, unique: str
) -> None:
    topic = f"t.prepare.{unique}"
    handler = Preparing()
    async with harness(
        database_url,
        kafka_settings,
        topic=topic,
        group_id=f"g-{unique}",
        handler=handler,
        handles=[DossierWithdrawnV1],
    ) as hx:
        rated = new_event(DossierRatedV1(score=4), dossier_code=CODE, producer="t")
        events = [withdrawal(CODE if n % 2 else OTHER) for n in range(12)]
        await write_events(hx.sessions, topic, [rated, *events[:6]])
        await write_events(hx.sessions, topic, events[6:])
        hx.relay.wake()

        async def all_applied() -> dict[str, int] | None:
            counts = await applied_counts(hx.sessions)
            return counts if len(counts) == len(events) else None

        counts = await wait_for(all_applied, message="every withdrawal applied")
        assert set(counts.values()) == {1}
        prepared = [i for batch in handler.batches for i in batch]
        assert sorted(prepared) == sorted(str(e.event_id) for e in events)
        assert all(seen for _, seen in handler.calls)
        async with hx.sessions() as session:
            rows = await session.scalar(sa.select(sa.func.count()).select_from(applied))
        assert rows == len(events)
