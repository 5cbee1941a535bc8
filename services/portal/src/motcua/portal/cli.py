"""``motcua portal …`` tasks (plugged in through ``ServiceDefinition.cli``)."""

from __future__ import annotations

import runpy
import sys

import typer


def register(_root_app: typer.Typer, service_group: typer.Typer) -> None:
    @service_group.command(
        "simulator",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    def simulator_command(ctx: typer.Context) -> None:
        """Run the national portal simulator alone (127.0.0.1:8014; its options
        follow, e.g. `--port`)."""
        from motcua.portal.processes import simulator_available

        if not simulator_available():
            typer.echo("the portal simulator is not part of this release yet")
            raise typer.Exit(2)
        sys.argv = ["motcua portal simulator", *ctx.args]
        runpy.run_module("motcua.portal.simulator", run_name="__main__")
