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
from intake_support import DESK, Intake, dossier

from motcua.shared.auth import Role
from motcua.shared.testing.brokers import BrokerUnderTest
from motcua.shared.testing.helpers import bearer, wait_http_ok
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
