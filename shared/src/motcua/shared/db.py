"""Database factory: SQLModel over async SQLAlchemy, SQLite by default,
PostgreSQL by URL, and Alembic migrations per service.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import NullPool


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    SQLite drops tzinfo, so values are stored as naive UTC there and as
    ``timestamptz`` on PostgreSQL.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = "naive datetime given to a UTCDateTime column"
            raise ValueError(msg)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self,
        value: Any,
        dialect: Dialect,  # noqa: ARG002
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


def utcnow() -> datetime:
    return datetime.now(UTC)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    """An async engine tuned per backend.

    SQLite: WAL, ``BEGIN IMMEDIATE`` so that writers queue for the lock
    (waiting off the loop's thread, see :mod:`motcua.shared.sqlite_inline`)
    instead of failing with "database is locked", plus SAVEPOINT support (the
    pysqlite driver would otherwise manage transactions behind SQLAlchemy's back).
    """
    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection, its calls on the loop's thread (sqlite_inline).
        engine = _create_async_engine(
            url,
            echo=echo,
            pool_size=1,
            max_overflow=0,
            async_creator=_inline_connector(url),
        )
        _tune_sqlite(engine)
        return engine
    return _create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


class CommitWatch:
    """Whether anything was committed to a SQLite database since the last
    look, by any connection of any process: ``PRAGMA data_version`` on a
    connection of its own that never writes (some 10 µs, where a transaction
    that finds nothing to do costs a millisecond). For loops that poll the
    database for work others may have written (the outbox relay)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None
        self._seen: int | None = None

    def changed(self) -> bool:
        """True on the first look, after a commit, and whenever the answer
        is uncertain (the file cannot be read: look in the database)."""
        try:
            if self._connection is None:
                self._connection = sqlite3.connect(
                    self._path, timeout=0, isolation_level=None, check_same_thread=False
                )
            # fetchall: the statement runs to its end, so no read snapshot
            # stays open (one would keep WAL checkpoints from resetting the log)
            rows = self._connection.execute("PRAGMA data_version").fetchall()
            version = int(rows[0][0])
        except sqlite3.Error:
            self.close()
            return True
        changed = version != self._seen
        self._seen = version
        return changed

    def close(self) -> None:
        connection, self._connection, self._seen = self._connection, None, None
        if connection is not None:
            connection.close()


def commit_watch(engine: AsyncEngine) -> CommitWatch | None:
    """A :class:`CommitWatch` on the engine's SQLite file; None for PostgreSQL
    and in-memory SQLite (poll the database there)."""
    url = engine.url
    if url.get_backend_name() != "sqlite":
        return None
    path = url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return CommitWatch(path)


def _inline_connector(url: str) -> Any:
    """What the URL would have aiosqlite open, as an :class:`InlineConnection`."""
    from motcua.shared.sqlite_inline import InlineConnection

    parsed = sa.make_url(url)
    cargs, cparams = parsed.get_dialect()().create_connect_args(parsed)
    cparams = {**cparams, "timeout": 0}  # no busy handler: see sqlite_inline

    async def connect() -> InlineConnection:
        connection: InlineConnection = await InlineConnection(
            functools.partial(sqlite3.connect, *cargs, **cparams)
        )
        return connection

    return connect


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, emit BEGIN/SAVEPOINT.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(_READ_ONLY):
            connection.exec_driver_sql("BEGIN")  # deferred: no write lock
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


_READ_ONLY = "motcua_read_only"


async def read_only(session: AsyncSession) -> None:
    """Begin ``session``'s transaction for reading only (call it first): on
    SQLite a deferred ``BEGIN``, which takes no write lock, so a loop that
    only reads (a sender planning its round) never makes a writer of another
    process wait, nor waits for one; elsewhere an ordinary transaction."""
    await session.connection(execution_options={_READ_ONLY: True})


def count_statements(engine: AsyncEngine, counter: Any) -> None:
    """Count every statement the engine sends (``counter.inc()``)."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _on_execute(*_args: Any) -> None:
        counter.inc()


def create_session_factory(
    engine: AsyncEngine, *, info: dict[str, Any] | None = None
) -> async_sessionmaker[AsyncSession]:
    """``info`` is copied into every session's ``info`` (what a unit of work
    needs besides the connection, e.g. the signing keys)."""
    return async_sessionmaker(engine, expire_on_commit=False, info=info)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits on success, rolls back on any error."""
    async with sessions() as session, session.begin():
        yield session


_CONFLICT_STATES = frozenset({"40P01", "40001"})
"""PostgreSQL's deadlock_detected and serialization_failure: the database
chose this transaction to undo; the same transaction again may well pass."""


def is_transaction_conflict(exc: BaseException) -> bool:
    """The database undid this transaction for a conflict with another one
    (not for anything in it): worth running again."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) in _CONFLICT_STATES


async def insert_ignoring_duplicates(
    session: AsyncSession, table: sa.Table, values: dict[str, Any]
) -> bool:
    """INSERT … ON CONFLICT DO NOTHING (PostgreSQL and SQLite); True if the row
    was inserted."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = await session.execute(
        insert(table).values(**values).on_conflict_do_nothing()
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))


def alembic_config(script_location: Path, url: str, version_table: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["version_table"] = version_table
    return cfg


async def migrate(script_location: Path, url: str, *, version_table: str) -> None:
    """Bring a service's database to the newest Alembic revision.

    On PostgreSQL an advisory lock makes instances that start together take
    turns: the first upgrades, the others find nothing left to do.
    """
    from alembic import command

    cfg = alembic_config(script_location, url, version_table)
    if is_sqlite(url):
        # Alembic's env.py runs its own event loop for the async engine.
        await asyncio.to_thread(command.upgrade, cfg, "head")
        return
    engine = _create_async_engine(url, poolclass=NullPool)
    key = zlib.crc32(f"motcua-migrate:{version_table}".encode())
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                await asyncio.to_thread(command.upgrade, cfg, "head")
            finally:
                await conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    finally:
        await engine.dispose()


async def schema_revisions(
    script_location: Path, url: str, *, version_table: str
) -> tuple[str | None, str | None]:
    """(revision the database is at, newest revision shipped); None: no revision."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(
        alembic_config(script_location, url, version_table)
    ).get_current_head()
    engine = _create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            current = await conn.run_sync(
                lambda sync: MigrationContext.configure(
                    sync, opts={"version_table": version_table}
                ).get_current_revision()
            )
    finally:
        await engine.dispose()
    return current, head
