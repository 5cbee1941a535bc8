"""The ``motcua chaos`` command."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()

EXPERIMENTS = ("load", "kill", "freeze", "restart", "poison", "lookup", "personal-data")


def register(root: typer.Typer) -> None:
    @root.command()
    def chaos(
        data_dir: Annotated[
            Path,
            typer.Option(help="Data folder of the running `motcua up` to work on."),
        ] = Path("var"),
        start: Annotated[
            bool,
            typer.Option(
                help="Start a system of its own (free ports, a fresh data folder "
                "under var/chaos-…) instead of using a running one."
            ),
        ] = False,
        short: Annotated[
            bool, typer.Option(help="A short run: less load, shorter faults.")
        ] = False,
        rate: Annotated[
            float, typer.Option(help="Receptions per second under load.")
        ] = 5.0,
        only: Annotated[
            list[str] | None,
            typer.Option(
                help=f"Run only these experiments ({', '.join(EXPERIMENTS)})."
            ),
        ] = None,
        parked_wait: Annotated[
            float | None,
            typer.Option(
                help="Seconds to wait for a parked record to expire (default: "
                "the started system's, 0 on a running one: MOTCUA_*_PARKED_TTL_S "
                "is an hour there)."
            ),
        ] = None,
        seed: Annotated[
            int | None, typer.Option(help="Seed of the receptions (default: time).")
        ] = None,
    ) -> None:
        """Fault experiments against the running system (or one it starts):
        load, kill -9 of each service, the broker frozen, a whole-system stop
        and start, poison and forged records, the public lookup brute-forced,
        and the shared topic read for personal data. Prints accepted, lost,
        doubled, refused (with reasons) and recovery time per experiment;
        exit code 1 on any loss, doubling, unrefused poison or applied forgery."""
        from motcua.bench.chaos.run import Plan, run

        plan = Plan(rate=rate)
        if short:
            plan = replace(
                plan,
                load_s=6.0,
                kill=("notification",),
                kill_load_s=6.0,
                freeze_s=4.0,
                restart_dossiers=20,
                brute_force_tries=15,
                settle_s=120.0,
            )
        chosen = tuple(only or EXPERIMENTS)
        unknown = [e for e in chosen if e not in EXPERIMENTS]
        if unknown:
            raise typer.BadParameter(f"unknown experiments: {', '.join(unknown)}")
        report = asyncio.run(
            run(
                plan,
                data_dir=data_dir,
                start=start,
                experiments=chosen,
                parked_wait_s=parked_wait,
                seed=seed if seed is not None else int(time.time()) % 100000,
                say=console.print,
            )
        )
        _print(report)
        out = (
            Path(report["data_dir"])
            / "chaos"
            / f"chaos-{time.strftime('%Y%m%dT%H%M%S')}.json"
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2, ensure_ascii=False), "utf-8")
        console.print(f"details: {out}")
        if not report["ok"]:
            raise typer.Exit(1)


def _print(report: dict) -> None:  # type: ignore[type-arg]
    table = Table(title=f"motcua chaos ({report['system']})")
    for column in (
        "experiment",
        "accepted",
        "lost",
        "doubled",
        "refused",
        "recovery s",
        "result",
    ):
        table.add_column(column)
    for r in report["experiments"]:
        refused = ", ".join(f"{k} {v}" for k, v in sorted(r["refused"].items())) or "—"
        verdict = (
            f"skipped: {r['skipped']}"
            if r["skipped"]
            else "ok"
            if r["ok"]
            else "FAILED"
        )
        table.add_row(
            r["name"],
            str(r["accepted"]),
            str(r["lost"]),
            str(r["doubled"]),
            refused,
            "—" if r["recovery_s"] is None else f"{r['recovery_s']}",
            verdict,
        )
    console.print(table)
    health = report.get("reporting_health", {})
    console.print(
        f"reporting /healthz throughout: {health.get('probes')} probes, "
        f"{health.get('failed')} failed, slowest {health.get('slowest_s')} s"
    )
    for r in report["experiments"]:
        for problem in (*r["not_refused"], *r["applied_forgeries"]):
            console.print(f"[red]{r['name']}: {problem}[/red]")
        for key in ("lost", "doubled"):
            if r["details"].get(key):
                console.print(f"[red]{r['name']}: {key} {r['details'][key]}[/red]")
    console.print(
        "[green]0 lost, 0 doubled, every poison and forged record refused[/green]"
        if report["ok"]
        else "[red]FAILED[/red]"
    )
