"""``motcua reporting …`` tasks (plugged in through ``ServiceDefinition.cli``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


def _register_store() -> None:
    """Reporting's database for ``motcua verify`` (every dossier's legal acts,
    and the checkpoints)."""
    from motcua.shared.cli.keys import SEALERS
    from motcua.shared.cli.verify import HistoryStore, register_store

    async def with_session(read: Callable[[AsyncSession], Awaitable[T]]) -> T:
        from motcua.reporting.settings import ReportingSettings
        from motcua.shared.db import create_engine, create_session_factory

        engine = create_engine(ReportingSettings().resolved_database_url)
        try:
            async with create_session_factory(engine)() as session:
                return await read(session)
        finally:
            await engine.dispose()

    async def history(code: str) -> list[bytes]:
        from motcua.reporting.verification import signed_history

        return await with_session(lambda s: signed_history(s, code))

    async def digests() -> dict[str, set[str]]:
        from motcua.reporting.verification import all_digests

        return await with_session(all_digests)

    async def checkpoints() -> list[dict[str, Any]]:
        from motcua.reporting.verification import load_checkpoints

        return await with_session(load_checkpoints)

    register_store(HistoryStore("reporting", history, digests), checkpoints)

    async def seal(dossier: str | None) -> list[tuple[str, int]]:
        from motcua.reporting.settings import ReportingSettings
        from motcua.reporting.verification import seal_legacy
        from motcua.shared.db import create_engine, create_session_factory
        from motcua.shared.signing.local import key_material
        from motcua.shared.signing.store import SIGNER

        settings = ReportingSettings()
        keys = key_material(settings.common, settings.signing)
        engine = create_engine(settings.resolved_database_url)
        try:
            sessions = create_session_factory(engine, info={SIGNER: lambda: keys})
            return await seal_legacy(sessions, dossier)
        finally:
            await engine.dispose()

    SEALERS.append(seal)


def register(_root_app: typer.Typer, service_group: typer.Typer) -> None:
    _register_store()

    @service_group.command("rebuild")
    def rebuild_command(
        batch_size: int = typer.Option(1000, help="Records applied per transaction."),
    ) -> None:
        """Rebuild the read model: replay both topics from the beginning into
        emptied tables (stop the reporting service first)."""
        from motcua.reporting.rebuild import GroupStillRunningError, rebuild
        from motcua.reporting.settings import ReportingSettings

        def progress(n: int) -> None:
            if n % 50_000 < batch_size:
                typer.echo(f"… {n} records replayed", err=True)

        try:
            result = asyncio.run(
                rebuild(
                    ReportingSettings(), batch_size=batch_size, on_progress=progress
                )
            )
        except GroupStillRunningError as exc:
            typer.echo(f"Refused: {exc}", err=True)
            raise typer.Exit(1) from exc
        for topic, n in sorted(result.per_topic.items()):
            typer.echo(f"{topic}: {n} records")
        typer.echo(f"Rebuilt the reporting read model from {result.records} records.")
