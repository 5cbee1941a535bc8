"""Fixtures for intake's tests: the real app over a real database, with the
real broker (``intake``) or without one (``offline_intake``: HTTP and the
consumer fed directly, see :mod:`motcua.shared.testing.offline`); helpers
live in ``intake_support``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from intake_support import Intake, intake_settings, spread_codes

from motcua.intake.app import create_app
from motcua.shared.contracts import now_vn
from motcua.shared.settings import KafkaSettings
from motcua.shared.testing.databases import sqlite_url
from motcua.shared.testing.helpers import running_app
from motcua.shared.testing.offline import NO_BROKER, offline
from motcua.shared.testing.plugin import postgres_url


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def module_database_url(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_admin: str | None,
) -> AsyncIterator[str]:
    """One database per test module and backend: starting the service once per
    module keeps the suite fast; tests compare counts before and after."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path_factory.mktemp("intake-db"))
        return
    async for url in postgres_url(postgres_admin):
        yield url


@pytest.fixture(scope="module")
async def intake_service(
    module_database_url: str,
    kafka_settings: KafkaSettings,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Intake]:
    settings = intake_settings(
        module_database_url,
        kafka_settings,
        tmp_path_factory.mktemp("intake-data"),
        f"intake-{uuid.uuid4().hex[:10]}",
    )
    app = create_app(settings)
    async with running_app(app) as client:
        await spread_codes(app)
        yield Intake(app=app, client=client, settings=settings)


@pytest.fixture
def intake(intake_service: Intake) -> Intake:
    """The module's running intake, on the real clock."""
    intake_service.app.state.intake.clock = now_vn
    return intake_service


@pytest.fixture(scope="module")
async def offline_intake_service(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Intake]:
    settings = intake_settings(
        module_database_url,
        NO_BROKER,
        tmp_path_factory.mktemp("intake-data"),
        "intake",
    )
    app = create_app(settings)
    async with offline(app) as service:
        await spread_codes(app)  # codes name signed chains: one block per app
        yield Intake(app=app, client=service.client, settings=settings, offline=service)


@pytest.fixture
def offline_intake(offline_intake_service: Intake) -> Intake:
    """The module's intake without a broker, on the real clock."""
    offline_intake_service.app.state.intake.clock = now_vn
    return offline_intake_service
