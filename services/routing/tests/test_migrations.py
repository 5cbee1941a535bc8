"""The Alembic revisions build exactly the tables the code declares."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from motcua.routing.app import MIGRATIONS
from motcua.routing.tables import ROUTING_TABLES
from motcua.shared.db import create_engine, migrate


async def test_migrations_match_the_tables(database_url: str) -> None:
    await migrate(MIGRATIONS, database_url, version_table="alembic_version_routing")
    engine = create_engine(database_url)

    def differences(connection: Any) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_name": lambda name, kind, _parent: (
                    kind != "table" or name in ROUTING_TABLES
                ),
                "include_object": lambda obj, name, kind, _reflected, _other: (
                    kind != "table" or name in ROUTING_TABLES
                ),
            },
        )
        return list(compare_metadata(context, SQLModel.metadata))

    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(differences)
    finally:
        await engine.dispose()
    assert diff == []
