"""Fixtures for intake's tests: the real app over a real broker and database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from motcua.intake.app import create_app
from motcua.intake.settings import IntakeSettings
from motcua.shared.contracts import VN_TZ, now_vn
from motcua.shared.settings import CommonSettings, KafkaSettings
from motcua.shared.testing.databases import (
    POSTGRES_ENV,
    check_postgres,
    fresh_postgres_database,
    sqlite_url,
)
from motcua.shared.testing.helpers import running_app

DESK = "000.01.31.H14"  # Trung tâm Phục vụ hành chính công xã Kim Long
OTHER_DESK = "000.01.32.H14"  # xã Xuân Quang


def vn(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN_TZ)


def applicant(**overrides: object) -> dict[str, object]:
    person: dict[str, object] = {
        "full_name": "Nguyễn Thị Lan",
        "id_number": "001190012345",
        "phone": "0912 345 678",
        "email": "lan@example.vn",
        "address": "Thôn 3, xã Kim Long",
    }
    person.update(overrides)
    return person


def dossier(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "procedure_code": "1.001193",
        "receiving_agency_code": DESK,
        "channel": "direct",
        "applicant": applicant(),
    }
    body.update(overrides)
    return body


@dataclass
class Intake:
    app: FastAPI
    client: httpx.AsyncClient
    settings: IntakeSettings

    def set_clock(self, moment: datetime) -> None:
        self.app.state.intake.clock = lambda: moment


def intake_settings(
    database_url: str, kafka: KafkaSettings, data_dir: Path, group: str
) -> IntakeSettings:
    return IntakeSettings(
        database_url=database_url,
        kafka=kafka,
        common=CommonSettings(data_dir=data_dir, environment="test"),
        consumer_group=group,
        relay_poll_interval_s=0.2,
    )


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
    if postgres_admin is None:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    try:
        await check_postgres(postgres_admin)
    except Exception as exc:
        pytest.fail(f"{POSTGRES_ENV} is set but PostgreSQL does not answer: {exc!r}")
    async with fresh_postgres_database(postgres_admin) as url:
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
        yield Intake(app=app, client=client, settings=settings)


@pytest.fixture
def intake(intake_service: Intake) -> Intake:
    """The module's running intake, on the real clock."""
    intake_service.app.state.intake.clock = now_vn
    return intake_service
