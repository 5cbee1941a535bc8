"""The operator console over the real broker: consumer lag against a known
backlog, dead letters viewed and re-published, and the page in Chromium."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from reporting_support import (
    ID_NUMBER,
    OPERATOR,
    Dossier,
    FlakyHandler,
    publish,
    unique_agency,
)

from motcua.reporting import broker_view
from motcua.reporting.app import create_app
from motcua.reporting.settings import ReportingSettings
from motcua.shared.contracts import now_vn
from motcua.shared.contracts.topics import dead_letter_topic
from motcua.shared.db import create_engine, create_session_factory
from motcua.shared.kafka import (
    create_broker,
    declare_topics,
    kafka_publisher,
    subscribe,
)
from motcua.shared.messaging import EventConsumer, OutboxRelay
from motcua.shared.messaging.tables import InboxRecord, OutboxRecord
from motcua.shared.settings import KafkaSettings
from motcua.shared.testing.brokers import BrokerUnderTest
from motcua.shared.testing.databases import sqlite_url
from motcua.shared.testing.helpers import running_app, wait_for, wait_http_ok
from motcua.shared.testing.system import running_system

pytestmark = pytest.mark.broker

ROOT = Path(__file__).resolve().parents[3]


async def test_lag_is_exact_on_a_batched_backlog(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    topic, group = f"lag-{unique}", f"lag-group-{unique}"
    await declare_topics(kafka_settings, [topic])
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_settings.bootstrap_servers,
        linger_ms=50,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    try:  # 300 records per partition, sent in big batches
        sends = [
            await producer.send(topic, b"x" * 64, partition=i % 3) for i in range(900)
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()
    committed = {0: 100, 1: 0, 2: 300}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka_settings.bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in committed])
        await consumer.commit(
            {TopicPartition(topic, p): o for p, o in committed.items()}
        )
    finally:
        await consumer.stop()

    lags, ends = await broker_view.consumer_lag(
        kafka_settings, [group, f"idle-{unique}"], [topic]
    )
    assert sorted(ends.values()) == [300, 300, 300]
    assert [(lag.partition, lag.committed, lag.end, lag.lag) for lag in lags] == [
        (0, 100, 300, 200),
        (1, 0, 300, 300),
        (2, 300, 300, 0),
    ]
    assert all(
        lag.group == group for lag in lags
    )  # the idle group consumes nothing here


async def test_dead_letters_are_shown_masked_and_republished_once_fixed(
    reporting_settings: ReportingSettings, unique: str, tmp_path: Path
) -> None:
    topic, group = f"dl-{unique}", f"dl-group-{unique}"
    kafka = reporting_settings.kafka
    handler = FlakyHandler()
    engine = create_engine(
        sqlite_url(tmp_path, "flaky")
    )  # the failing service's own DB
    async with engine.begin() as conn:
        await conn.run_sync(
            lambda c: OutboxRecord.metadata.create_all(
                c, tables=[OutboxRecord.__table__, InboxRecord.__table__]
            )
        )
    sessions = create_session_factory(engine)
    broker = create_broker(kafka, client_id="flaky")
    relay = OutboxRelay(
        name=f"flaky-{unique}",
        engine=engine,
        sessions=sessions,
        publish=kafka_publisher(broker),
        poll_interval_s=0.1,
    )
    consumer = EventConsumer(
        group_id=group,
        topics=[topic],
        handler=handler,
        sessions=sessions,
        producer="flaky",
        max_attempts=1,
        on_committed=relay.wake,
    )
    subscribe(broker, consumer, kafka, batch_size=50)
    await declare_topics(kafka, [topic, dead_letter_topic(group)])
    await broker.start()
    relay.start()
    settings = reporting_settings.model_copy(
        update={"console_groups": f"reporting,{group}"}
    )
    app = create_app(settings)
    try:
        async with running_app(app) as client:
            agency = unique_agency(unique, "D")
            dossier = Dossier(f"{agency}-250101-0001", agency)
            event = dossier.received(now_vn(), None)
            sender = create_broker(kafka, client_id="flaky-sender")
            await sender.connect()
            from motcua.shared.messaging.outbox import envelope_headers

            await (
                await kafka_publisher(sender)(
                    topic,
                    dossier.code.encode(),
                    event.to_json(),
                    envelope_headers(event),
                )
            )
            await sender.stop()

            async def dead_lettered() -> dict | None:
                overview = (
                    await client.get("/api/v1/console/overview", headers=OPERATOR)
                ).json()
                row = next(d for d in overview["dead_letters"] if d["group"] == group)
                return overview if row["count"] == 1 else None

            overview = await wait_for(
                dead_lettered, timeout_s=60, message="dead letter"
            )
            assert overview["broker_error"] is None
            listed = await client.get(
                f"/api/v1/console/dead-letters/{dead_letter_topic(group)}",
                headers=OPERATOR,
            )
            [letter] = listed.json()
            assert letter["original_topic"] == topic
            assert letter["event_id"] == str(event.event_id)
            assert letter["error"] == "RuntimeError: cannot apply this record yet"
            shown = str(letter["body"])
            assert ID_NUMBER not in shown
            assert "Nguyễn Văn A" not in shown
            assert "0912345678" not in shown
            assert letter["body"]["data"]["procedure_code"] == "1.001193"

            handler.fixed = True  # the fix is deployed
            path = f"/api/v1/console/dead-letters/{dead_letter_topic(group)}/{letter['partition']}/{letter['offset']}/republish"
            first = await client.post(path, headers=OPERATOR)
            assert first.status_code == 202, first.text
            await wait_for(
                lambda: _async(handler.applied == [str(event.event_id)]),
                timeout_s=60,
                message="the consumer re-applied the record",
            )
            twice = await client.post(path, headers=OPERATOR)
            assert twice.status_code == 409
            overview = (
                await client.get("/api/v1/console/overview", headers=OPERATOR)
            ).json()
            row = next(d for d in overview["dead_letters"] if d["group"] == group)
            assert (row["count"], row["republished"]) == (1, 1)
    finally:
        await relay.stop()
        await broker.stop()
        await engine.dispose()


async def _async(value: bool) -> bool:
    return value


async def test_a_huge_poison_record_is_shown_cut_and_masked_at_once(
    reporting_settings: ReportingSettings, unique: str
) -> None:
    """A 900 KB dead letter once kept reporting at 100 % CPU for minutes (the
    masking scan was quadratic): now its beginning is shown, masked, and
    ``/healthz`` answers meanwhile."""
    group = f"huge-{unique}"
    topic = dead_letter_topic(group)
    kafka = reporting_settings.kafka
    await declare_topics(kafka, [topic])
    body = b'{"note": "lan@example.vn 001203004567 ' + b"a" * 900_000 + b'"}'
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic,
            body,
            key=b"000.00.12.H14-260302-0001",
            headers=[("dlt-reason", b"malformed"), ("dlt-consumer", group.encode())],
        )
    finally:
        await producer.stop()
    app = create_app(reporting_settings)
    async with running_app(app) as client:
        listing = asyncio.create_task(
            client.get(f"/api/v1/console/dead-letters/{topic}", headers=OPERATOR)
        )
        assert (await client.get("/healthz")).status_code == 200
        [letter] = (await listing).json()
    assert letter["reason"] == "malformed"
    assert letter["body_truncated"] is True
    assert letter["body_bytes"] == len(body)
    shown = letter["body"]
    assert isinstance(shown, str)
    assert shown.startswith('{"note": "***@*** *********567 aaa')
    assert len(shown) < 17_000


async def test_console_in_chromium(
    kafka_broker: BrokerUnderTest,
    kafka_settings: KafkaSettings,
    tmp_path: Path,
    unique: str,
) -> None:
    from playwright.async_api import async_playwright

    agency = unique_agency(unique, "W")
    late = Dossier(f"{agency}-251120-0001", agency)
    soon = Dossier(f"{agency}-251120-0002", agency)
    now = now_vn()
    events = [
        late.received(now - timedelta(days=3), now - timedelta(hours=2)),
        late.offered(now - timedelta(days=3)),
        soon.received(now - timedelta(hours=3), now + timedelta(hours=5)),
    ]
    with running_system(
        bootstrap_servers=kafka_broker.bootstrap_servers,
        profile=kafka_broker.profile,
        data_dir=tmp_path,
        services=("reporting",),
    ) as system:
        url = system.urls["reporting"]
        await wait_http_ok(f"{url}/readyz")
        await publish(kafka_settings, events)
        async with httpx.AsyncClient(
            base_url=url, headers=OPERATOR, timeout=10
        ) as client:

            async def shown() -> bool:
                body = (await client.get("/api/v1/console/overview")).json()
                ours = [a for a in body["agencies"] if a["agency_code"] == agency]
                return bool(ours) and ours[0]["overdue"] == 1 and bool(body["lag"])

            await wait_for(shown, timeout_s=60, interval_s=0.3, message="console data")
        token = OPERATOR["Authorization"].removeprefix("Bearer ")
        async with async_playwright() as p:
            browser = await p.chromium.launch(
                executable_path=os.environ.get("MOTCUA_CHROMIUM", "/usr/bin/chromium"),
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--disable-quic",
                ],
            )
            try:
                page = await browser.new_page(viewport={"width": 1400, "height": 1800})
                await page.goto(f"{url}/console#token={token}")
                await page.wait_for_function(
                    "document.querySelector('#updated').textContent.startsWith('Cập nhật lúc')"
                )
                topics = await page.inner_text("[data-testid=topics]")
                assert "motcua.dossier.events" in topics
                types = await page.inner_text("[data-testid=event-types]")
                assert "dossier.received" in types
                assert "dossier.handoff_offered" in types
                lag = await page.inner_text("[data-testid=lag]")
                assert "reporting" in lag
                assert "motcua.dossier.events" in lag
                dlt = await page.inner_text("[data-testid=dead-letters]")
                assert "motcua.dlt.routing" in dlt
                agencies = await page.inner_text("[data-testid=agencies]")
                assert agency in agencies
                deadlines = await page.inner_text("[data-testid=deadlines]")
                assert late.code in deadlines
                assert "Quá hạn" in deadlines
                assert soon.code in deadlines
                assert "Sắp đến hạn" in deadlines
                await page.click(f"text={late.code}")
                await page.wait_for_selector("#timeline-table:not([hidden])")
                timeline = await page.inner_text("[data-testid=timeline]")
                assert "dossier.received" in timeline
                assert "dossier.handoff_offered" in timeline
                assert "Bảng điều khiển vận hành" in await page.title()
                artifacts = ROOT / "test-artifacts"
                artifacts.mkdir(exist_ok=True)
                await page.screenshot(
                    path=str(artifacts / "reporting-console.png"), full_page=True
                )
            finally:
                await browser.close()
