"""Outbox rows exist if and only if the transaction (or savepoint) that queued
them commits, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import sqlalchemy as sa
from messaging_support import create_tables, withdrawal

from motcua.shared.contracts import EventEnvelope
from motcua.shared.db import create_engine, create_session_factory
from motcua.shared.messaging import EventConsumer, HandlerContext, add_event, add_raw
from motcua.shared.messaging.consumer import ConsumedRecord
from motcua.shared.messaging.outbox import envelope_headers
from motcua.shared.messaging.tables import InboxRecord, OutboxRecord

OUTBOX = OutboxRecord.__table__  # type: ignore[attr-defined]


class RollBackError(Exception):
    """Raised to roll a transaction or savepoint back."""


async def _keys(sessions: sa.ext.asyncio.async_sessionmaker) -> list[str]:  # type: ignore[type-arg]
    async with sessions() as session:
        rows = await session.execute(sa.select(OUTBOX.c.key).order_by(OUTBOX.c.id))
        return [r.key for r in rows]


async def test_rows_follow_their_transaction_and_savepoints(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await create_tables(engine)
        sessions = create_session_factory(engine)

        with contextlib.suppress(RollBackError):
            async with sessions() as session, session.begin():
                add_event(session, withdrawal("rolled-back"), topic="t")
                raise RollBackError

        async with sessions() as session, session.begin():
            add_event(session, withdrawal("outer-1"), topic="t")
            with contextlib.suppress(RollBackError):
                async with session.begin_nested():
                    add_event(session, withdrawal("savepoint-rolled-back"), topic="t")
                    raise RollBackError
            async with session.begin_nested():
                add_raw(
                    session, topic="t", key="savepoint-kept", payload=b"{}", headers={}
                )
            with contextlib.suppress(RollBackError):
                async with session.begin_nested():
                    async with session.begin_nested():
                        add_event(session, withdrawal("inner-released"), topic="t")
                    raise RollBackError  # takes the released inner savepoint with it
            add_event(session, withdrawal("outer-2"), topic="t")

        async with sessions() as session:  # no explicit begin: autobegin, then commit
            add_event(session, withdrawal("autobegun"), topic="t")
            await session.commit()

        async with sessions() as session:  # closed without commit: abandoned
            add_event(session, withdrawal("abandoned"), topic="t")

        keys = await _keys(sessions)
        assert keys == ["outer-1", "savepoint-kept", "outer-2", "autobegun"]
        async with sessions() as session:
            row = (await session.execute(sa.select(OUTBOX).limit(1))).one()
        assert row.published_at is None
        assert row.attempts == 0
        assert row.created_at is not None
    finally:
        await engine.dispose()


async def test_a_row_refused_at_the_batch_flush_is_dead_lettered_alone(
    database_url: str,
) -> None:
    """Two records queue outbox rows with the same id: the unique key refuses
    the second only when the batch is written. The batch goes again record by
    record, so the first is applied and the second dead-lettered, instead of
    the whole batch failing for ever."""
    engine = create_engine(database_url)
    try:
        await create_tables(engine)
        sessions = create_session_factory(engine)
        same_id = uuid.uuid4()

        async def handler(ctx: HandlerContext, event: EventEnvelope[Any]) -> None:
            add_raw(
                ctx.session,
                topic="t.out",
                key=event.dossier_code,
                payload=b"{}",
                headers={},
                record_id=same_id,
            )

        consumer = EventConsumer(
            group_id="g",
            topics=["t"],
            handler=handler,
            sessions=sessions,
            producer="test",
            retry_backoff_s=0,
        )
        first, second = "000.00.12.H14-260101-0001", "000.00.12.H14-260101-0002"
        events = [withdrawal(first), withdrawal(second)]
        await consumer.apply_batch(
            [
                ConsumedRecord(
                    topic="t",
                    partition=0,
                    offset=n,
                    key=e.dossier_code,
                    value=e.to_json(),
                    headers=envelope_headers(e),
                )
                for n, e in enumerate(events)
            ]
        )
        inbox = InboxRecord.__table__  # type: ignore[attr-defined]
        async with sessions() as session:
            rows = await session.execute(sa.select(inbox.c.message_id, inbox.c.status))
            statuses = {r.message_id: r.status for r in rows}
            topics = (
                await session.execute(sa.select(OUTBOX.c.topic, OUTBOX.c.key))
            ).all()
        assert statuses == {
            str(events[0].event_id): "processed",
            str(events[1].event_id): "dead_lettered",
        }
        assert sorted(topics) == [("motcua.dlt.g", second), ("t.out", first)]
    finally:
        await engine.dispose()
