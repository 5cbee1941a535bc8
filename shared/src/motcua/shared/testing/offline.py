"""A service as production builds it, without a broker: for fast tests of its
use cases and consumers.

``offline(app)`` runs the app's lifespan (the database migrated, startup
hooks run) but never connects to Kafka, so nothing is published and no
background worker starts. The test then

- calls the HTTP API in-process (``service.client``);
- hands events to the service's consumers with ``await service.feed(...)``:
  one batch through the production consumer core (the inbox drops
  duplicates, each record in its savepoint, a failing or refused record is
  dead-lettered through the outbox), exactly as records fetched from the
  topic would be;
- reads what the service would publish from its outbox
  (``await service.outbox()``).

The guarantees that need a broker (publication, consumer groups, offsets)
keep their real-broker tests (marked ``broker``).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from motcua.shared.contracts import EventEnvelope, parse_event
from motcua.shared.messaging.consumer import ConsumedRecord, EventConsumer
from motcua.shared.messaging.outbox import envelope_headers
from motcua.shared.messaging.tables import OutboxRecord
from motcua.shared.service import ServiceRuntime
from motcua.shared.settings import KafkaSettings
from motcua.shared.testing.signing import test_chains

NO_BROKER = KafkaSettings(bootstrap_servers="offline.invalid:9092")
"""Kafka settings for an offline service (never contacted)."""


@dataclass(frozen=True)
class OutboxRow:
    """A record the service queued for publication."""

    topic: str
    key: str | None
    headers: dict[str, str]
    payload: bytes

    def envelope(self) -> EventEnvelope[Any]:
        return parse_event(self.payload)


@dataclass
class OfflineService:
    app: FastAPI
    client: httpx.AsyncClient
    _offsets: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def runtime(self) -> ServiceRuntime:
        runtime: ServiceRuntime = self.app.state.runtime
        return runtime

    async def feed(
        self,
        *events: EventEnvelope[Any],
        group: str | None = None,
        signed: bool = True,
    ) -> None:
        """Apply ``events`` (in order, one batch) with every consumer of their
        topic (or only the consumer group ``group``). Acts of a dossier's
        history are signed by the entitled agency and linked after the
        service's own events and those fed before, as their producer would
        (``signed=False``: unsigned, as a system from before signing)."""
        records = []
        for event in events:
            body = None
            if signed:
                known = [
                    row.payload
                    for row in await self.outbox_rows(key=event.dossier_code)
                    if row.topic == event.data.TOPIC
                ]
                body = test_chains().body(event, known=known)
            records.append(self.record(event, body=body))
        await self.feed_records(*records, group=group)

    async def feed_records(
        self, *records: ConsumedRecord, group: str | None = None
    ) -> None:
        """:meth:`feed` for records as they come off the topic (poison too)."""
        for consumer in self._consumers(group):
            batch = [r for r in records if r.topic in consumer.topics]
            if batch:
                await consumer.apply_batch(batch)

    def record(
        self, event: EventEnvelope[Any], *, body: bytes | None = None, **headers: str
    ) -> ConsumedRecord:
        """The record a relay would publish for ``event`` (``body``: the
        record's bytes, e.g. signed, instead of the bare envelope)."""
        return ConsumedRecord(
            topic=event.data.TOPIC,
            partition=0,
            offset=next(self._offsets),
            key=event.dossier_code,
            value=body if body is not None else event.to_json(),
            headers={**envelope_headers(event), **headers},
        )

    def _consumers(self, group: str | None) -> list[EventConsumer]:
        consumers = [
            c for c in self.runtime.consumers if group is None or c.group_id == group
        ]
        if not consumers:
            msg = f"{self.runtime.name} has no consumer group {group!r}"
            raise LookupError(msg)
        return consumers

    async def outbox_rows(self, *, key: str | None = None) -> list[OutboxRow]:
        """Everything queued for publication, oldest first."""
        t = OutboxRecord.__table__  # type: ignore[attr-defined]
        query = sa.select(t.c.topic, t.c.key, t.c.headers, t.c.payload).order_by(t.c.id)
        if key is not None:
            query = query.where(t.c.key == key)
        async with self.runtime.sessions() as session:
            rows = (await session.execute(query)).all()
        return [
            OutboxRow(
                topic=row.topic,
                key=row.key,
                headers=_headers(row.headers),
                payload=row.payload,
            )
            for row in rows
        ]

    async def outbox(
        self, dossier_code: str | None = None, *, topic: str | None = None
    ) -> list[EventEnvelope[Any]]:
        """The events the service would publish (of a dossier, on a topic)."""
        rows = await self.outbox_rows(key=dossier_code)
        return [row.envelope() for row in rows if topic is None or row.topic == topic]


def _headers(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        value = json.loads(value)
    return {str(k): str(v) for k, v in dict(value or {}).items()}


@asynccontextmanager
async def offline(app: FastAPI) -> AsyncIterator[OfflineService]:
    """Run ``app``'s lifespan without a broker; yield the test's handle."""
    runtime: ServiceRuntime = app.state.runtime
    runtime.connect_broker = False
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test"
        ) as client:
            yield OfflineService(app=app, client=client)
