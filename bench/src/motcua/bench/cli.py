"""The ``motcua bench`` command."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markdown import Markdown

from motcua.shared.settings import KafkaSettings

console = Console()


def register(root: typer.Typer) -> None:
    @root.command()
    def bench(
        rate: Annotated[
            float, typer.Option(help="Dossiers per second in the fixed-rate phase.")
        ] = 5.0,
        rate_seconds: Annotated[
            float, typer.Option(help="Length of the fixed-rate phase.")
        ] = 30.0,
        max_seconds: Annotated[
            float, typer.Option(help="Length of the as-fast-as-possible phase.")
        ] = 30.0,
        concurrency: Annotated[
            int, typer.Option(help="Clients in the as-fast-as-possible phase.")
        ] = 8,
        raw_messages: Annotated[
            int, typer.Option(help="Messages for the broker's raw limit.")
        ] = 50_000,
        postgres: Annotated[
            str | None,
            typer.Option(
                help="PostgreSQL URL prefix: each service gets a fresh <prefix>_<service>."
            ),
        ] = None,
        intake_url: Annotated[
            str | None, typer.Option(help="Use a running system: intake's URL.")
        ] = None,
        reporting_url: Annotated[
            str | None, typer.Option(help="Use a running system: reporting's URL.")
        ] = None,
        results: Annotated[
            Path, typer.Option(help="Where the JSON and markdown results go.")
        ] = Path("bench/results"),
        label: Annotated[
            str, typer.Option(help="A note stored with the results.")
        ] = "",
        profile: Annotated[
            bool,
            typer.Option(
                help="Flame graphs (py-spy) of each service from the max phase to the drain, under <results>/flames."
            ),
        ] = False,
        idle_seconds: Annotated[
            float,
            typer.Option(
                help="Watch the idle system this long first (its polling CPU)."
            ),
        ] = 5.0,
        half_seconds: Annotated[
            float,
            typer.Option(
                help="Length of the half-load phase (half the rate the max phase sustained): latency with room to spare."
            ),
        ] = 30.0,
        half_rate: Annotated[
            float,
            typer.Option(
                help="Offer this many dossiers per second in the half-load phase "
                "instead of half what the max phase sustained (runs compared on a "
                "busy machine then see the same load)."
            ),
        ] = 0.0,
        soak_seconds: Annotated[
            float,
            typer.Option(
                help="Make the half-load phase this long (e.g. 600) and report each service's RSS growth after its first minute."
            ),
        ] = 0.0,
        replicas: Annotated[
            int,
            typer.Option(
                help="Instances of each service, in the same consumer groups (needs --postgres)."
            ),
        ] = 1,
        raw_only: Annotated[
            bool, typer.Option(help="Measure only the broker's raw limit.")
        ] = False,
        portal_faults: Annotated[
            bool,
            typer.Option(
                help="Run with the national portal failing: error rate 0.3, "
                "sessions of 5 s and a 60-second outage; reports logins against "
                "sync calls."
            ),
        ] = False,
    ) -> None:
        """Benchmark the whole pipeline next to the broker's raw limit."""
        if raw_only:
            from motcua.bench.raw import measure_broker_limit

            console.print(
                asyncio.run(measure_broker_limit(KafkaSettings(), count=raw_messages))
            )
            return
        from motcua.bench.runner import Bench, BenchConfig, write_results

        config = BenchConfig(
            rate=rate,
            rate_seconds=rate_seconds,
            max_seconds=max_seconds,
            concurrency=concurrency,
            raw_messages=raw_messages,
            results_dir=results,
            postgres_url=postgres,
            intake_url=intake_url,
            reporting_url=reporting_url,
            label=label,
            portal_faults=portal_faults,
            profile=profile,
            idle_seconds=idle_seconds,
            half_seconds=half_seconds,
            half_rate=half_rate,
            soak_seconds=soak_seconds,
            replicas=replicas,
        )
        if replicas > 1 and not postgres:
            console.print(
                "--replicas needs --postgres: instances of a service share its database"
            )
            raise typer.Exit(2)
        if postgres:
            asyncio.run(_create_databases(postgres))
        result = asyncio.run(Bench(config).run())
        json_path, md_path = write_results(result, results)
        console.print(Markdown(md_path.read_text(encoding="utf-8")))
        console.print(f"results: {json_path}, {md_path}")
        portal = result.get("portal")
        if not result["reconciliation"]["clean"] or (portal and not portal["clean"]):
            raise typer.Exit(1)


async def _create_databases(prefix: str) -> None:
    """Fresh databases ``<prefix>_<service>`` (dropped first if they exist)."""
    import asyncpg

    base, _, name = prefix.rstrip("/").rpartition("/")
    admin = await asyncpg.connect(f"{base.replace('+asyncpg', '')}/postgres")
    try:
        for service in ("intake", "routing", "notification", "reporting", "portal"):
            await admin.execute(
                f'DROP DATABASE IF EXISTS "{name}_{service}" WITH (FORCE)'
            )
            await admin.execute(f'CREATE DATABASE "{name}_{service}"')
    finally:
        await admin.close()
