"""Send latency and throughput of the notification service.

Starts a private tansu broker, the three provider simulators and the
notification service in this process (real ports, real HTTP and SMTP), then
publishes N ``dossier.received`` events (each asks for an SMS and an email) and
measures, from the database:

- latency: event time -> provider accepted it (SMS) / SMTP accepted it (email);
- throughput: notices sent per second, first publish -> last acceptance.

    .venv/bin/python bench/notification_bench.py --dossiers 300
    .venv/bin/python bench/notification_bench.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI

from motcua.notification.app import create_app
from motcua.notification.settings import NotificationSettings
from motcua.notification.simulators.common import SimulatorSettings
from motcua.notification.simulators.mail import create_mail_simulator
from motcua.notification.simulators.postal import create_postal_simulator
from motcua.notification.simulators.sms import create_sms_simulator
from motcua.notification.tables import Notice
from motcua.shared.contracts import new_event, now_vn
from motcua.shared.contracts.common import Channel
from motcua.shared.contracts.dossier import DossierReceivedV1, Person
from motcua.shared.contracts.topics import DOSSIER_EVENTS
from motcua.shared.kafka import create_broker
from motcua.shared.local_broker import LocalBroker, free_port
from motcua.shared.settings import CommonSettings, KafkaSettings


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


def received(code: str, n: int) -> Any:
    at = now_vn()
    return new_event(
        DossierReceivedV1(
            procedure_code="1.001193",
            procedure_name="Đăng ký khai sinh",
            channel=Channel.DIRECT,
            receiving_agency_code="000.00.12.H14",
            received_at=at,
            due_at=at + timedelta(days=3),
            applicant=Person(
                full_name="Nguyễn Văn Bình",
                phone=f"09{n:08d}",
                email=f"cong.dan.{n}@example.vn",
            ),
        ),
        dossier_code=code,
        producer="intake",
        occurred_at=at,
    )


async def wait_sent(runtime: Any, expected: int) -> None:
    """Wait until ``expected`` notices were taken by their provider."""
    deadline = time.perf_counter() + 600
    while True:
        async with runtime.sessions() as session:
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
        if (done or 0) >= expected:
            return
        if time.perf_counter() > deadline:
            sys.exit(f"only {done}/{expected} sent after 600 s")
        await asyncio.sleep(0.01)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(
    dossiers: int, database_url: str | None, concurrency: int, one_at_a_time: bool
) -> None:
    broker_port = free_port()
    local = LocalBroker("127.0.0.1", broker_port).start()
    kafka = KafkaSettings(
        bootstrap_servers=local.bootstrap_servers, profile="tansu", partitions=3
    )
    sim = SimulatorSettings(receipt_delay_s=0.05)
    ports = {name: free_port() for name in ("sms", "postal", "mail", "smtp", "svc")}
    tmp = Path(tempfile.mkdtemp(prefix="notification-bench-"))
    settings = NotificationSettings(
        database_url=database_url,
        kafka=kafka,
        common=CommonSettings(data_dir=tmp, environment="test", log_level="WARNING"),
        http_port=ports["svc"],
        sms_gateway_url=f"http://127.0.0.1:{ports['sms']}",
        postal_api_url=f"http://127.0.0.1:{ports['postal']}",
        smtp_port=ports["smtp"],
        sms_rate_per_s=1000,
        email_rate_per_s=1000,
        worker_concurrency=concurrency,
    )
    app = create_app(settings)
    try:
        async with (
            serve(create_sms_simulator(sim), ports["sms"]),
            serve(create_postal_simulator(sim), ports["postal"]),
            serve(create_mail_simulator(sim, smtp_port=ports["smtp"]), ports["mail"]),
            serve(app, ports["svc"]),
        ):
            runtime = app.state.runtime
            while not (  # noqa: ASYNC110  (polling the runtime's own state)
                runtime.broker_connected
                and all(
                    s.consumer and s.consumer.assignment()
                    for s in runtime.broker.subscribers
                )
            ):
                await asyncio.sleep(0.1)
            producer = create_broker(kafka, client_id="bench")
            await producer.start()
            started = time.perf_counter()
            stamp = time.strftime("%H%M%S")
            for n in range(dossiers):
                event = received(f"000.00.12.H14-{stamp}-{n:05d}", n)
                await producer.publish(
                    event.to_json(), DOSSIER_EVENTS, key=event.dossier_code.encode()
                )
                if one_at_a_time:
                    await wait_sent(runtime, 2 * (n + 1))
            await producer.stop()
            published = time.perf_counter() - started
            await wait_sent(runtime, 2 * dossiers)
            elapsed = time.perf_counter() - started
            async with runtime.sessions() as session:
                rows = (await session.execute(sa.select(Notice))).scalars().all()
    finally:
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
    backend = "PostgreSQL" if database_url else "SQLite"
    print(
        f"{dossiers} dossiers, {len(rows)} notices, {backend}, published in {published:.2f} s"
    )
    print(
        f"throughput: {len(rows) / elapsed:.0f} notices/s ({elapsed:.2f} s to the last send)"
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
    args = parser.parse_args()
    asyncio.run(
        run(args.dossiers, args.database_url, args.concurrency, args.one_at_a_time)
    )


if __name__ == "__main__":
    main()
