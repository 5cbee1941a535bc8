"""Migrations as a step of their own (the Kubernetes Job and the pods' init
container): ``motcua <service> migrate [--check --wait]``, and a service with
``MIGRATE_ON_START=false`` that refuses a database left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from asgi_lifespan import LifespanManager

from motcua.routing.app import create_app
from motcua.routing.settings import RoutingSettings
from motcua.shared.settings import CommonSettings

MOTCUA = [sys.executable, "-c", "from motcua.shared.cli.main import main; main()"]


def _motcua(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MOTCUA_DATA_DIR": str(data_dir)}
    env.pop("MOTCUA_ROUTING_DATABASE_URL", None)
    return subprocess.run(
        [*MOTCUA, *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_the_job_migrates_and_the_init_check_waits_for_it(tmp_path: Path) -> None:
    behind = _motcua(tmp_path, "routing", "migrate", "--check", "--wait", "1")
    assert behind.returncode == 1
    assert "run `motcua routing migrate`" in behind.stderr
    done = _motcua(tmp_path, "routing", "migrate")
    assert done.returncode == 0, done.stderr
    assert "newest revision" in done.stdout
    ready = _motcua(tmp_path, "routing", "migrate", "--check")
    assert ready.returncode == 0, ready.stderr


async def test_a_service_that_may_not_migrate_refuses_an_old_database(
    tmp_path: Path,
) -> None:
    settings = RoutingSettings(
        common=CommonSettings(data_dir=tmp_path, environment="test"),
        migrate_on_start=False,
    )
    app = create_app(settings)
    with pytest.raises(RuntimeError, match="this release needs"):
        async with LifespanManager(app, startup_timeout=60):
            pass
