"""A broker that lost what was published (ADR 0008): the outbox relay sees it
(a new cluster id, a partition ending before what it had acknowledged) and
publishes every retained row again, in order; a broker that lost nothing
gets nothing twice."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from aiokafka.admin import AIOKafkaAdminClient
from messaging_support import create_tables, read_topic, withdrawal, write_events

from motcua.shared.db import create_engine, create_session_factory
from motcua.shared.kafka import create_broker, declare_topics, kafka_publisher
from motcua.shared.local_broker import LocalBroker, free_port
from motcua.shared.messaging import OutboxRelay
from motcua.shared.messaging.tables import BrokerMark, OutboxRecord
from motcua.shared.offsets import broker_probe
from motcua.shared.settings import KafkaSettings
from motcua.shared.testing.databases import sqlite_url

pytestmark = pytest.mark.broker

TOPIC = "t.loss"
CODES = [f"000.00.12.H14-260101-{n:04d}" for n in range(1, 7)]


async def _marks(sessions: object) -> dict[tuple[str, int], int]:
    async with sessions() as session:  # type: ignore[operator]
        rows = (await session.execute(sa.select(BrokerMark))).scalars()
        return {(r.topic, r.partition): r.offset for r in rows}


async def test_a_new_or_shortened_broker_log_gets_the_outbox_again(
    tmp_path: Path,
) -> None:
    port = free_port()
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}", profile="tansu")
    engine = create_engine(sqlite_url(tmp_path))
    await create_tables(engine)
    sessions = create_session_factory(engine)
    first = LocalBroker("127.0.0.1", port).start()
    broker = create_broker(kafka, client_id="loss")
    relay = OutboxRelay(
        name="loss",
        engine=engine,
        sessions=sessions,
        publish=kafka_publisher(broker),
        probe=broker_probe(kafka),
    )
    events = [withdrawal(code) for code in CODES]
    try:
        await declare_topics(kafka, [TOPIC])
        await broker.start()
        await relay.check_broker()  # what the relay does when it starts
        await write_events(sessions, TOPIC, events)
        assert await relay.publish_pending() == len(events)
        marks = await _marks(sessions)
        assert sum(offset + 1 for offset in marks.values()) == len(events)
        assert len(await read_topic(kafka, TOPIC, len(events))) == len(events)
        # the broker still holds everything: nothing is published twice
        assert await relay.check_broker() == 0
        assert await relay.publish_pending() == 0

        # the same cluster, the topic deleted and made again: a shorter log
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
        await admin.start()
        try:
            await admin.delete_topics([TOPIC])
        finally:
            await admin.close()
        await declare_topics(kafka, [TOPIC])
        assert await relay.check_broker() == len(events)
        assert await relay.publish_pending() == len(events)
        again = await read_topic(kafka, TOPIC, len(events))
        assert sorted(r.key.decode() for r in again) == sorted(CODES)

        # a whole new broker on the same address (a restart of the local one)
        first.stop()
        second = LocalBroker("127.0.0.1", port).start()
        try:
            assert second.cluster_id != first.cluster_id
            await declare_topics(kafka, [TOPIC])
            assert await relay.check_broker() == len(events)
            assert await relay.publish_pending() == len(events)
            replayed = await read_topic(kafka, TOPIC, len(events))
            by_partition: dict[int, list[str]] = {}
            for record in replayed:
                headers = dict(record.headers)
                by_partition.setdefault(record.partition, []).append(
                    headers["event-id"].decode()
                )
            written = [str(e.event_id) for e in events]
            for ids in by_partition.values():  # per key, the order written
                assert ids == [i for i in written if i in ids]
            assert sorted(i for ids in by_partition.values() for i in ids) == sorted(
                written
            )
        finally:
            await broker.stop()
            second.stop()
        async with sessions() as session:
            pending = await session.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxRecord)
                .where(OutboxRecord.published_at.is_(None))  # type: ignore[union-attr]
            )
        assert pending == 0
    finally:
        first.stop()
        await engine.dispose()
