"""aiosqlite without its thread, for SQLite engines (adapter).

aiosqlite runs every call (execute, fetch, close the cursor, commit) on a
thread of its own and hands the result back through the event loop: measured
here, about 0.3 ms of CPU per statement for the hand-over, against some
0.05 ms for the statement itself through SQLAlchemy. SQLite answers from the
page cache in microseconds, so this connection runs each call on the event
loop's thread instead, and the engine keeps one connection per database
(:func:`motcua.shared.db.create_engine`).

A call must never wait for SQLite's lock on the loop's thread: whoever holds
the lock (another engine on the same file in this process, a test's second
app, a CLI run) might need the loop to let go of it. So the connection has
no busy handler (``timeout=0``): a call SQLite answers "database is locked"
is tried again after an ``asyncio.sleep`` (1 ms, doubling up to 50 ms), for
up to :data:`BUSY_TIMEOUT_S`, as SQLite's own handler would have, then the
error is raised. Only the lock's answer is retried, and SQLite leaves the
statement or the COMMIT undone when it gives it (the transactions begin
IMMEDIATE, so a write inside one never meets it).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import aiosqlite

BUSY_TIMEOUT_S = 30.0


class _Inline:
    """Stands in for aiosqlite's queue to its thread: runs the call now."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Any]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:
            if future is not None and not future.done():
                future.set_exception(exc)
            return
        if future is not None and not future.done():
            future.set_result(result)


def _locked(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    ) or "database is locked" in str(exc)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run on the caller's thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _Inline()  # type: ignore[assignment]

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            msg = "Connection closed"
            raise ValueError(msg)
        pause, deadline = 0.001, time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as exc:
                if not _locked(exc) or time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    def __await__(self) -> Any:  # no thread to start
        return self._connect().__await__()
