"""pytest plugin: real broker and database fixtures for every motcua test.

- ``kafka_broker`` (session): the broker, see :mod:`motcua.shared.testing.brokers`.
- ``kafka_settings``: :class:`KafkaSettings` pointing at it, with the right profile.
- ``database_url``: a fresh database per test, once on SQLite and once on
  PostgreSQL when ``MOTCUA_TEST_POSTGRES_URL`` is set. If it is set and the server
  does not answer, the test fails: CI must never silently skip PostgreSQL.
- ``sqlite_database_url`` / ``postgres_database_url``: one backend only.
- ``signing_keystore`` (session, automatic): one keystore with a key per agency,
  named by ``MOTCUA_SIGNING_KEYSTORE`` for every app, helper and process the
  tests start (generating keys per test would cost more than the tests). Its
  ``signing_since`` lies in the future, so events a test publishes unsigned
  pass as unsigned legacy (see :data:`TEST_SIGNING_SINCE`).

Markers follow the fixtures, so a marker expression selects what a run
needs: a test that uses the broker (directly or through any fixture) is
marked ``broker``, one that runs on PostgreSQL ``postgres``. The fast
target, ``./motcua test -m "not broker and not e2e"``, therefore runs
without a broker; services without one are tested with
:mod:`motcua.shared.testing.offline`.

The whole session runs with one personal-data key ring in
``MOTCUA_PERSONAL_DATA_KEYS`` (as one deployment: services in the test process
and the processes it starts, and :func:`motcua.shared.testing.helpers.sealed`,
which seals people into the events tests publish).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from motcua.shared.domain.agencies import load_registry
from motcua.shared.settings import KafkaSettings
from motcua.shared.signing.keystore import (
    FileKeystore,
    province_of,
    registry_agencies,
)
from motcua.shared.testing.brokers import BrokerUnderTest, broker_for_tests
from motcua.shared.testing.databases import (
    POSTGRES_ENV,
    check_postgres,
    fresh_postgres_database,
    postgres_admin_url,
    sqlite_url,
)

BACKENDS = ("sqlite", "postgres")
TEST_KEYS_VALID_FROM = datetime(2000, 1, 1, tzinfo=UTC)
"""Tests replay business times from years back: their keys are valid since."""
TEST_SIGNING_SINCE = datetime(2100, 1, 1, tzinfo=UTC)
"""Most tests publish a dossier's history unsigned, as a system migrating from
before signing would (accepted as unsigned legacy until a dossier has a signed
event); the signing tests use a keystore of their own that refuses them."""


@pytest.fixture(scope="session", autouse=True)
def signing_keystore(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FileKeystore]:
    previous = os.environ.get("MOTCUA_SIGNING_KEYSTORE")
    store = FileKeystore(tmp_path_factory.mktemp("keystore") / "keys")
    registry = load_registry()
    store.init(
        registry_agencies(registry),
        province=province_of(registry),
        valid_from=TEST_KEYS_VALID_FROM,
        signing_since=TEST_SIGNING_SINCE,
    )
    os.environ["MOTCUA_SIGNING_KEYSTORE"] = str(store.folder)
    yield store
    if previous is None:
        os.environ.pop("MOTCUA_SIGNING_KEYSTORE", None)
    else:
        os.environ["MOTCUA_SIGNING_KEYSTORE"] = previous


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if "kafka_broker" in fixtures and item.get_closest_marker("broker") is None:
            item.add_marker(pytest.mark.broker)
        if _on_postgres(item, fixtures) and item.get_closest_marker("postgres") is None:
            item.add_marker(pytest.mark.postgres)


def _on_postgres(item: pytest.Item, fixtures: set[str]) -> bool:
    if "postgres_database_url" in fixtures:
        return True
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    return any(
        name.endswith("database_url") and value == "postgres"
        for name, value in params.items()
    )


# CI sets this: a test that skips there (no PostgreSQL, no kubectl, promtool
# or checkov) fails instead, so a missing install step cannot pass as green.
NO_SKIPS_ENV = "MOTCUA_TEST_NO_SKIPS"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport() -> Any:
    outcome = yield
    report = outcome.get_result()
    if (
        report.skipped
        and os.environ.get(NO_SKIPS_ENV)
        and not hasattr(report, "wasxfail")
    ):
        reason = (
            report.longrepr[2]
            if isinstance(report.longrepr, tuple)
            else report.longrepr
        )
        report.outcome = "failed"
        report.longrepr = f"skipped where {NO_SKIPS_ENV} forbids skips: {reason}"


def pytest_configure() -> None:
    from motcua.shared.testing.helpers import one_key_ring

    one_key_ring()


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[BrokerUnderTest]:
    with broker_for_tests() as broker:
        yield broker


@pytest.fixture(scope="session")
def kafka_settings(kafka_broker: BrokerUnderTest) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=kafka_broker.bootstrap_servers,
        profile=kafka_broker.profile,
        partitions=3,
    )


@pytest.fixture(scope="session")
def postgres_admin() -> str | None:
    return postgres_admin_url()


async def postgres_url(admin: str | None) -> AsyncIterator[str]:
    """A fresh PostgreSQL database for a fixture; skipped without one configured."""
    if admin is None:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    try:
        await check_postgres(admin)
    except Exception as exc:
        pytest.fail(f"{POSTGRES_ENV} is set but PostgreSQL does not answer: {exc!r}")
    async with fresh_postgres_database(admin) as url:
        yield url


@pytest.fixture(params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_admin: str | None
) -> AsyncIterator[str]:
    """A fresh, empty database; the test runs once per backend."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    async for url in postgres_url(postgres_admin):
        yield url


@pytest.fixture
async def postgres_database_url(postgres_admin: str | None) -> AsyncIterator[str]:
    async for url in postgres_url(postgres_admin):
        yield url


@pytest.fixture
def sqlite_database_url(tmp_path: Path) -> str:
    return sqlite_url(tmp_path)


@pytest.fixture
def unique() -> str:
    """A short random suffix for topic and group names (tansu cannot be reset)."""
    return uuid.uuid4().hex[:10]
