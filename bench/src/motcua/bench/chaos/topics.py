"""The topics as an outsider sees them: an independent client (librdkafka,
through confluent-kafka) reads and writes, with the partitioner motcua's
producers use (murmur2), so a forged record lands where a dossier's events are."""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from motcua.shared.contracts.topics import (
    DEAD_LETTER_PREFIX,
    DOSSIER_EVENTS,
    NOTIFICATION_EVENTS,
)


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    headers: dict[str, str]

    def body(self) -> dict[str, Any]:
        try:
            obj = json.loads(self.value)
        except ValueError:
            return {}
        return obj if isinstance(obj, dict) else {}


def read_topics(
    bootstrap: str, topics: Iterable[str], *, idle_s: float = 2.0, limit_s: float = 60
) -> list[Record]:
    """Every record of ``topics`` from the beginning, until ``idle_s`` pass
    without one (end offsets are not trusted: tansu undercounts them)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"chaos-reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 50,
            "message.max.bytes": 2 * 1024 * 1024,
        }
    )
    records: list[Record] = []
    try:
        metadata = consumer.list_topics(timeout=10)
        assignment = [
            TopicPartition(topic, p, 0)
            for topic in topics
            if topic in metadata.topics
            for p in metadata.topics[topic].partitions
        ]
        if not assignment:
            return records
        consumer.assign(assignment)
        started = last = time.monotonic()
        while time.monotonic() - last < idle_s and time.monotonic() - started < limit_s:
            message = consumer.poll(0.1)
            if message is None or message.error():
                continue
            last = time.monotonic()
            records.append(_record(message))
    finally:
        consumer.close()
    return records


def _record(message: Any) -> Record:
    key = message.key()
    return Record(
        topic=str(message.topic()),
        partition=int(message.partition()),
        offset=int(message.offset()),
        key=bytes(key).decode(errors="replace") if key else None,
        value=bytes(message.value() or b""),
        headers={
            str(k): bytes(v or b"").decode(errors="replace")
            for k, v in message.headers() or []
        },
    )


def dead_letter_topics(bootstrap: str) -> list[str]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "chaos-meta"})
    try:
        names = consumer.list_topics(timeout=10).topics
    finally:
        consumer.close()
    return sorted(t for t in names if t.startswith(DEAD_LETTER_PREFIX))


def produce(
    bootstrap: str, records: Iterable[tuple[str, str, bytes, dict[str, str]]]
) -> None:
    """Write records as any client could (topic, key, value, headers)."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "partitioner": "murmur2_random",  # motcua's: a dossier stays on one partition
            "message.max.bytes": 2 * 1024 * 1024,
        }
    )
    errors: list[str] = []

    def delivered(error: Any, _message: Any) -> None:
        if error is not None:
            errors.append(str(error))

    for topic, key, value, headers in records:
        producer.produce(
            topic,
            value,
            key=key.encode(),
            headers=list(headers.items()),
            on_delivery=delivered,
        )
    producer.flush(30)
    if errors:
        msg = f"could not write: {errors[:3]}"
        raise RuntimeError(msg)


@dataclass
class Ledger:
    """What the topics say happened to each dossier (records deduplicated by
    event id: a replay after a broker loss shows an event twice, once)."""

    receptions: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    routings: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    notices: dict[tuple[str, str], set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )
    """(dossier, channel) → notification ids of its reception notice, as its
    outcome events name them (a notice's earlier steps are not published, ADR
    0017): two ids on one channel are a notice made twice."""
    delivered: set[str] = field(default_factory=set)
    dead_letters: dict[str, list[tuple[str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    """event id → (consumer, reason) of each dead letter of it."""

    @classmethod
    def read(cls, bootstrap: str) -> Ledger:
        ledger = cls()
        topics = [DOSSIER_EVENTS, NOTIFICATION_EVENTS, *dead_letter_topics(bootstrap)]
        seen: set[tuple[str, str]] = set()
        for record in read_topics(bootstrap, topics):
            ledger._add(record, seen)
        return ledger

    def _add(self, record: Record, seen: set[tuple[str, str]]) -> None:
        event_id = record.headers.get("event-id", "")
        if record.topic.startswith(DEAD_LETTER_PREFIX):
            entry = (
                record.headers.get("dlt-consumer", ""),
                record.headers.get("dlt-reason", ""),
            )
            key = (f"{record.topic}:{event_id}", entry[1])
            if key not in seen:
                seen.add(key)
                self.dead_letters[event_id].append(entry)
            return
        if (record.topic, event_id) in seen:
            return
        seen.add((record.topic, event_id))
        event_type = record.headers.get("event-type", "")
        code = record.key or ""
        if event_type == "dossier.received":
            self.receptions[code].add(event_id)
        elif event_type in ("dossier.routed", "dossier.dispatch_queued"):
            self.routings[code].add(event_id)
        elif event_type.startswith("notification."):
            data = record.body().get("data") or {}
            if data.get("template") != "dossier.received":
                return
            nid, channel = str(data.get("notification_id")), str(data.get("channel"))
            self.notices[(code, channel)].add(nid)
            if event_type == "notification.delivered":
                self.delivered.add(nid)
