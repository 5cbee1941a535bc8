"""The portal service as the other services are: its own database and
migrations, its settings, its CLI group and its place in ``motcua up``."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pydantic import ValidationError
from sqlmodel import SQLModel

from motcua.portal.app import MIGRATIONS, create_app
from motcua.portal.processes import processes, simulator_available
from motcua.portal.settings import PortalSettings
from motcua.portal.tables import PORTAL_TABLES
from motcua.shared.cli.services import installed_services
from motcua.shared.db import create_engine, migrate
from motcua.shared.settings import CommonSettings
from motcua.shared.testing.offline import offline


async def test_migrations_match_the_tables(database_url: str) -> None:
    await migrate(MIGRATIONS, database_url, version_table="alembic_version_portal")
    engine = create_engine(database_url)

    def owned(name: str | None, kind: str) -> bool:
        return kind != "table" or name in PORTAL_TABLES

    def differences(connection: Any) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_name": lambda name, kind, _parent: owned(name, kind),
                "include_object": lambda _o, name, kind, _r, _other: owned(name, kind),
            },
        )
        return list(compare_metadata(context, SQLModel.metadata))

    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(differences)
    finally:
        await engine.dispose()
    assert diff == []


async def test_the_service_answers_health_on_its_own_database(
    offline_settings: PortalSettings,
) -> None:
    async with offline(create_app(offline_settings)) as service:
        health = await service.client.get("/healthz")
        assert health.json() == {"status": "ok", "service": "portal"}
        ready = await service.client.get("/readyz", params={"broker": "optional"})
        assert ready.status_code == 200
        assert ready.json()["checks"]["database"] == "ok"


def test_the_cli_and_motcua_up_know_the_service() -> None:
    [portal] = [s for s in installed_services() if s.name == "portal"]
    assert portal.default_port == 8005
    assert PortalSettings().http_port == 8005


def test_motcua_up_starts_the_simulator_once_it_exists(tmp_path: Any) -> None:
    specs = processes(tmp_path)
    if simulator_available():
        [simulator] = specs
        assert simulator.url == "http://127.0.0.1:8014"
        assert simulator.argv[-3:] == ["motcua.portal.simulator", "--port", "8014"]
    else:
        assert specs == []


def test_production_refuses_the_development_credentials() -> None:
    production = CommonSettings(environment="production", jwt_secret="x" * 40)
    with pytest.raises(ValidationError, match="MOTCUA_PORTAL_CLIENT_SECRET"):
        PortalSettings(common=production, database_url="postgresql+asyncpg://p@h/p")
    settings = PortalSettings(
        common=production,
        database_url="postgresql+asyncpg://p@h/p",
        client_secret="province-secret",
        password="province-password",
    )
    assert settings.client_secret.get_secret_value() == "province-secret"
