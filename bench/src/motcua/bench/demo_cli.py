"""The ``motcua demo`` command."""

from __future__ import annotations

import asyncio
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()


class PeriodKind(StrEnum):
    QUARTER = "quarter"
    MONTH = "month"


def register(root: typer.Typer) -> None:
    @root.command()
    def demo(
        intake_url: Annotated[str, typer.Option(help="Intake's URL.")] = (
            "http://127.0.0.1:8001"
        ),
        routing_url: Annotated[str, typer.Option(help="Routing's URL.")] = (
            "http://127.0.0.1:8002"
        ),
        reporting_url: Annotated[str, typer.Option(help="Reporting's URL.")] = (
            "http://127.0.0.1:8004"
        ),
        history: Annotated[
            int, typer.Option(min=0, help="Dossiers in the legacy history file.")
        ] = 300,
        today: Annotated[
            int, typer.Option(min=0, help="Dossiers received today through the API.")
        ] = 120,
        seed: Annotated[
            int | None, typer.Option(help="Seed of every random choice.")
        ] = None,
        out: Annotated[
            Path, typer.Option(help="Where the history file and the result go.")
        ] = Path("var/demo"),
        period: Annotated[
            PeriodKind,
            typer.Option(help="The official period containing today."),
        ] = PeriodKind.QUARTER,
        first_day: Annotated[
            str | None, typer.Option("--from", help="First day (YYYY-MM-DD).")
        ] = None,
        last_day: Annotated[
            str | None, typer.Option("--to", help="Last day (YYYY-MM-DD).")
        ] = None,
        wait: Annotated[
            float, typer.Option(help="Seconds to wait for reporting to catch up.")
        ] = 180.0,
    ) -> None:
        """Import a generated history and drive a day of traffic through the
        running system (./motcua up), then compare Biểu 06 for the period with
        an independent count of the same dossiers. Exit code 1 on a difference."""
        from motcua.bench.demo_run import DemoConfig, run_demo

        config = DemoConfig(
            intake_url=intake_url.rstrip("/"),
            routing_url=routing_url.rstrip("/"),
            reporting_url=reporting_url.rstrip("/"),
            history=history,
            today=today,
            seed=seed,
            out=out,
            period=period.value,
            first_day=date.fromisoformat(first_day) if first_day else None,
            last_day=date.fromisoformat(last_day) if last_day else None,
            wait_s=wait,
        )
        result = asyncio.run(run_demo(config))
        table = Table(
            "Cột",
            "Đếm độc lập",
            "Biểu 06",
            "Khớp",
            title=f"Biểu 06, {result.first_day:%d/%m/%Y}–{result.last_day:%d/%m/%Y}"
            " (hồ sơ của lần chạy này)",
        )
        for row in result.comparison:
            table.add_row(
                row.label,
                str(row.expected),
                "–" if row.reported is None else str(row.reported),
                "[green]✓[/]" if row.ok else "[red]✗[/]",
            )
        table.add_row(
            "(3) = (7) + (11)",
            "",
            "",
            "[green]✓[/]" if result.invariant_ok else "[red]✗[/]",
        )
        console.print(table)
        plans = ", ".join(f"{k} {v}" for k, v in sorted(result.plans.items()))
        console.print(f"Hồ sơ hôm nay theo kịch bản: {plans}")
        console.print(f"Cơ quan so sánh: {', '.join(result.agencies)}")
        for error in result.errors[:10]:
            console.print(f"[yellow]{error}[/]")
        console.print(
            "Bảng điều khiển (luồng sự kiện, độ trễ):\n" + result.console_url,
            soft_wrap=True,
        )
        if not result.ok:
            raise typer.Exit(1)
