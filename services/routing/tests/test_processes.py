"""Routing as real processes: two instances share the work, and a ``kill -9``
mid-stream loses nothing and applies nothing twice."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from broker_support import publish, start_group_at_end, until
from routing_support import KIM_LONG_CENTRE, received

from motcua.routing.tables import DossierEventRow, HandoffRow, RoutedDossier
from motcua.shared.contracts import now_vn
from motcua.shared.db import create_engine
from motcua.shared.local_broker import free_port
from motcua.shared.messaging.tables import OutboxRecord
from motcua.shared.settings import KafkaSettings
from motcua.shared.testing.helpers import service_process

pytestmark = [pytest.mark.broker, pytest.mark.e2e]


@contextmanager
def routing_processes(
    count: int,
    database_url: str,
    kafka: KafkaSettings,
    data_dir: Path,
    group: str,
    **env: str,
) -> Iterator[list[tuple[Any, str]]]:
    """``count`` routing processes on one database and one consumer group,
    started one after the other (each migrates the database at start, and
    two migrations racing on a fresh PostgreSQL database collide)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    base = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "KAFKA_PROFILE": kafka.profile or "tansu",
        "KAFKA_PARTITIONS": str(kafka.partitions),
        "MOTCUA_ENVIRONMENT": "test",
        "MOTCUA_DATA_DIR": str(data_dir),
        "MOTCUA_ROUTING_DATABASE_URL": database_url,
        "MOTCUA_ROUTING_CONSUMER_GROUP": group,
        **env,
    }
    with ExitStack() as stack:
        started = []
        for n in range(count):
            port = free_port()
            process = stack.enter_context(
                service_process(
                    "motcua.routing",
                    {**base, "MOTCUA_ROUTING_HTTP_PORT": str(port)},
                    data_dir / f"routing-{n}-{port}.log",
                )
            )
            url = f"http://127.0.0.1:{port}"
            started.append((process, url))
            _wait_ready(url)
        yield started


def _wait_ready(url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never became ready")


class Store:
    """Reads routing's database from the test."""

    def __init__(self, database_url: str) -> None:
        self.engine = create_engine(database_url)

    async def count(self, table: Any, codes: list[str]) -> int:
        async with self.engine.connect() as conn:
            value = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(table)
                .where(table.__table__.c[_code_column(table)].in_(codes))
            )
        return int(value or 0)

    async def per_dossier(self, table: Any, codes: list[str]) -> Counter[str]:
        column = table.__table__.c[_code_column(table)]
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(column).where(column.in_(codes)))
            return Counter(r[0] for r in rows)

    async def outbox_types(self, codes: list[str]) -> Counter[tuple[str, str]]:
        t = OutboxRecord.__table__  # type: ignore[attr-defined]
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(t.c.key, t.c.headers).where(t.c.key.in_(codes))
            )
            return Counter(
                (
                    key,
                    (headers if isinstance(headers, dict) else json.loads(headers))[
                        "event-type"
                    ],
                )
                for key, headers in rows
            )


def _code_column(table: Any) -> str:
    return "code" if table is RoutedDossier else "dossier_code"


async def _applied(url: str, group: str) -> float:
    """Received dossiers this process applied (from its Prometheus metrics)."""
    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(f"{url}/metrics/")).text
    pattern = (
        r"motcua_consumed_records_total\{"
        rf'consumer="{re.escape(group)}",event_type="dossier.received",'
        r'outcome="applied"\} ([0-9.e+]+)'
    )
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


def _codes(prefix: str, start: int, count: int) -> list[str]:
    """Codes of the issued shape, unique to the test (``prefix``: its hex id)."""
    day = int(prefix, 16) % 10**6
    return [f"{KIM_LONG_CENTRE}-{day:06d}-{n:04d}" for n in range(start, start + count)]


async def _assert_each_applied_once(store: Store, codes: list[str]) -> None:
    assert set((await store.per_dossier(HandoffRow, codes)).values()) == {1}
    t = DossierEventRow.__table__  # type: ignore[attr-defined]
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(t.c.dossier_code, t.c.event_type).where(
                t.c.dossier_code.in_(codes),
                t.c.event_type.in_(
                    ["dossier.received", "dossier.routed", "dossier.handoff_offered"]
                ),
            )
        )
        logged = Counter((code, kind) for code, kind in rows)
    # the signed history routing keeps: the reception, routed, offered, once
    assert set(logged.values()) == {1}
    assert len(logged) == 3 * len(codes)
    outbox = await store.outbox_types(codes)
    for code in codes:
        assert outbox[(code, "dossier.routed")] == 1
        assert outbox[(code, "dossier.handoff_offered")] == 1


async def test_two_routing_processes_share_the_work_and_double_nothing(
    postgres_database_url: str,
    kafka_settings: KafkaSettings,
    tmp_path: Path,
    unique: str,
) -> None:
    group = f"routing-{unique}"
    await start_group_at_end(kafka_settings, group)
    store = Store(postgres_database_url)
    codes: list[str] = []
    try:
        with routing_processes(
            2,
            postgres_database_url,
            kafka_settings,
            tmp_path,
            group,
            MOTCUA_ROUTING_CONSUMER_BATCH_SIZE="5",
            MOTCUA_ROUTING_DEADLINE_SCAN_INTERVAL_S="0.3",
        ) as processes:
            urls = [url for _, url in processes]

            # keep dossiers coming until both instances have routed some: the
            # second one's join moves partitions to it while work flows
            async def both_working() -> bool:
                batch = _codes(unique[:4], len(codes), 10)
                codes.extend(batch)
                await publish(
                    kafka_settings, *(received(c, received_at=now_vn()) for c in batch)
                )
                applied = await asyncio.gather(*(_applied(u, group) for u in urls))
                return all(a > 0 for a in applied)

            await until(both_working, "both instances routing dossiers", timeout_s=60)

            async def all_routed() -> bool:
                return await store.count(RoutedDossier, codes) == len(codes)

            await until(all_routed, f"{len(codes)} dossiers routed", timeout_s=60)
            applied = await asyncio.gather(*(_applied(u, group) for u in urls))
            assert sum(applied) == len(codes)

            # both schedulers scan the same dossiers: the 4-hour desk step is
            # nearly due at once, and each alarm is raised exactly once
            async def alarmed() -> bool:
                outbox = await store.outbox_types(codes)
                return all(outbox[(c, "dossier.nearly_due")] for c in codes)

            await until(alarmed, "a nearly_due alarm per dossier", timeout_s=60)
        await _assert_each_applied_once(store, codes)
        outbox = await store.outbox_types(codes)
        assert {outbox[(c, "dossier.nearly_due")] for c in codes} == {1}
    finally:
        await store.engine.dispose()


async def test_a_killed_routing_process_loses_nothing_and_applies_nothing_twice(
    database_url: str, kafka_settings: KafkaSettings, tmp_path: Path, unique: str
) -> None:
    group = f"routing-{unique}"
    await start_group_at_end(kafka_settings, group)
    # Enough dossiers that the kill lands mid-stream even on a fast, idle machine.
    codes = _codes(unique[:4], 0, 400)
    await publish(kafka_settings, *(received(c, received_at=now_vn()) for c in codes))
    store = Store(database_url)
    slow = {"MOTCUA_ROUTING_CONSUMER_BATCH_SIZE": "2"}
    try:
        with routing_processes(
            1, database_url, kafka_settings, tmp_path / "first", group, **slow
        ) as [(process, _)]:

            async def started_routing() -> bool:
                return await store.count(RoutedDossier, codes) >= 10

            await until(started_routing, "the first process routing", timeout_s=60)
            process.kill()  # SIGKILL: no shutdown, no LeaveGroup, no relay drain
            process.wait()
        routed_at_kill = await store.count(RoutedDossier, codes)
        assert 10 <= routed_at_kill < len(codes), "the kill came too late to matter"

        with routing_processes(
            1, database_url, kafka_settings, tmp_path / "second", group, **slow
        ):

            async def all_routed() -> bool:
                return await store.count(RoutedDossier, codes) == len(codes)

            await until(
                all_routed, "every dossier routed after the restart", timeout_s=90
            )

            async def all_published() -> bool:
                t = OutboxRecord.__table__  # type: ignore[attr-defined]
                async with store.engine.connect() as conn:
                    pending = await conn.scalar(
                        sa.select(sa.func.count())
                        .select_from(t)
                        .where(t.c.key.in_(codes), t.c.published_at.is_(None))
                    )
                return pending == 0

            await until(all_published, "the outbox drained", timeout_s=60)
        await _assert_each_applied_once(store, codes)
    finally:
        await store.engine.dispose()
