"""``motcua`` tasks of routing: its database as a store ``motcua verify`` reads
(``--source routing``: the dossier event log, every legal act as signed)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import sqlalchemy as sa
import typer
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


async def _with_session(read: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from motcua.routing.settings import RoutingSettings
    from motcua.shared.db import create_engine, create_session_factory

    engine = create_engine(RoutingSettings().resolved_database_url)
    try:
        async with create_session_factory(engine)() as session:
            return await read(session)
    finally:
        await engine.dispose()


async def _history(session: AsyncSession, code: str) -> list[bytes]:
    from motcua.routing.tables import DossierEventRow
    from motcua.shared.signing.verifier import chain_sorted

    t = DossierEventRow.__table__  # type: ignore[attr-defined]
    rows = await session.execute(
        sa.select(t.c.envelope).where(t.c.dossier_code == code)
    )
    return chain_sorted([str(b).encode() for b in rows.scalars()])


async def _digests(session: AsyncSession) -> dict[str, set[str]]:
    from motcua.routing.tables import DossierEventRow
    from motcua.shared.signing.canonical import split_body

    t = DossierEventRow.__table__  # type: ignore[attr-defined]
    found: dict[str, set[str]] = {}
    for code, body in await session.execute(sa.select(t.c.dossier_code, t.c.envelope)):
        try:
            found.setdefault(code, set()).add(split_body(str(body).encode()).digest)
        except ValueError:
            continue
    return found


def register(_root_app: typer.Typer, _service_group: typer.Typer) -> None:
    from motcua.shared.cli.verify import HistoryStore, register_store

    async def history(code: str) -> list[bytes]:
        return await _with_session(lambda s: _history(s, code))

    async def digests() -> dict[str, set[str]]:
        return await _with_session(_digests)

    register_store(HistoryStore("routing", history, digests))


__all__: list[Any] = ["register"]
