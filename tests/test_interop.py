"""An independent Kafka client (librdkafka, through confluent-kafka) reads what
motcua publishes: well-formed JSON envelopes with the documented headers."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from motcua.shared.contracts import headers as h
from motcua.shared.contracts import new_event
from motcua.shared.contracts.common import Channel
from motcua.shared.contracts.dossier import DossierReceivedV2, Person
from motcua.shared.db import create_engine, create_session_factory, migrate
from motcua.shared.kafka import create_broker, declare_topics, kafka_publisher
from motcua.shared.messaging import OutboxRelay, add_event
from motcua.shared.settings import KafkaSettings
from motcua.shared.signing.keystore import FileKeystore, KeyMaterial
from motcua.shared.signing.store import SIGNER, open_chain
from motcua.shared.signing.verifier import verify_history
from motcua.shared.testing.brokers import BrokerUnderTest
from motcua.shared.testing.helpers import sealed

pytestmark = pytest.mark.broker

MIGRATIONS = (
    Path(__file__).resolve().parents[1] / "services/intake/src/motcua/intake/migrations"
)
TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$")


def _read_all(bootstrap: str, topic: str, partitions: int, want: int) -> list:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"interop-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    records = []
    try:
        for _ in range(200):
            message = consumer.poll(0.1)
            if message is not None and not message.error():
                records.append(message)
            if len(records) >= want:
                break
    finally:
        consumer.close()
    return records


async def test_librdkafka_reads_our_envelopes_and_headers(
    kafka_broker: BrokerUnderTest,
    kafka_settings: KafkaSettings,
    sqlite_database_url: str,
    unique: str,
    signing_keystore: FileKeystore,
) -> None:
    topic = f"interop.{unique}"
    await declare_topics(kafka_settings, [topic])
    await migrate(
        MIGRATIONS, sqlite_database_url, version_table="alembic_version_interop"
    )
    engine = create_engine(sqlite_database_url)
    keys = KeyMaterial(signing_keystore)
    sessions = create_session_factory(engine, info={SIGNER: lambda: keys})
    broker = create_broker(kafka_settings, client_id="interop")
    await broker.start()
    relay = OutboxRelay(
        name="interop",
        engine=engine,
        sessions=sessions,
        publish=kafka_publisher(broker),
    )
    event = new_event(
        DossierReceivedV2(
            procedure_code="1.001193",
            procedure_name="Đăng ký khai sinh",
            channel=Channel.DIRECT,
            receiving_agency_code="000.01.31.H14",
            received_at=datetime.fromisoformat("2026-03-02T10:00:00+07:00"),
            personal_data=sealed(
                "000.01.31.H14-260302-0001", Person(full_name="Nguyễn Thị D")
            ),
        ),
        dossier_code="000.01.31.H14-260302-0001",
        producer="intake",
    )
    try:
        async with sessions() as session, session.begin():
            await open_chain(session, event.dossier_code)
            add_event(session, event, topic=topic)
        assert await relay.publish_pending() == 1
    finally:
        await broker.stop()
        await engine.dispose()

    (record,) = await asyncio.to_thread(
        _read_all, kafka_broker.bootstrap_servers, topic, kafka_settings.partitions, 1
    )
    assert record.key() == b"000.01.31.H14-260302-0001"
    headers = {k: v.decode() for k, v in record.headers()}
    assert uuid.UUID(headers[h.EVENT_ID]) == event.event_id
    assert headers[h.EVENT_TYPE] == "dossier.received"
    assert headers[h.SCHEMA_VERSION] == "2"
    assert headers[h.CONTENT_TYPE] == "application/json"
    assert headers[h.PRODUCER] == "intake"
    assert TRACEPARENT.match(headers[h.TRACEPARENT])
    body = json.loads(record.value())
    assert body["event_id"] == headers[h.EVENT_ID]
    assert body["occurred_at"].endswith("+07:00")
    assert body["data"]["procedure_code"] == "1.001193"
    assert set(body) >= {
        "event_id",
        "event_type",
        "schema_version",
        "occurred_at",
        "dossier_code",
        "producer",
        "correlation_id",
        "data",
        "chain",
        "signature",
    }
    # what librdkafka read verifies against the published keys (ADR 0012)
    report = verify_history(event.dossier_code, [record.value()], keys.keyring())
    assert [e.status for e in report.events] == ["valid"]
    assert report.events[0].signer == "000.01.31.H14"


def _partitions_by_librdkafka(
    bootstrap: str, topic: str, keys: list[str], partitioner: str | None
) -> dict[str, int]:
    from confluent_kafka import Producer

    config = {"bootstrap.servers": bootstrap}
    if partitioner:
        config["partitioner"] = partitioner
    producer = Producer(config)
    chosen: dict[str, int] = {}

    def delivered(error: object, message: object) -> None:
        assert error is None, error
        chosen[message.key().decode()] = message.partition()  # type: ignore[attr-defined]

    for key in keys:
        producer.produce(topic, b"{}", key=key.encode(), on_delivery=delivered)
    producer.flush(30)
    return chosen


async def test_a_dossier_stays_on_one_partition_only_with_the_murmur2_partitioner(
    kafka_broker: BrokerUnderTest, kafka_settings: KafkaSettings, unique: str
) -> None:
    """motcua's producers (aiokafka's default partitioner: murmur2 of the key,
    as Kafka's Java client) and librdkafka with ``partitioner=murmur2_random``
    put a dossier code on the same partition; librdkafka's own default
    (``consistent_random``, CRC32) does not: a dossier's events would then be
    split across partitions and lose their order (docs/integrators.md)."""
    from aiokafka.partitioner import DefaultPartitioner

    topic = f"partitioner.{unique}"
    await declare_topics(kafka_settings, [topic])
    partitions = list(range(kafka_settings.partitions))
    keys = [f"000.01.31.H14-260302-{n:04d}" for n in range(1, 61)]
    ours = {k: DefaultPartitioner()(k.encode(), partitions, partitions) for k in keys}
    compatible, default = await asyncio.gather(
        asyncio.to_thread(
            _partitions_by_librdkafka,
            kafka_broker.bootstrap_servers,
            topic,
            keys,
            "murmur2_random",
        ),
        asyncio.to_thread(
            _partitions_by_librdkafka, kafka_broker.bootstrap_servers, topic, keys, None
        ),
    )
    assert compatible == ours
    assert default != ours
