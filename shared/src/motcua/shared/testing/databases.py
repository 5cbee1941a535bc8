"""Throw-away databases for tests: a SQLite file, or a fresh PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

POSTGRES_ENV = "MOTCUA_TEST_POSTGRES_URL"


def postgres_admin_url() -> str | None:
    """``MOTCUA_TEST_POSTGRES_URL`` as a plain libpq URL, or None when unset."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        return None
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _with_database(url: str, name: str, *, driver: str = "postgresql+asyncpg") -> str:
    parts = urlsplit(url)
    return urlunsplit((driver, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def check_postgres(admin_url: str) -> None:
    conn = await asyncpg.connect(admin_url, timeout=5)
    await conn.close()


@asynccontextmanager
async def fresh_postgres_database(
    admin_url: str, prefix: str = "motcua_t"
) -> AsyncIterator[str]:
    """Create an empty database, yield its SQLAlchemy async URL, drop it after."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield _with_database(admin_url, name)
    finally:
        conn = await asyncpg.connect(admin_url, timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


def sqlite_url(folder: Path, name: str = "test") -> str:
    return f"sqlite+aiosqlite:///{(folder / f'{name}.db').resolve()}"
