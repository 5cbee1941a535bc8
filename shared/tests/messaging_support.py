"""A minimal service for messaging-core tests: outbox, inbox and one table of
applied events, wired exactly as the services wire them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer
from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import SQLModel

from motcua.shared.contracts import EventData, EventEnvelope, new_event
from motcua.shared.contracts.dossier import DossierWithdrawnV1
from motcua.shared.db import create_engine, create_session_factory
from motcua.shared.kafka import (
    create_broker,
    declare_topics,
    kafka_publisher,
    subscribe,
)
from motcua.shared.messaging import (
    EventConsumer,
    EventHandler,
    HandlerContext,
    OutboxRelay,
    add_event,
)
from motcua.shared.messaging.refusal import EventRefused
from motcua.shared.messaging.tables import (
    BrokerMark,
    InboxRecord,
    OutboxRecord,
    ParkedRecord,
)
from motcua.shared.settings import CommonSettings, KafkaSettings, SigningSettings
from motcua.shared.signing.guard import ChainGuard
from motcua.shared.signing.local import key_material
from motcua.shared.signing.tables import ChainRow

test_metadata = sa.MetaData()
applied = sa.Table(
    "applied_event",
    test_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("consumer", sa.String(64), nullable=False),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("dossier_code", sa.String(64), nullable=False),
)


async def create_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(
            lambda c: SQLModel.metadata.create_all(
                c,
                tables=[
                    OutboxRecord.__table__,  # type: ignore[attr-defined]
                    InboxRecord.__table__,  # type: ignore[attr-defined]
                    ParkedRecord.__table__,  # type: ignore[attr-defined]
                    BrokerMark.__table__,  # type: ignore[attr-defined]
                ],
            )
        )
        await conn.run_sync(test_metadata.create_all)


def withdrawal(
    dossier_code: str, reason: str = "", **kwargs: Any
) -> EventEnvelope[Any]:
    """A withdrawal as imported history (``imported``): unsigned, so these
    tests of the messaging core need no keystore (``test_signed_history``
    covers signed events through the same core)."""
    kwargs.setdefault("imported", True)
    return new_event(
        DossierWithdrawnV1(reason=reason),
        dossier_code=dossier_code,
        producer="test",
        **kwargs,
    )


async def write_events(
    sessions: async_sessionmaker[AsyncSession],
    topic: str,
    events: list[EventEnvelope[Any]],
) -> None:
    async with sessions() as session, session.begin():
        for event in events:
            add_event(session, event, topic=topic)


REFUSED_REASONS = {"poison"}
"""Withdrawal reasons the test handler refuses; a test "fixes the bug" by
removing one."""


async def recording_handler(
    ctx: HandlerContext, event: EventEnvelope[EventData]
) -> None:
    """Records each application; fails on withdrawals with a refused reason,
    and refuses (after writing, to prove the write is undone) a "forged" one."""
    if isinstance(event.data, DossierWithdrawnV1) and event.data.reason == "forged":
        await ctx.session.execute(
            applied.insert().values(
                consumer="test",
                event_id=str(event.event_id),
                dossier_code=event.dossier_code,
            )
        )
        raise EventRefused("illegal_transition", "the dossier is already closed")
    if (
        isinstance(event.data, DossierWithdrawnV1)
        and event.data.reason in REFUSED_REASONS
    ):
        msg = "this record can never be applied"
        raise ValueError(msg)
    await ctx.session.execute(
        applied.insert().values(
            consumer="test",
            event_id=str(event.event_id),
            dossier_code=event.dossier_code,
        )
    )


async def applied_counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(
            sa.select(applied.c.event_id, sa.func.count()).group_by(applied.c.event_id)
        )
        return {str(event_id): int(count) for event_id, count in rows.all()}


async def topic_size(settings: KafkaSettings, topic: str, idle_s: float = 1.0) -> int:
    """How many records the topic holds, counted by reading it all.

    (tansu's ListOffsets answers the last batch's base offset + 1, not the high
    watermark, so end offsets undercount batched topics.)
    """
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="earliest",
        group_id=None,
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    count = 0
    try:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while loop.time() - last < idle_s:
            batch = await consumer.getmany(timeout_ms=100)
            got = sum(len(r) for r in batch.values())
            if got:
                count += got
                last = loop.time()
    finally:
        await consumer.stop()
    return count


async def read_topic(
    settings: KafkaSettings, topic: str, expected: int, timeout_s: float = 10.0
) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="earliest",
        group_id=None,
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while len(records) < expected and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                records.extend(recs)
    finally:
        await consumer.stop()
    return records


@dataclass
class Harness:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    broker: KafkaBroker
    relay: OutboxRelay
    consumer: EventConsumer | None


@asynccontextmanager
async def harness(
    database_url: str,
    kafka_settings: KafkaSettings,
    *,
    topic: str,
    group_id: str | None = None,
    max_attempts: int = 3,
    create: bool = True,
    handles: list[type[EventData]] | None = None,
    guard: bool = False,
    handler: EventHandler = recording_handler,
) -> AsyncIterator[Harness]:
    """Relay (and optionally a consumer group on ``topic``) on a real broker;
    ``guard``: the consumer checks the chain as the services' do (the test
    session's keystore, under which unsigned events pass as legacy)."""
    engine = create_engine(database_url)
    if create:
        await create_tables(engine)
    chain_guard = None
    if guard:
        async with engine.begin() as conn:
            await conn.run_sync(
                lambda c: ChainRow.__table__.create(c, checkfirst=True)  # type: ignore[attr-defined]
            )
        keys = key_material(CommonSettings(), SigningSettings())
        chain_guard = ChainGuard(lambda: keys, SigningSettings())
    sessions = create_session_factory(engine)
    broker = create_broker(kafka_settings, client_id="test")
    relay = OutboxRelay(
        name=f"test-{uuid.uuid4().hex[:6]}",
        engine=engine,
        sessions=sessions,
        publish=kafka_publisher(broker),
        poll_interval_s=0.1,
    )
    consumer = None
    topics = [topic]
    if group_id:
        consumer = EventConsumer(
            group_id=group_id,
            topics=[topic],
            handler=handler,
            sessions=sessions,
            producer="test",
            max_attempts=max_attempts,
            retry_backoff_s=0.01,
            on_committed=relay.wake,
            handles=handles,
            guard=chain_guard,
        )
        subscribe(broker, consumer, kafka_settings, batch_size=100)
        topics.append(consumer.dead_letter_topic)
    await declare_topics(kafka_settings, topics)
    await broker.start()
    relay.start()
    try:
        if consumer is not None:
            await _wait_assigned(broker)
        yield Harness(engine, sessions, broker, relay, consumer)
    finally:
        await relay.stop()
        await broker.stop()
        await engine.dispose()


async def _wait_assigned(broker: KafkaBroker, timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        if all(
            getattr(s, "consumer", None) and s.consumer.assignment()
            for s in broker.subscribers
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("consumer group never got its partitions")
