"""Consumer rate of the routing service, and the latency of an officer's action.

Starts a private tansu broker and the routing service in this process, then:

1. backlog: N ``dossier.received`` events (the criminal-record workflow, commune
   desk → Department of Justice → desk) are on the topic before routing starts;
   measures how fast routing works through them (each: resolve by competence,
   write the dossier and its first hand-off, two events into the outbox) and
   how long until those 2N events are published;
2. live: with routing running, N more are published; first publish → last one
   routed;
3. actions: M officers' acknowledgements over HTTP (in-process ASGI, one at a
   time), each one transaction with its event: p50 / p95 latency.

    .venv/bin/python bench/routing_bench.py --dossiers 2000
    .venv/bin/python bench/routing_bench.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer

from motcua.routing.app import create_app
from motcua.routing.settings import RoutingSettings
from motcua.routing.tables import RoutedDossier
from motcua.shared.auth import Role
from motcua.shared.contracts import new_event, now_vn
from motcua.shared.contracts.common import Channel
from motcua.shared.contracts.dossier import DossierReceivedV2, Person, WorkflowStep
from motcua.shared.domain.calendar import TimeLimit, load_calendar
from motcua.shared.kafka import declare_topics
from motcua.shared.local_broker import LocalBroker, free_port
from motcua.shared.logging import configure_logging
from motcua.shared.messaging.outbox import envelope_headers
from motcua.shared.settings import CommonSettings, KafkaSettings
from motcua.shared.testing.helpers import bearer, one_key_ring, running_app, sealed
from motcua.shared.testing.signing import use_legacy_keystore

DESK = "000.01.31.H14"
WORKFLOW = [
    WorkflowStep(step_no=1, role="receiving_desk", name="Tiếp nhận", hours=4),
    WorkflowStep(step_no=2, role="competent_agency", name="Cấp phiếu", hours=72),
    WorkflowStep(step_no=3, role="receiving_desk", name="Trả kết quả", hours=4),
]


def _code(stamp: str, n: int) -> str:
    """A code of the issued shape, ``<desk>-<6 digits>-<4 digits>``."""
    return f"{DESK}-{(int(stamp) + n // 10000) % 10**6:06d}-{n % 10000:04d}"


def received(code: str) -> Any:
    at = now_vn()
    return new_event(
        DossierReceivedV2(
            procedure_code="2.000488",
            procedure_name="Cấp Phiếu lý lịch tư pháp",
            competent_agency_type="justice",
            channel=Channel.DIRECT,
            receiving_agency_code=DESK,
            received_at=at,
            due_at=load_calendar().due_at(at, TimeLimit.parse("10wd")),
            personal_data=sealed(code, Person(full_name="Nguyễn Văn Bình")),
            workflow=WORKFLOW,
        ),
        dossier_code=code,
        producer="intake",
        occurred_at=at,
    )


Record = tuple[str, bytes, bytes, list[tuple[str, bytes]]]


def records(codes: list[str]) -> list[Record]:
    """The ``dossier.received`` records, built before any timing starts."""
    out = []
    for code in codes:
        event = received(code)
        headers = [(k, v.encode()) for k, v in envelope_headers(event).items()]
        out.append((event.data.TOPIC, event.to_json(), code.encode(), headers))
    return out


async def publish(kafka: KafkaSettings, prepared: list[Record]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers, acks="all", linger_ms=5
    )
    await producer.start()
    try:
        futures = []
        for topic, value, key, headers in prepared:
            futures.append(await producer.send(topic, value, key=key, headers=headers))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def wait_routed(runtime: Any, expected: int) -> None:
    while True:
        async with runtime.sessions() as session:
            done = await session.scalar(
                sa.select(sa.func.count()).select_from(RoutedDossier)
            )
        if (done or 0) >= expected:
            return
        await asyncio.sleep(0.02)


async def wait_published(runtime: Any) -> None:
    while True:
        if not await runtime.relay.pending_count():
            return
        await asyncio.sleep(0.02)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(dossiers: int, actions: int, database_url: str | None) -> None:
    local = LocalBroker("127.0.0.1", free_port()).start()
    kafka = KafkaSettings(
        bootstrap_servers=local.bootstrap_servers, profile="tansu", partitions=3
    )
    stamp = time.strftime("%H%M%S")
    backlog = [_code(stamp, n) for n in range(dossiers)]
    live = [_code(stamp, n) for n in range(dossiers, 2 * dossiers)]
    settings = RoutingSettings(
        database_url=database_url,
        kafka=kafka,
        common=CommonSettings(
            data_dir=Path(tempfile.mkdtemp(prefix="routing-bench-")),
            environment="test",
            log_level="WARNING",
        ),
        deadline_scan_interval_s=3600,
    )
    try:
        await declare_topics(
            kafka, ["motcua.dossier.events", "motcua.notification.events"]
        )
        await publish(kafka, records(backlog))
        live_records = records(live)
        app = create_app(settings)
        started = time.perf_counter()
        cpu_started = time.process_time()
        async with running_app(app, ready_timeout_s=120) as client:
            runtime = app.state.runtime
            await wait_routed(runtime, dossiers)
            backlog_s = time.perf_counter() - started
            await wait_published(runtime)
            backlog_out_s = time.perf_counter() - started
            backlog_cpu = time.process_time() - cpu_started

            started = time.perf_counter()
            cpu_started = time.process_time()
            await publish(kafka, live_records)
            await wait_routed(runtime, 2 * dossiers)
            live_s = time.perf_counter() - started
            await wait_published(runtime)
            live_cpu = time.process_time() - cpu_started

            latencies = []
            for code in backlog[:actions]:
                t = time.perf_counter()
                response = await client.post(
                    f"/api/v1/dossiers/{code}/acknowledge",
                    headers=bearer(DESK, Role.DESK_OFFICER),
                )
                latencies.append((time.perf_counter() - t) * 1000)
                assert response.status_code == 200, response.text
    finally:
        local.stop()
    backend = "PostgreSQL" if database_url else "SQLite"
    print(f"routing bench, {backend}, {dossiers} dossiers per phase (3-step workflow)")
    print(
        f"backlog: {dossiers / backlog_s:.0f} dossiers/s routed (incl. start and group join, "
        f"{backlog_s:.2f} s); {2 * dossiers} events published after {backlog_out_s:.2f} s"
    )
    print(
        f"live:    {dossiers / live_s:.0f} dossiers/s, first publish -> last routed {live_s:.2f} s"
    )
    print(
        f"CPU of this process per dossier: backlog {1000 * backlog_cpu / dossiers:.2f} ms "
        f"(incl. start), live {1000 * live_cpu / dossiers:.2f} ms "
        "(routing, its relay, and this bench's publisher and polling)"
    )
    print(
        f"acknowledge over HTTP ({actions} calls): p50 {statistics.median(latencies):.1f} ms, "
        f"p95 {percentile(latencies, 0.95):.1f} ms"
    )


def main() -> None:
    use_legacy_keystore()  # this bench publishes histories unsigned (legacy)
    one_key_ring()  # the service and the events sealed here share it
    configure_logging("routing", level="WARNING", json=True)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, default=1000)
    parser.add_argument("--actions", type=int, default=200)
    parser.add_argument(
        "--database-url", default=None, help="default: SQLite in a temp dir"
    )
    args = parser.parse_args()
    asyncio.run(run(args.dossiers, args.actions, args.database_url))


if __name__ == "__main__":
    main()
