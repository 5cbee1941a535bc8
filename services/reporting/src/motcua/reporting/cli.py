"""``motcua reporting …`` tasks (plugged in through ``ServiceDefinition.cli``)."""

from __future__ import annotations

import asyncio

import typer


def register(_root_app: typer.Typer, service_group: typer.Typer) -> None:
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
