"""One instance at a time for work that must not run twice at once.

Some background work reads a shared queue and acts outside the database (the
outbox relay publishing in order, the portal's sender calling the national
portal in order per dossier). With several instances of a service on one
PostgreSQL database, each would read the same rows and act on them twice, or
out of order. The instance holding a session-level advisory lock does the work;
the lock lives as long as its connection, so a crashed leader frees it and
another instance takes over on its next round. On SQLite one process owns the
file, so it always leads.
"""

from __future__ import annotations

import contextlib
import zlib
from typing import Protocol

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = structlog.get_logger(__name__)


class Leadership(Protocol):
    async def acquire(self) -> bool:
        """True if this instance leads now (cheap when it already does)."""
        ...

    async def release(self) -> None: ...


class SingleProcessLeadership:
    """SQLite: one process owns the file, so it is always the leader."""

    async def acquire(self) -> bool:
        return True

    async def release(self) -> None:
        return None


class AdvisoryLockLeadership:
    """PostgreSQL: the instance holding ``pg_try_advisory_lock(key)`` leads."""

    def __init__(self, engine: AsyncEngine, lock_name: str) -> None:
        self._engine = engine
        self._lock_name = lock_name
        self._key = zlib.crc32(lock_name.encode())
        self._conn: AsyncConnection | None = None

    async def acquire(self) -> bool:
        if self._conn is not None:
            try:
                await self._conn.execute(sa.text("SELECT 1"))
                return True
            except sa.exc.DBAPIError:
                await self._drop()
        conn = await self._engine.connect()
        got = await conn.scalar(
            sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}
        )
        await conn.commit()
        if got:
            self._conn = conn
            log.info("leadership_acquired", lock=self._lock_name)
            return True
        await conn.close()
        return False

    async def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sa.exc.DBAPIError):
                await self._conn.execute(
                    sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self._key}
                )
            await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


def leadership(engine: AsyncEngine, lock_name: str) -> Leadership:
    """The leadership fitting the engine's database."""
    if engine.dialect.name == "sqlite":
        return SingleProcessLeadership()
    return AdvisoryLockLeadership(engine, lock_name)
