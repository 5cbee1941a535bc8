"""Outbox rows exist if and only if the transaction (or savepoint) that queued
them commits, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib

import sqlalchemy as sa
from messaging_support import create_tables, withdrawal

from motcua.shared.db import create_engine, create_session_factory
from motcua.shared.messaging import add_event, add_raw
from motcua.shared.messaging.tables import OutboxRecord

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
