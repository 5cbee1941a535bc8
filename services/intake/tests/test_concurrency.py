"""Dossier codes stay unique when several intake processes share one
PostgreSQL database and receive at the same agency at the same time."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from intake_support import DESK, Intake, dossier, filing, intake_settings
from sqlalchemy.ext.asyncio import create_async_engine

from motcua.intake.app import create_app
from motcua.shared.auth import Role
from motcua.shared.testing.brokers import BrokerUnderTest
from motcua.shared.testing.helpers import bearer, wait_for, wait_http_ok
from motcua.shared.testing.offline import NO_BROKER, offline
from motcua.shared.testing.system import running_system

pytestmark = pytest.mark.broker

CODE = re.compile(rf"^{re.escape(DESK)}-(\d{{6}})-(\d{{4}})$")


async def _post_many(
    client: httpx.AsyncClient, urls: list[str], count: int
) -> list[str]:
    headers = bearer(DESK, Role.DESK_OFFICER)

    async def one(index: int) -> str:
        url = urls[index % len(urls)]
        response = await client.post(
            f"{url}/api/v1/dossiers", json=dossier(), headers=headers
        )
        assert response.status_code == 201, response.text
        return str(response.json()["code"])

    return list(await asyncio.gather(*(one(i) for i in range(count))))


def _assert_contiguous(codes: list[str]) -> None:
    assert len(set(codes)) == len(codes), Counter(codes).most_common(3)
    by_day: dict[str, list[int]] = {}
    for code in codes:
        match = CODE.match(code)
        assert match, code
        by_day.setdefault(match.group(1), []).append(int(match.group(2)))
    for numbers in by_day.values():
        numbers.sort()
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))


@pytest.mark.postgres
@pytest.mark.e2e
async def test_two_intake_processes_never_hand_out_the_same_code(
    postgres_database_url: str,
    kafka_broker: BrokerUnderTest,
    tmp_path: Path,
    unique: str,
) -> None:
    common = {
        "bootstrap_servers": kafka_broker.bootstrap_servers,
        "profile": kafka_broker.profile,
        "database_urls": {"intake": postgres_database_url},
        "services": ("intake",),
        "extra_env": {"MOTCUA_INTAKE_CONSUMER_GROUP": f"intake-{unique}"},
    }
    with ExitStack() as stack:
        urls = []
        for name in ("a", "b"):
            # one after the other: two processes migrating one empty database
            # at the same moment would race on CREATE TABLE
            system = stack.enter_context(
                running_system(data_dir=tmp_path / name, **common)  # type: ignore[arg-type]
            )
            await wait_http_ok(f"{system.urls['intake']}/healthz")
            urls.append(system.urls["intake"])
        async with httpx.AsyncClient(timeout=60) as client:
            codes = await _post_many(client, urls, 60)
    _assert_contiguous(codes)
    assert len(codes) == 60


async def test_parallel_receptions_in_one_process_get_distinct_codes(
    intake: Intake,
) -> None:
    headers = bearer(DESK, Role.DESK_OFFICER)

    async def one() -> str:
        response = await intake.client.post(
            "/api/v1/dossiers", json=dossier(), headers=headers
        )
        assert response.status_code == 201, response.text
        return str(response.json()["code"])

    codes = list(await asyncio.gather(*(one() for _ in range(30))))
    _assert_contiguous(codes)


@pytest.mark.postgres
async def test_a_portal_code_committed_while_the_desk_waits_for_the_counter_is_stepped_over(
    postgres_database_url: str, tmp_path: Path
) -> None:
    """The counter's upsert waits for its row's lock with the snapshot its
    statement started with: a portal filing committed meanwhile under the
    next number is invisible to it. The primary key refuses the number and
    the reception runs again (before: a 500 for the desk officer)."""
    app = create_app(
        intake_settings(postgres_database_url, NO_BROKER, tmp_path, "intake")
    )
    officer = bearer(DESK, Role.DESK_OFFICER)
    portal = bearer("*", Role.PORTAL, subject="portal-service")
    async with offline(app) as service:
        client = service.client
        first = await client.post("/api/v1/dossiers", json=dossier(), headers=officer)
        assert first.status_code == 201, first.text
        prefix, last = first.json()["code"].rsplit("-", 1)
        watcher = create_async_engine(postgres_database_url)
        try:
            async with watcher.connect() as holder, watcher.connect() as probe:
                held = await holder.begin()
                await holder.execute(
                    sa.text(
                        "SELECT 1 FROM intake_code_counter WHERE agency_code = :a FOR UPDATE"
                    ),
                    {"a": DESK},
                )
                desk = asyncio.create_task(
                    client.post("/api/v1/dossiers", json=dossier(), headers=officer)
                )

                async def desk_waits() -> bool:
                    waiting = await probe.scalar(
                        sa.text(
                            "SELECT count(*) FROM pg_stat_activity "
                            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                        )
                    )
                    return bool(waiting)

                await wait_for(desk_waits, message="the desk waiting for the counter")
                taken = f"{prefix}-{int(last) + 1:04d}"
                filed = await client.post(
                    "/api/v1/portal/filings", json=filing(taken), headers=portal
                )
                assert filed.status_code == 201, filed.text
                await held.commit()
                received = await desk
        finally:
            await watcher.dispose()
    assert received.status_code == 201, received.text
    assert received.json()["code"] == f"{prefix}-{int(last) + 2:04d}"
