"""The outbox relay finds rows nobody woke it for (written by another
connection or process), on SQLite and PostgreSQL; idle on SQLite, its polls
look at the file's commit counter, not into the database."""

from __future__ import annotations

import asyncio
from typing import Any

from messaging_support import create_tables, withdrawal

from motcua.shared.db import count_statements, create_engine, create_session_factory
from motcua.shared.messaging import add_event
from motcua.shared.messaging.relay import OutboxRelay
from motcua.shared.testing.helpers import wait_for


class _Counter:
    def __init__(self) -> None:
        self.value = 0

    def inc(self) -> None:
        self.value += 1


class _Broker:
    """Takes every record at once (the relay's ``publish``)."""

    def __init__(self) -> None:
        self.keys: list[bytes | None] = []

    async def publish(
        self, _topic: str, key: bytes | None, _value: bytes, _headers: dict[str, str]
    ) -> asyncio.Future[Any]:
        self.keys.append(key)
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def test_rows_another_connection_commits_are_published_without_a_wake(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    writer = create_engine(database_url)  # as another process would
    await create_tables(engine)
    statements = _Counter()
    count_statements(engine, statements)
    broker = _Broker()
    relay = OutboxRelay(
        name="polling",
        engine=engine,
        sessions=create_session_factory(engine),
        publish=broker.publish,
        poll_interval_s=0.05,
        full_round_every_s=3600,
    )
    relay.start()
    try:
        writes = create_session_factory(writer)
        for n in range(3):
            async with writes() as session, session.begin():
                add_event(session, withdrawal(f"elsewhere-{n}"), topic="t")
            await wait_for(
                lambda n=n: _async(len(broker.keys) == n + 1),
                message=f"row {n} published",
            )
        assert broker.keys == [f"elsewhere-{n}".encode() for n in range(3)]
        if engine.url.get_backend_name() == "sqlite":
            settled = await _quiet(statements)  # its last rounds are done
            await asyncio.sleep(0.5)  # some ten polls with nothing committed
            assert statements.value == settled  # none of them went into the database
            async with writes() as session, session.begin():
                add_event(session, withdrawal("later"), topic="t")
            await wait_for(lambda: _async(len(broker.keys) == 4), message="published")
    finally:
        await relay.stop()
        await writer.dispose()
        await engine.dispose()


async def _async(value: bool) -> bool:
    return value


async def _quiet(statements: _Counter) -> int:
    """The statement count once it stayed put for a few polls."""
    seen = [-1]

    async def unchanged() -> bool:
        before, seen[0] = seen[0], statements.value
        return before == statements.value

    await wait_for(unchanged, interval_s=0.3, message="the relay settles")
    return statements.value
