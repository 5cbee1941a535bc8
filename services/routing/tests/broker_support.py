"""Talking to the real broker and to a running routing service in tests, or
to one running without a broker (``offline_routing``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from fastapi import FastAPI

from motcua.routing.app import create_app
from motcua.routing.scheduler import DeadlineScheduler
from motcua.routing.settings import RoutingSettings
from motcua.shared.auth import Role
from motcua.shared.contracts import EventEnvelope, parse_event
from motcua.shared.contracts import headers as h
from motcua.shared.contracts.topics import DOSSIER_EVENTS, NOTIFICATION_EVENTS
from motcua.shared.kafka import consumer_profile, declare_topics
from motcua.shared.messaging.outbox import envelope_headers
from motcua.shared.messaging.tables import OutboxRecord
from motcua.shared.settings import CommonSettings, KafkaSettings
from motcua.shared.testing.helpers import bearer, running_app, wait_for
from motcua.shared.testing.offline import NO_BROKER, OfflineService, offline
from motcua.shared.testing.signing import test_chains


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def publish(
    kafka: KafkaSettings, *events: EventEnvelope[Any], signed: bool = True
) -> None:
    """Publish envelopes as another service's relay would (key, headers):
    acts of a dossier's history signed by the entitled agency and linked after
    what this test published for the dossier (``signed=False``: as a system
    from before signing would, unsigned legacy)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers, acks="all", enable_idempotence=False
    )
    await producer.start()
    try:
        for event in events:
            headers = envelope_headers(event)
            await producer.send_and_wait(
                event.data.TOPIC,
                test_chains().body(event) if signed else event.to_json(),
                key=event.dossier_code.encode(),
                headers=[(k, v.encode()) for k, v in headers.items()],
            )
    finally:
        await producer.stop()


@dataclass
class Record:
    envelope: EventEnvelope[Any]
    headers: dict[str, str]


@dataclass
class TopicTap:
    """Everything on a topic from its beginning, read as it arrives."""

    consumer: AIOKafkaConsumer
    records: list[Record] = field(default_factory=list)

    async def poll(self) -> None:
        batch = await self.consumer.getmany(timeout_ms=100)
        for partition_records in batch.values():
            for raw in partition_records:
                self.records.append(
                    Record(
                        parse_event(raw.value),
                        {k: v.decode() for k, v in raw.headers or ()},
                    )
                )

    def of(self, code: str, producer: str = "routing") -> list[Record]:
        return [
            r
            for r in self.records
            if r.envelope.dossier_code == code and r.envelope.producer == producer
        ]

    async def wait(
        self, probe: Callable[[], Any], message: str, timeout_s: float = 20
    ) -> Any:
        async def step() -> Any:
            await self.poll()
            return probe()

        return await wait_for(step, timeout_s=timeout_s, message=message)


@asynccontextmanager
async def tap(
    kafka: KafkaSettings, topic: str = DOSSIER_EVENTS
) -> AsyncIterator[TopicTap]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers, group_id=None, fetch_max_wait_ms=50
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        yield TopicTap(consumer)
    finally:
        await consumer.stop()


async def start_group_at_end(
    kafka: KafkaSettings,
    group: str,
    topics: tuple[str, ...] = (DOSSIER_EVENTS, NOTIFICATION_EVENTS),
) -> None:
    """Commit a new consumer group's offsets at the topics' ends, so the
    service under test starts from now instead of replaying the session's
    earlier tests. (tansu's ListOffsets undercounts batched topics, so the ends
    are found by reading.)"""
    profile = consumer_profile(kafka)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        fetch_max_wait_ms=profile.fetch_max_wait_ms,
        session_timeout_ms=profile.session_timeout_ms,
        heartbeat_interval_ms=profile.heartbeat_interval_ms,
    )
    await declare_topics(kafka, topics)
    consumer.subscribe(topics=list(topics))
    await consumer.start()
    try:

        async def assigned() -> bool:
            await consumer.getmany(timeout_ms=50)
            return bool(consumer.assignment())

        await wait_for(assigned, timeout_s=30, message=f"{group} joined")
        partitions = sorted(consumer.assignment())
        await consumer.seek_to_end(*partitions)
        while await consumer.getmany(timeout_ms=300):
            pass
        await consumer.commit({tp: await consumer.position(tp) for tp in partitions})
    finally:
        await consumer.stop()


@dataclass
class RoutingUnderTest:
    app: FastAPI
    client: httpx.AsyncClient
    clock: Clock
    offline: OfflineService | None = None
    """Set when it runs without a broker: :meth:`feed` it events."""

    async def feed(self, *events: EventEnvelope[Any]) -> None:
        """Apply events as one batch off the topics (offline only)."""
        assert self.offline is not None
        await self.offline.feed(*events)

    @property
    def sessions(self) -> Any:
        return self.app.state.runtime.sessions

    @property
    def scheduler(self) -> DeadlineScheduler:
        scheduler: DeadlineScheduler = self.app.state.deadlines
        return scheduler

    async def scalar(self, stmt: Any) -> Any:
        async with self.sessions() as session:
            return await session.scalar(stmt)

    async def scalars(self, stmt: Any) -> Any:
        async with self.sessions() as session:
            return (await session.scalars(stmt)).all()

    async def outbox_count(self, code: str) -> int:
        """Events queued about one dossier (the group also replays others)."""
        stmt = (
            sa.select(sa.func.count())
            .select_from(OutboxRecord)
            .where(OutboxRecord.key == code)  # type: ignore[arg-type]
        )
        return int(await self.scalar(stmt))

    async def dossier(self, code: str, agency: str = "*") -> dict[str, Any]:
        response = await self.client.get(
            f"/api/v1/dossiers/{code}", headers=bearer(agency, Role.OPERATOR)
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def routed(self, code: str) -> dict[str, Any] | None:
        response = await self.client.get(
            f"/api/v1/dossiers/{code}", headers=bearer("*", Role.OPERATOR)
        )
        return response.json() if response.status_code == 200 else None

    async def act(
        self,
        code: str,
        action: str,
        agency: str,
        *roles: Role,
        body: dict[str, Any] | None = None,
        expect: int = 200,
        name: str = "Cán bộ thử nghiệm",
    ) -> dict[str, Any]:
        response = await self.client.post(
            f"/api/v1/dossiers/{code}/{action}",
            json=body or {},
            headers=bearer(agency, *(roles or (Role.AGENCY_OFFICER,)), subject=name),
        )
        assert response.status_code == expect, response.text
        result: dict[str, Any] = response.json()
        return result


def settings_for(
    database_url: str, kafka: KafkaSettings, data_dir: Path, **overrides: Any
) -> RoutingSettings:
    return RoutingSettings(
        database_url=database_url,
        kafka=kafka,
        common=CommonSettings(data_dir=data_dir),
        relay_poll_interval_s=0.1,
        deadline_scan_interval_s=3600,  # tests drive the scheduler themselves
        **overrides,
    )


@asynccontextmanager
async def routing_service(
    database_url: str,
    kafka: KafkaSettings,
    data_dir: Path,
    clock: Clock,
    *,
    group: str,
    join_running: bool = False,
    **overrides: Any,
) -> AsyncIterator[RoutingUnderTest]:
    """An in-process routing service in its own consumer group, starting at the
    topics' ends. (A group per test: tansu can keep a departed member as the
    group's leader when two members leave at once, and every later join then
    waits for it forever.)"""
    settings = settings_for(
        database_url, kafka, data_dir, consumer_group=group, **overrides
    )
    if not join_running:  # a second instance joins the group as it is
        await start_group_at_end(kafka, group)
    app = create_app(settings, clock=clock)
    async with running_app(app) as client:
        yield RoutingUnderTest(app, client, clock)


@asynccontextmanager
async def offline_routing(
    database_url: str, data_dir: Path, clock: Clock, **overrides: Any
) -> AsyncIterator[RoutingUnderTest]:
    """An in-process routing service without a broker: its consumer is fed
    directly (:mod:`motcua.shared.testing.offline`), its events stay in the
    outbox, the deadline scheduler runs when the test asks."""
    settings = settings_for(database_url, NO_BROKER, data_dir, **overrides)
    app = create_app(settings, clock=clock)
    async with offline(app) as service:
        yield RoutingUnderTest(app, service.client, clock, offline=service)


def agency_header(record: Record) -> str | None:
    return record.headers.get(h.AGENCY_CODE)


async def until(probe: Callable[[], Any], message: str, timeout_s: float = 60) -> Any:
    # generous: a passing test returns at once, a loaded CI machine is slow
    return await wait_for(probe, timeout_s=timeout_s, message=message)
