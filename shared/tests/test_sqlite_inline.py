"""SQLite's calls on the event loop's thread (motcua.shared.sqlite_inline):
a writer waiting for the lock lets the loop run, so the holder can finish."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from motcua.shared.db import create_engine, create_session_factory, read_only


async def test_two_engines_on_one_file_take_turns_without_blocking_the_loop(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    first, second = create_engine(url), create_engine(url)
    order: list[str] = []
    try:
        async with first.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (n INTEGER)"))
        holding = asyncio.Event()

        async def hold_the_lock() -> None:
            async with first.begin() as conn:
                await conn.execute(sa.text("INSERT INTO t VALUES (1)"))
                holding.set()
                await asyncio.sleep(0.2)  # the loop must keep turning meanwhile
                order.append("first commits")

        async def write_too() -> None:
            await holding.wait()
            async with second.begin() as conn:  # BEGIN IMMEDIATE waits here
                order.append("second begins")
                await conn.execute(sa.text("INSERT INTO t VALUES (2)"))

        await asyncio.wait_for(asyncio.gather(hold_the_lock(), write_too()), 10)
        async with second.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT n FROM t ORDER BY n"))).all()
    finally:
        await first.dispose()
        await second.dispose()
    assert order == ["first commits", "second begins"]
    assert [n for (n,) in rows] == [1, 2]


async def test_a_read_only_transaction_lets_another_engine_write(
    tmp_path: Path,
) -> None:
    """``read_only``: a deferred BEGIN, no write lock; an ordinary transaction
    (BEGIN IMMEDIATE) holds it until it ends, even when it only reads."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    reader, writer = create_engine(url), create_engine(url)
    sessions = create_session_factory(reader)
    try:
        async with writer.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (n INTEGER)"))

        async def write(n: int) -> None:
            async with writer.begin() as conn:
                await conn.execute(sa.text("INSERT INTO t VALUES (:n)"), {"n": n})

        async with sessions() as session:
            await read_only(session)
            await session.execute(sa.text("SELECT n FROM t"))
            await asyncio.wait_for(write(1), 5)  # not kept waiting by the reader
        async with sessions() as session:
            await session.execute(sa.text("SELECT n FROM t"))
            with pytest.raises(TimeoutError):  # the write lock is the reader's
                await asyncio.wait_for(write(2), 0.3)
        async with writer.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT n FROM t"))).all()
    finally:
        await reader.dispose()
        await writer.dispose()
    assert [n for (n,) in rows] == [1]
