"""SQLite's write-ahead log is copied into the database file by a
checkpointer on a thread of its own (motcua.shared.db.Checkpointer), not by
the commit that fills it on the event loop's thread."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from motcua.shared.db import background_checkpoints, create_engine

PAGE_FILLER = "x" * 3000  # about a page per row


async def _write_rows(engine: AsyncEngine, rows: int) -> None:
    for n in range(rows):
        async with engine.begin() as conn:  # a commit each, as services do
            await conn.execute(
                sa.text("INSERT INTO t (n, filler) VALUES (:n, :f)"),
                {"n": n, "f": PAGE_FILLER},
            )


async def test_commits_leave_the_log_to_the_checkpointer(tmp_path: Path) -> None:
    path = tmp_path / "service.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    checkpointer = background_checkpoints(engine)
    assert checkpointer is not None
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (n INTEGER, filler TEXT)"))
        await _write_rows(engine, 1500)  # past the 1,000 pages SQLite checkpoints at
        busy, frames, copied = await asyncio.to_thread(checkpointer.checkpoint)
        # no commit copied the log: it holds every page written since it began
        assert busy == 0
        assert frames > 1500
        assert copied == frames
        await _write_rows(engine, 10)  # the copied log starts over
        busy, frames, copied = await asyncio.to_thread(checkpointer.checkpoint)
        assert frames < 100
        async with engine.connect() as conn:
            count = await conn.scalar(sa.text("SELECT count(*) FROM t"))
        assert count == 1510
    finally:
        checkpointer.close()
        await engine.dispose()
    with sqlite3.connect(path) as plain:  # all of it reached the file
        assert plain.execute("SELECT count(*) FROM t").fetchone() == (1510,)


async def test_the_checkpointer_runs_until_cancelled_and_lets_go_of_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "service.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    checkpointer = background_checkpoints(engine, interval_s=0.01)
    assert checkpointer is not None
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (n INTEGER, filler TEXT)"))
        task = asyncio.create_task(checkpointer.run())
        await _write_rows(engine, 50)
        for _ in range(500):  # until a round has opened its connection
            if checkpointer._connection is not None:
                break
            await asyncio.sleep(0.01)
        assert checkpointer._connection is not None
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled()
        assert checkpointer._connection is None
    finally:
        await engine.dispose()


def test_postgresql_and_memory_keep_sqlites_own_checkpoints() -> None:
    memory = create_async_engine("sqlite+aiosqlite://")
    assert background_checkpoints(memory) is None
    postgres = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1/test")
    assert background_checkpoints(postgres) is None
