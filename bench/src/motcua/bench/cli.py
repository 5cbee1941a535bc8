"""The ``motcua bench`` command."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from motcua.shared.settings import KafkaSettings

console = Console()


def register(root: typer.Typer) -> None:
    @root.command()
    def bench(
        raw_only: Annotated[
            bool, typer.Option(help="Measure only the broker's raw limit.")
        ] = False,
        raw_messages: Annotated[
            int, typer.Option(help="Messages for the raw measurement.")
        ] = 50_000,
    ) -> None:
        """Benchmark the pipeline end to end next to the broker's raw limit."""
        from motcua.bench.raw import measure_broker_limit

        result = asyncio.run(measure_broker_limit(KafkaSettings(), count=raw_messages))
        console.print(result)
        if raw_only:
            return
