"""Reporting's sampled gauges on ``/metrics``, over the real broker: the lag of
groups it observes for the alerts (exact on a batched backlog, reported while
the group's own service is down) and the overdue dossiers of its read model."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from reporting_support import (
    OPERATOR,
    Dossier,
    publish,
    unique_agency,
    wait_projected,
)

from motcua.reporting.app import create_app
from motcua.reporting.settings import ReportingSettings
from motcua.shared.contracts import now_vn
from motcua.shared.kafka import declare_topics
from motcua.shared.settings import KafkaSettings
from motcua.shared.testing.helpers import read_metric, running_app, wait_for

pytestmark = pytest.mark.broker


async def _backlog(kafka: KafkaSettings, topic: str, group: str) -> None:
    """300 records in each of 3 partitions (big batches); the group, whose
    consumers are all gone, committed 100, 0 and 300."""
    await declare_topics(kafka, [topic])
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers,
        linger_ms=50,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    try:
        sends = [
            await producer.send(topic, b"x" * 64, partition=i % 3) for i in range(900)
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(3)])
        await consumer.commit(
            {TopicPartition(topic, p): o for p, o in {0: 100, 1: 0, 2: 300}.items()}
        )
    finally:
        await consumer.stop()


async def test_lag_of_an_observed_group_is_on_metrics_while_its_service_is_down(
    reporting_settings: ReportingSettings, unique: str
) -> None:
    topic, group = f"lag-{unique}", f"stopped-{unique}"
    await _backlog(reporting_settings.kafka, topic, group)
    settings = reporting_settings.model_copy(
        update={
            "console_groups": f"reporting,{group}",
            "metrics_sample_interval_s": 0.2,
        }
    )
    app = create_app(settings)
    runtime = app.state.runtime
    assert group in runtime.sampler.lag_groups  # from console_groups
    runtime.sampler.watch_lag([group], [topic])  # this test's own topic
    async with running_app(app) as client:

        async def lags() -> list[float | None] | None:
            found = [
                await read_metric(
                    client,
                    "motcua_consumer_lag",
                    group=group,
                    topic=topic,
                    partition=str(p),
                )
                for p in range(3)
            ]
            return found if None not in found else None

        assert await wait_for(lags, message="lag gauges") == [200.0, 300.0, 0.0]


async def test_overdue_and_nearly_due_dossiers_are_gauged(
    reporting_settings: ReportingSettings, unique: str
) -> None:
    settings = reporting_settings.model_copy(update={"metrics_sample_interval_s": 0.2})
    now = now_vn()
    late_agency, soon_agency = unique_agency(unique, "L"), unique_agency(unique, "S")
    late = Dossier(f"{late_agency}-250101-0001", late_agency)
    soon = Dossier(f"{soon_agency}-250101-0001", soon_agency)
    events = [
        late.received(now - timedelta(days=10), now - timedelta(days=1)),
        soon.received(now - timedelta(days=1), now + timedelta(hours=2)),
    ]
    app = create_app(settings)
    async with running_app(app) as client:
        await publish(settings.kafka, events)
        await wait_projected(app, [e.event_id for e in events])

        async def agree_with_console() -> tuple[float, float] | None:
            overview = (
                await client.get("/api/v1/console/overview", headers=OPERATOR)
            ).json()
            overdue = sum(a["overdue"] for a in overview["agencies"])
            nearly = sum(a["nearly_due"] for a in overview["agencies"])
            gauges = (
                await read_metric(client, "motcua_reporting_dossiers_overdue"),
                await read_metric(client, "motcua_reporting_dossiers_nearly_due"),
            )
            return gauges if gauges == (overdue, nearly) else None

        overdue, nearly = await wait_for(agree_with_console, message="gauges")
        assert overdue >= 1
        assert nearly >= 1
