"""Intake's submission rate and latency, measured over HTTP against a real
intake process (SQLite by default, PostgreSQL with --database-url) and a real
broker (a tansu started here, or KAFKA_BOOTSTRAP_SERVERS).

    .venv/bin/python bench/intake_bench.py --requests 1000 --concurrency 16
    .venv/bin/python bench/intake_bench.py --database-url postgresql+asyncpg://postgres@127.0.0.1/bench

It reports requests per second, latency percentiles of POST /api/v1/dossiers,
how long the outbox relay took to publish every event after the last answer,
and the intake process's CPU per dossier. Then it publishes what routing would
for each dossier (``dossier.routed``, ``dossier.handoff_offered``) and reports
intake's CPU per dossier to consume them (the status goes to 4). The loop is
bounded in count and time and only talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import psutil
from aiokafka import AIOKafkaProducer

from motcua.shared.auth import Role
from motcua.shared.contracts import new_event
from motcua.shared.contracts.common import DossierStatus
from motcua.shared.contracts.handoff import (
    DossierRoutedV1,
    HandoffOfferedV1,
    RoutedStep,
)
from motcua.shared.local_broker import LocalBroker, free_port
from motcua.shared.messaging.outbox import envelope_headers
from motcua.shared.testing.helpers import bearer, service_process, wait_http_ok
from motcua.shared.testing.signing import use_legacy_keystore

DESKS = ("000.01.31.H14", "000.01.32.H14", "000.01.33.H14", "000.01.34.H14")
PENDING = re.compile(r"^motcua_outbox_pending (\S+)$", re.MULTILINE)
APPLIED = re.compile(
    r'^motcua_consumed_records_total\{[^}]*event_type="dossier.handoff_offered"'
    r'[^}]*outcome="applied"[^}]*\} (\S+)$',
    re.MULTILINE,
)


def body(desk: str, number: int) -> dict[str, object]:
    return {
        "procedure_code": "1.001193" if number % 3 else "2.000488",
        "receiving_agency_code": desk,
        "channel": "direct",
        "applicant": {
            "full_name": "Nguyễn Thị Lan",
            "id_number": "001190012345",
            "phone": "0912345678",
            "email": "lan@example.vn",
            "address": "Thôn 3, xã Kim Long",
        },
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


async def run(args: argparse.Namespace, base: str, pid: int) -> dict[str, object]:
    headers = {d: bearer(d, Role.DESK_OFFICER) for d in DESKS}
    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        for i in range(20):  # warm-up: connections, caches, first pages
            desk = DESKS[i % len(DESKS)]
            await client.post(
                "/api/v1/dossiers", json=body(desk, i), headers=headers[desk]
            )
        await wait_drained(client, args.max_seconds)
        latencies: list[float] = []
        codes: list[tuple[str, str]] = []
        errors = 0
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(args.requests):
            queue.put_nowait(i)
        deadline = time.monotonic() + args.max_seconds

        async def worker() -> None:
            nonlocal errors
            while not queue.empty() and time.monotonic() < deadline:
                i = queue.get_nowait()
                desk = DESKS[i % len(DESKS)]
                started = time.perf_counter()
                extra = {"Idempotency-Key": f"bench-{i}"} if args.idempotency else {}
                response = await client.post(
                    "/api/v1/dossiers",
                    json=body(desk, i),
                    headers={**headers[desk], **extra},
                )
                latencies.append(time.perf_counter() - started)
                if response.status_code != 201:
                    errors += 1
                else:
                    codes.append((desk, response.json()["code"]))

        cpu_before = cpu_seconds(pid)
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        elapsed = time.perf_counter() - started
        drained_after = await wait_drained(client, args.max_seconds)
        # the relay publishes every event before this: its CPU is included
        cpu_used = cpu_seconds(pid) - cpu_before
        consumed = await consume_routing_events(
            args, client, pid, codes, args.bootstrap
        )
    return {
        "requests": len(latencies),
        "errors": errors,
        "concurrency": args.concurrency,
        "seconds": round(elapsed, 2),
        "rate_per_s": round(len(latencies) / elapsed, 1),
        "latency_ms": {
            "p50": round(1000 * statistics.median(latencies), 1),
            "p95": round(1000 * percentile(latencies, 0.95), 1),
            "p99": round(1000 * percentile(latencies, 0.99), 1),
            "max": round(1000 * max(latencies), 1),
        },
        "outbox_drained_after_s": drained_after,
        "idempotency_key": args.idempotency,
        "service_cpu_s": round(cpu_used, 2),
        "service_cpu_ms_per_dossier": round(
            1000 * cpu_used / max(1, len(latencies)), 2
        ),
        "routing_events": consumed,
    }


def routing_records(
    codes: list[tuple[str, str]],
) -> list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]:
    """What routing publishes for each dossier it routes (two events)."""
    out = []
    for desk, code in codes:
        step = RoutedStep(step_no=1, role="receiving_desk", agency_code=desk, hours=4)
        for data in (
            DossierRoutedV1(competent_agency_code=desk, steps=[step]),
            HandoffOfferedV1(
                step_no=1,
                to_agency_code=desk,
                role="receiving_desk",
                status=DossierStatus.IN_PROGRESS,
            ),
        ):
            event = new_event(data, dossier_code=code, producer="routing")
            headers = [(k, v.encode()) for k, v in envelope_headers(event).items()]
            out.append((data.TOPIC, event.to_json(), code.encode(), headers))
    return out


async def consume_routing_events(
    args: argparse.Namespace,
    client: httpx.AsyncClient,
    pid: int,
    codes: list[tuple[str, str]],
    bootstrap: str,
) -> dict[str, object]:
    """Intake's CPU to apply routing's events for every dossier received."""
    prepared = routing_records(codes)
    before = await applied(client)
    cpu_before = cpu_seconds(pid)
    started = time.perf_counter()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, value, key=key, headers=headers)
            for topic, value, key, headers in prepared
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    done = False
    while time.perf_counter() - started < args.max_seconds:
        if await applied(client) - before >= len(codes):
            done = True
            break
        await asyncio.sleep(0.1)
    cpu_used = cpu_seconds(pid) - cpu_before
    return {
        "dossiers": len(codes),
        "events": len(prepared),
        "all_applied": done,
        "seconds": round(time.perf_counter() - started, 2),
        "service_cpu_ms_per_dossier": round(1000 * cpu_used / max(1, len(codes)), 2),
    }


async def applied(client: httpx.AsyncClient) -> float:
    text = (await client.get("/metrics/")).text
    return sum(float(v) for v in APPLIED.findall(text))


async def wait_drained(client: httpx.AsyncClient, max_seconds: float) -> float | None:
    """Seconds after the last answer until the relay had published everything."""
    started = time.perf_counter()
    while time.perf_counter() - started < max_seconds:
        text = (await client.get("/metrics/")).text
        match = PENDING.search(text)
        if match and float(match.group(1)) == 0:
            return round(time.perf_counter() - started, 2)
        await asyncio.sleep(0.1)
    return None


def main() -> int:
    use_legacy_keystore()  # this bench publishes histories unsigned (legacy)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-seconds", type=float, default=120)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--idempotency",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Send an Idempotency-Key with each request (as desks and portals do).",
    )
    parser.add_argument("--output", type=Path, default=None, help="Write JSON here.")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="intake-bench-"))
    port = free_port()
    with ExitStack() as stack:
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not bootstrap:
            broker = stack.enter_context(LocalBroker("127.0.0.1", free_port()))
            bootstrap = broker.bootstrap_servers
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_PROFILE": os.environ.get("KAFKA_PROFILE", "tansu"),
            "MOTCUA_DATA_DIR": str(data_dir),
            "MOTCUA_INTAKE_HTTP_PORT": str(port),
            "MOTCUA_LOG_LEVEL": "WARNING",
        }
        if args.database_url:
            env["MOTCUA_INTAKE_DATABASE_URL"] = args.database_url
        process = stack.enter_context(
            service_process("motcua.intake", env, data_dir / "intake.log")
        )
        base = f"http://127.0.0.1:{port}"
        asyncio.run(wait_http_ok(f"{base}/readyz", timeout_s=90))
        args.bootstrap = bootstrap
        result = asyncio.run(run(args, base, process.pid))
    result["database"] = "postgresql" if args.database_url else "sqlite"
    print(json.dumps(result, indent=2))
    if args.output:
        args.output.write_text(json.dumps(result, indent=2) + "\n")
    consumed = result["routing_events"]
    ok = (
        result["errors"] == 0 and isinstance(consumed, dict) and consumed["all_applied"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
