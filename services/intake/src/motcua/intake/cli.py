"""``motcua import dossiers FILE``: load history from a legacy system."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from motcua.intake.history import read_rows
from motcua.intake.importer import ImportReport, import_rows
from motcua.intake.settings import IntakeSettings

console = Console(stderr=True)


class FileFormat(StrEnum):
    AUTO = "auto"
    JSONL = "jsonl"
    CSV = "csv"


def register(root_app: typer.Typer, service_group: typer.Typer) -> None:  # noqa: ARG001
    """Add the ``import`` group to the root ``motcua`` command."""
    import_app = typer.Typer(
        help="Load history from legacy systems.", no_args_is_help=True
    )
    import_app.command("dossiers")(import_dossiers)
    root_app.add_typer(import_app, name="import")


def import_dossiers(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="JSON Lines or CSV.")
    ],
    file_format: Annotated[
        FileFormat,
        typer.Option("--format", help="auto: by extension (.csv, else JSON Lines)."),
    ] = FileFormat.AUTO,
    batch_size: Annotated[
        int, typer.Option(min=1, max=5000, help="Rows per transaction.")
    ] = 200,
) -> None:
    """Import dossiers with their original times, statuses and outcomes into
    intake's database (MOTCUA_INTAKE_DATABASE_URL, else the SQLite file in the
    data folder); the running intake service publishes their events. Rows that
    fail a check are listed with their line number; the others are loaded.
    Re-running the same file adds nothing. Exit code 1 if any row was rejected."""
    settings = IntakeSettings()
    total = sum(1 for _ in read_rows(file, file_format.value))
    with Progress(
        TextColumn("[bold]Nhập hồ sơ"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("import", total=total)
        report = asyncio.run(
            import_rows(
                settings,
                read_rows(file, file_format.value),
                batch_size=batch_size,
                on_row=lambda: progress.advance(task),
            )
        )
    _print_report(report)
    if report.rejected:
        raise typer.Exit(1)


def _print_report(report: ImportReport) -> None:
    if report.rejected:
        rejected = Table("dòng", "lý do", title="Dòng bị từ chối")
        for line, problems in report.rejected:
            rejected.add_row(str(line), "\n".join(problems))
        console.print(rejected)
    summary = Table("", "số lượng", title="Kết quả nhập")
    summary.add_row("Dòng đã đọc", str(report.read))
    summary.add_row("Hồ sơ đã nhập", str(report.loaded))
    summary.add_row("Đã có từ trước (bỏ qua)", str(report.already_present))
    summary.add_row("Dòng bị từ chối", str(len(report.rejected)))
    summary.add_row("Sự kiện ghi vào outbox", str(report.events))
    console.print(summary)
