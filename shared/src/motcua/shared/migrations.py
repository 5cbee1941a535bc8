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


def create_parking_and_marks(op: Any) -> None:
    """The parked records and the outbox's broker marks (second revision of
    the messaging tables, see :mod:`motcua.shared.messaging.tables`)."""
    op.create_table(
        "parked_record",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("consumer", sa.String(length=128), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("dossier_code", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=True),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("parked_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("consumer", "message_id", name="uq_parked_record"),
    )
    op.create_index("ix_parked_record_dossier_code", "parked_record", ["dossier_code"])
    op.create_index("ix_parked_record_parked_at", "parked_record", ["parked_at"])
    op.create_table(
        "outbox_broker_mark",
        sa.Column("topic", sa.String(length=255), primary_key=True),
        sa.Column("partition", sa.Integer(), primary_key=True),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("cluster_id", sa.String(length=128), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def move_parked_events(op: Any, table: str, consumer: str) -> None:
    """Rows of a service's former parked-events table (event JSON, before the
    shared parking lot) into ``parked_record`` as records of ``consumer`` (the
    default consumer group: a deployment with another group name re-parks
    nothing it cannot find; such events then stay unapplied, as before)."""
    import json

    from motcua.shared.contracts.topics import DOSSIER_EVENTS, NOTIFICATION_EVENTS

    bind = op.get_bind()
    columns = {c["name"] for c in sa.inspect(bind).get_columns(table)}
    trace = ", traceparent" if "traceparent" in columns else ""
    rows = bind.execute(
        sa.text(
            f"SELECT event_id, dossier_code, payload, parked_at{trace} FROM {table}"
        )
    ).all()
    target = sa.table(
        "parked_record",
        *(
            sa.column(c)
            for c in (
                "consumer",
                "message_id",
                "dossier_code",
                "topic",
                "partition",
                "offset",
                "key",
                "value",
                "headers",
                "timestamp_ms",
                "parked_at",
            )
        ),
    )
    moved = []
    for row in rows:
        payload = bytes(row.payload)
        body = json.loads(payload)
        event_type = str(body.get("event_type", ""))
        headers = {
            "event-id": str(row.event_id),
            "event-type": event_type,
            "schema-version": str(body.get("schema_version", "")),
            "producer": str(body.get("producer", "")),
        }
        if trace and row.traceparent:
            headers["traceparent"] = row.traceparent
        moved.append(
            {
                "consumer": consumer,
                "message_id": str(row.event_id),
                "dossier_code": row.dossier_code,
                "topic": NOTIFICATION_EVENTS
                if event_type.startswith("notification.")
                else DOSSIER_EVENTS,
                "partition": -1,
                "offset": -1,
                "key": row.dossier_code,
                "value": payload,
                "headers": headers,
                "timestamp_ms": 0,
                "parked_at": row.parked_at,
            }
        )
    if moved:
        op.bulk_insert(target, moved)


def drop_parking_and_marks(op: Any) -> None:
    op.drop_table("outbox_broker_mark")
    op.drop_index("ix_parked_record_parked_at", table_name="parked_record")
    op.drop_index("ix_parked_record_dossier_code", table_name="parked_record")
    op.drop_table("parked_record")


def drop_messaging_tables(op: Any) -> None:
    op.drop_table("inbox")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("outbox")


__all__ = [
    "create_messaging_tables",
    "create_parking_and_marks",
    "create_signing_tables",
    "drop_messaging_tables",
    "drop_parking_and_marks",
    "drop_signing_tables",
    "move_parked_events",
    "run_alembic_env",
]
