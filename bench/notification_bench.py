"""Send latency, throughput and CPU cost of the notification service.

Starts a private tansu broker and the three provider simulators in this
process, and the notification service in a child process of its own (real
ports, real HTTP and SMTP), then publishes N ``dossier.received`` events (each
asks for an SMS and an email), each followed by the routing events notification
skips, with the headers the outbox relay gives them, and measures:

- latency: event time -> provider accepted it (SMS) / SMTP accepted it (email);
- throughput: notices sent per second, first publish -> last acceptance;
- CPU: the service process's CPU time (user + system, psutil) from the first
  publish until every notice is delivered (SMS receipts included) and every
  ``notification.*`` event is published, divided by the dossiers.

    .venv/bin/python bench/notification_bench.py --dossiers 300
    .venv/bin/python bench/notification_bench.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench
    .venv/bin/python bench/notification_bench.py --py-spy profile.txt   # raw py-spy profile of the service
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import multiprocessing
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI

from motcua.bench.load_events import dossier_code, dossier_events
from motcua.notification.settings import NotificationSettings
from motcua.notification.simulators.common import SimulatorSettings
from motcua.notification.simulators.mail import create_mail_simulator
from motcua.notification.simulators.postal import create_postal_simulator
from motcua.notification.simulators.sms import create_sms_simulator
from motcua.notification.tables import Notice
from motcua.shared.contracts.topics import DOSSIER_EVENTS
from motcua.shared.db import create_engine, create_session_factory
from motcua.shared.kafka import create_broker
from motcua.shared.local_broker import LocalBroker, free_port
from motcua.shared.messaging.outbox import envelope_headers
from motcua.shared.messaging.tables import OutboxRecord
from motcua.shared.settings import CommonSettings, KafkaSettings
from motcua.shared.testing.helpers import one_key_ring
from motcua.shared.testing.signing import use_legacy_keystore


@contextlib.asynccontextmanager
async def serve(app: FastAPI, port: int) -> AsyncIterator[None]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        await task


# -- the service, in a child process ------------------------------------------


def _service_process(
    config: dict[str, Any],
    ready: Any,
    stop: Any,
    cprofile: str | None,
    config_out: Any,
    idle_done: Any,
) -> None:
    from motcua.notification.app import create_app
    from motcua.shared.logging import configure_logging

    settings = NotificationSettings(
        kafka=KafkaSettings(**config.pop("kafka")),
        common=CommonSettings(**config.pop("common")),
        **config,
    )
    configure_logging("notification", level="WARNING")

    async def main() -> None:
        app = create_app(settings)
        runtime = app.state.runtime
        statements: collections.Counter[str] = collections.Counter()

        @sa.event.listens_for(runtime.engine.sync_engine, "before_cursor_execute")
        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            words = statement.split(None, 1)
            verb = words[0] if words else "?"
            table = re.search(r"(?:FROM|INTO|UPDATE)\s+(\w+)", statement)
            statements[f"{verb} {table.group(1) if table else ''}".strip()] += 1

        async with serve(app, settings.http_port):
            while not (  # noqa: ASYNC110  (polling the runtime's own state)
                runtime.broker_connected
                and all(
                    s.consumer and s.consumer.assignment()
                    for s in runtime.broker.subscribers
                )
            ):
                await asyncio.sleep(0.1)
            profiler = None
            if cprofile:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            statements.clear()
            ready.set()
            idle_reported = False
            while not stop.is_set():  # a multiprocessing event
                if idle_done.is_set() and not idle_reported:
                    # what the idle service ran, apart from the load's
                    config_out.put(dict(statements))
                    statements.clear()
                    idle_reported = True
                await asyncio.sleep(0.05)
            config_out.put(dict(statements))
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(cprofile)

    asyncio.run(main())


# -- the load -------------------------------------------------------------------


async def wait_done(sessions: Any, expected: int, *, delivered: bool) -> None:
    """Wait until ``expected`` notices were taken by their provider (or, with
    ``delivered``, are delivered and every outbox row is published)."""
    deadline = time.perf_counter() + 600
    while True:
        async with sessions() as session:
            if delivered:
                done = await session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Notice)
                    .where(sa.column("state") == "delivered")
                )
                pending = await session.scalar(
                    sa.select(sa.func.count())
                    .select_from(OutboxRecord)
                    .where(sa.column("published_at").is_(None))
                )
            else:
                done = await session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Notice)
                    .where(
                        sa.or_(
                            sa.column("accepted_at").isnot(None),
                            sa.column("delivered_at").isnot(None),
                        )
                    )
                )
                pending = 0
        if (done or 0) >= expected and not pending:
            return
        if time.perf_counter() > deadline:
            sys.exit(f"only {done}/{expected} done after 600 s ({pending} unpublished)")
        await asyncio.sleep(0.05)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def thread_cpu_s(process: psutil.Process) -> dict[int, float]:
    return {t.id: t.user_time + t.system_time for t in process.threads()}


async def run(args: argparse.Namespace) -> None:
    dossiers: int = args.dossiers
    broker_port = free_port()
    local = LocalBroker("127.0.0.1", broker_port).start()
    kafka = KafkaSettings(
        bootstrap_servers=local.bootstrap_servers, profile="tansu", partitions=3
    )
    sim = SimulatorSettings(receipt_delay_s=0.05)
    ports = {name: free_port() for name in ("sms", "postal", "mail", "smtp", "svc")}
    tmp = Path(tempfile.mkdtemp(prefix="notification-bench-"))
    config: dict[str, Any] = {
        "database_url": args.database_url,
        "kafka": kafka.model_dump(),
        "common": {"data_dir": tmp, "environment": "test", "log_level": "WARNING"},
        "http_port": ports["svc"],
        "sms_gateway_url": f"http://127.0.0.1:{ports['sms']}",
        "postal_api_url": f"http://127.0.0.1:{ports['postal']}",
        "smtp_port": ports["smtp"],
        "sms_rate_per_s": 1000,
        "email_rate_per_s": 1000,
        "worker_concurrency": args.concurrency,
    }
    settings = NotificationSettings(
        database_url=args.database_url,
        common=CommonSettings(data_dir=tmp, environment="test"),
    )
    engine = create_engine(settings.resolved_database_url)
    sessions = create_session_factory(engine)
    mp = multiprocessing.get_context("spawn")
    ready, stop, out, idle_done = mp.Event(), mp.Event(), mp.Queue(), mp.Event()
    child = mp.Process(
        target=_service_process,
        args=(config, ready, stop, args.cprofile, out, idle_done),
    )
    spy: subprocess.Popen[bytes] | None = None
    try:
        async with (
            serve(create_sms_simulator(sim), ports["sms"]),
            serve(create_postal_simulator(sim), ports["postal"]),
            serve(create_mail_simulator(sim, smtp_port=ports["smtp"]), ports["mail"]),
        ):
            child.start()
            while not ready.is_set():
                if not child.is_alive():
                    sys.exit("the notification service did not start")
                await asyncio.sleep(0.1)
            service = psutil.Process(child.pid)
            producer = create_broker(kafka, client_id="bench")
            await producer.start()
            if args.py_spy:
                spy = subprocess.Popen(  # noqa: ASYNC220  (once, before the load)
                    [
                        *("py-spy", "record", "-r", "200", "--gil", "--nonblocking"),
                        *("-f", "raw", "-o", args.py_spy, "-p", str(child.pid)),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                await asyncio.sleep(1.0)
            idle_started, idle_cpu = time.perf_counter(), cpu_s(service)
            await asyncio.sleep(args.idle_seconds)
            idle_elapsed = time.perf_counter() - idle_started
            idle_rate = (cpu_s(service) - idle_cpu) / idle_elapsed
            idle_done.set()
            idle_statements: dict[str, int] = out.get(timeout=30)
            idle_elapsed = time.perf_counter() - idle_started
            cpu_before = cpu_s(service)
            own_before = time.process_time()
            threads_before = thread_cpu_s(service)
            started = time.perf_counter()
            stamp = time.strftime("%H%M%S")
            for n in range(dossiers):
                for event in dossier_events(dossier_code(stamp, n), n):
                    await producer.publish(
                        event.to_json(),
                        DOSSIER_EVENTS,
                        key=event.dossier_code.encode(),
                        headers=envelope_headers(event),
                    )
                if args.one_at_a_time:
                    await wait_done(sessions, 2 * (n + 1), delivered=False)
            await producer.stop()
            published = time.perf_counter() - started
            await wait_done(sessions, 2 * dossiers, delivered=False)
            elapsed = time.perf_counter() - started
            await wait_done(sessions, 2 * dossiers, delivered=True)
            settled = time.perf_counter() - started
            cpu = cpu_s(service) - cpu_before
            own = time.process_time() - own_before
            threads = {
                tid: t - threads_before.get(tid, 0.0)
                for tid, t in thread_cpu_s(service).items()
            }
            main_thread = threads.get(service.pid, 0.0)
            if spy is not None:
                spy.send_signal(2)  # SIGINT: py-spy writes its profile
                spy.wait(timeout=60)
            async with sessions() as session:
                rows = (await session.execute(sa.select(Notice))).scalars().all()
                events = await session.scalar(
                    sa.select(sa.func.count()).select_from(OutboxRecord)
                )
            stop.set()
            statements: dict[str, int] = out.get(timeout=30)
            child.join(timeout=30)
    finally:
        if child.is_alive():
            child.terminate()
        await engine.dispose()
        local.stop()
    by_channel: dict[str, list[float]] = {"sms": [], "email": []}
    queued: list[float] = []
    for notice in rows:
        sent = notice.accepted_at or notice.delivered_at
        assert sent is not None
        occurred = notice.context["received_at"]
        by_channel[notice.channel].append(
            (sent - datetime.fromisoformat(occurred)).total_seconds() * 1000
        )
        queued.append(
            (notice.created_at - datetime.fromisoformat(occurred)).total_seconds()
            * 1000
        )
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"{dossiers} dossiers, {len(rows)} notices, {events} events, {backend}, "
        f"published in {published:.2f} s"
    )
    print(
        f"throughput: {len(rows) / elapsed:.0f} notices/s ({elapsed:.2f} s to the last "
        f"send, {settled:.2f} s until all delivered and published)"
    )
    print(
        f"service CPU: {cpu:.2f} s = {cpu * 1000 / dossiers:.2f} ms per dossier "
        f"({cpu / settled * 100:.0f}% of a core; event loop thread "
        f"{main_thread * 1000 / dossiers:.2f} ms, other threads "
        f"{(sum(threads.values()) - main_thread) * 1000 / dossiers:.2f} ms)"
    )
    net = cpu - idle_rate * settled
    print(
        f"bench process (simulators, producer) CPU: {own:.2f} s "
        f"({own / settled * 100:.0f}% of a core)"
    )
    print(
        f"idle CPU {idle_rate * 100:.1f}% of a core; net of idle: "
        f"{net * 1000 / dossiers:.2f} ms per dossier"
    )
    print(
        f"idle SQL statements per second: "
        f"{sum(idle_statements.values()) / idle_elapsed:.1f} ("
        + ", ".join(
            f"{k} {v / idle_elapsed:.1f}"
            for k, v in sorted(idle_statements.items(), key=lambda kv: -kv[1])[:8]
        )
        + ")"
    )
    print(
        f"SQL statements per dossier: {sum(statements.values()) / dossiers:.1f} ("
        + ", ".join(
            f"{k} {v / dossiers:.1f}"
            for k, v in sorted(statements.items(), key=lambda kv: -kv[1])[:12]
        )
        + ")"
    )
    print(
        f"event -> notice row written (consumer) ms: p50 {statistics.median(queued):.0f}  max {max(queued):.0f}"
    )
    for channel, values in by_channel.items():
        print(
            f"{channel:5s} latency ms: p50 {statistics.median(values):.0f}  "
            f"p95 {percentile(values, 0.95):.0f}  max {max(values):.0f}"
        )


def main() -> None:
    use_legacy_keystore()  # this bench publishes histories unsigned (legacy)
    one_key_ring()  # the service process and the events sealed here share it
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dossiers", type=int, default=300)
    parser.add_argument(
        "--concurrency", type=int, default=NotificationSettings().worker_concurrency
    )
    parser.add_argument(
        "--database-url", default=None, help="default: SQLite in a temp folder"
    )
    parser.add_argument(
        "--one-at-a-time",
        action="store_true",
        help="wait for each dossier's notices before publishing the next (latency)",
    )
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=5.0,
        help="measure the idle service's CPU this long first (subtracted in 'net')",
    )
    parser.add_argument(
        "--cprofile", default=None, help="write cProfile stats of the service here"
    )
    parser.add_argument(
        "--py-spy", default=None, help="record a raw py-spy profile of the service"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
