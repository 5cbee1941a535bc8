"""``motcua <service> migrate``: database migrations as a step of their own.

``./motcua up`` and the compose file let each service upgrade its database at
start. On Kubernetes a Job runs ``motcua <service> migrate`` before the
rollout, and the pods (``MOTCUA_<SERVICE>_MIGRATE_ON_START=false``) wait in an
init container running ``migrate --check --wait`` until the Job is done.
"""

from __future__ import annotations

import asyncio
import time

import typer
from fastapi import FastAPI

from motcua.shared.cli.services import load_object
from motcua.shared.service import ServiceRuntime


def run_migrate(name: str, app_factory: str, *, check: bool, wait_s: float) -> int:
    app: FastAPI = load_object(app_factory)()  # builds, connects nothing
    runtime: ServiceRuntime = app.state.runtime
    return asyncio.run(_migrate(runtime, name, check=check, wait_s=wait_s))


async def _migrate(
    runtime: ServiceRuntime, name: str, *, check: bool, wait_s: float
) -> int:
    try:
        if not check:
            await runtime.migrate()
            typer.echo(f"{name}: database at the newest revision")
            return 0
        deadline = time.monotonic() + wait_s
        while True:
            try:
                await runtime.check_schema()
            except Exception as exc:  # behind, or the database not reachable yet
                if time.monotonic() >= deadline:
                    typer.echo(f"{name}: {exc}", err=True)
                    return 1
                await asyncio.sleep(min(5.0, max(deadline - time.monotonic(), 0.1)))
                continue
            typer.echo(f"{name}: database at the revision this release ships")
            return 0
    finally:
        await runtime.engine.dispose()
