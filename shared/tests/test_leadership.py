"""Leadership across instances on PostgreSQL, and telling a transaction the
database undid for a conflict from one that failed for what it holds."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from motcua.shared.db import create_engine, is_transaction_conflict
from motcua.shared.leadership import leadership
from motcua.shared.testing.databases import sqlite_url


@pytest.mark.postgres
async def test_one_instance_leads_and_another_takes_over_when_it_goes(
    postgres_database_url: str,
) -> None:
    engines = [create_engine(postgres_database_url) for _ in range(2)]
    try:
        first, second = (leadership(e, "motcua-test-role") for e in engines)
        assert await first.acquire()
        assert await first.acquire()  # still leading: no new lock asked
        assert not await second.acquire()
        other_role = leadership(engines[1], "motcua-test-other-role")
        assert await other_role.acquire()  # roles do not exclude each other
        await other_role.release()
        await first.release()
        assert await second.acquire()
        assert not await first.acquire()
        await second.release()
    finally:
        for engine in engines:
            await engine.dispose()


async def test_sqlite_is_one_process_so_it_always_leads(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path))
    try:
        assert await leadership(engine, "motcua-test-role").acquire()
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_deadlock_is_a_conflict_and_a_bad_statement_is_not(
    postgres_database_url: str,
) -> None:
    engine = create_engine(postgres_database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE pair (id int PRIMARY KEY, n int)"))
            await conn.execute(sa.text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
        both_locked_one = asyncio.Barrier(2)

        async def update(first: int, second: int) -> None:
            async with engine.begin() as conn:
                update = sa.text("UPDATE pair SET n = n + 1 WHERE id = :id")
                await conn.execute(update, {"id": first})
                await both_locked_one.wait()
                await conn.execute(update, {"id": second})

        outcomes = await asyncio.gather(
            update(1, 2), update(2, 1), return_exceptions=True
        )
        failed = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(failed) == 1, outcomes  # the database undid one of the two
        assert isinstance(failed[0], sa.exc.DBAPIError)
        assert is_transaction_conflict(failed[0])
        with pytest.raises(sa.exc.DBAPIError) as bad:
            async with engine.begin() as conn:
                await conn.execute(sa.text("INSERT INTO pair VALUES (1, 0)"))
        assert not is_transaction_conflict(bad.value)
    finally:
        await engine.dispose()
