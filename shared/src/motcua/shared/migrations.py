"""Alembic plumbing shared by the services' migration folders.

Each service keeps its own ``migrations/`` (env.py + versions) and its own
version table; its env.py calls :func:`run_alembic_env` with the tables it
owns. The outbox and inbox tables are created by :func:`create_messaging_tables`
in each service's first revision.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from motcua.shared.db import UTCDateTime
from motcua.shared.messaging.tables import MESSAGING_TABLES
from motcua.shared.signing.tables import (
    SIGNING_TABLES,
    create_signing_tables,
    drop_signing_tables,
)


def run_alembic_env(service_tables: Collection[str]) -> None:
    """Body of a service's ``env.py`` (online mode only: we always have a DB)."""
    from alembic import context

    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"
    version_table = config.attributes.get("version_table", "alembic_version")
    owned = set(service_tables) | set(MESSAGING_TABLES) | set(SIGNING_TABLES)

    def include_name(name: str | None, type_: str, _parent: Any) -> bool:
        return type_ != "table" or name in owned

    def run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=SQLModel.metadata,
            include_name=include_name,
            version_table=version_table,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                await conn.run_sync(run)
                await conn.commit()
        finally:
            await engine.dispose()

    connection = config.attributes.get("connection")
    if connection is not None:  # called from a test with an open connection
        run(connection)
    else:
        asyncio.run(main())


def create_messaging_tables(op: Any) -> None:
    """Outbox and inbox, as in :mod:`motcua.shared.messaging.tables`."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Uuid(), nullable=False, unique=True),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("lease_token", sa.String(length=64), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["id"],
        sqlite_where=sa.text("published_at IS NULL"),
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(length=128), primary_key=True),
        sa.Column("message_id", sa.String(length=255), primary_key=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=False),
    )


def drop_messaging_tables(op: Any) -> None:
    op.drop_table("inbox")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("outbox")


__all__ = [
    "create_messaging_tables",
    "create_signing_tables",
    "drop_messaging_tables",
    "drop_signing_tables",
    "run_alembic_env",
]
