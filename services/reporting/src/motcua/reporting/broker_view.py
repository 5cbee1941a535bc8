"""What the operator console reads from the broker: consumer lag and the end
offsets (through :mod:`motcua.shared.offsets`, which knows tansu's ways) and
dead-letter records."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from motcua.shared.contracts import headers as h
from motcua.shared.kafka import _admin_kwargs
from motcua.shared.logging import mask_value
from motcua.shared.offsets import (  # the shared readers of offsets
    BrokerTimeoutError,
    lag_and_ends,
    partitions_of,
)
from motcua.shared.offsets import (
    group_less_reader as _reader,
)
from motcua.shared.offsets import (
    read_highwaters as _highwaters,
)
from motcua.shared.settings import KafkaSettings

MAX_SHOWN_BODY_BYTES = 16_384
"""Bytes of a dead letter's body the console shows (masked); the rest is cut."""


consumer_lag = lag_and_ends
"""Lag per group and partition, and the end offsets (the console counts dead
letters with them): the shared reading of :mod:`motcua.shared.offsets`."""


@dataclass(frozen=True)
class DeadLetter:
    """A record on a dead-letter topic, as the console shows it."""

    topic: str
    partition: int
    offset: int
    key: str | None
    headers: dict[str, str]
    value: bytes
    published_at: datetime

    @property
    def message_id(self) -> str:
        return (
            self.headers.get(h.EVENT_ID)
            or f"{self.topic}:{self.partition}:{self.offset}"
        )

    @property
    def truncated(self) -> bool:
        return len(self.value) > MAX_SHOWN_BODY_BYTES

    def masked_body(self) -> Any:
        """The failed body for display, with personal data masked; a body over
        :data:`MAX_SHOWN_BODY_BYTES` is shown as the text of its beginning
        (never parsed: a poison record must not cost the console more than
        reading it)."""
        if self.truncated:
            head = self.value[:MAX_SHOWN_BODY_BYTES].decode(errors="replace")
            return mask_value(head, max_chars=MAX_SHOWN_BODY_BYTES)
        try:
            return mask_value(json.loads(self.value))
        except (ValueError, RecursionError):
            return mask_value(self.value.decode(errors="replace"))


def _dead_letter(record: Any) -> DeadLetter:
    return DeadLetter(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key.decode(errors="replace") if record.key else None,
        headers={k: v.decode(errors="replace") for k, v in record.headers or ()},
        value=record.value or b"",
        published_at=datetime.fromtimestamp((record.timestamp or 0) / 1000, UTC),
    )


async def read_dead_letters(
    settings: KafkaSettings, topic: str, *, limit: int = 50, timeout_s: float = 10.0
) -> list[DeadLetter]:
    """The newest ``limit`` records of each partition of a dead-letter topic."""
    async with _reader(settings) as consumer:
        tps = await partitions_of(consumer, [topic])
        ends = await _highwaters(consumer, tps, timeout_s)
        wanted = {tp: max(end - limit, 0) for tp, end in ends.items() if end > 0}
        found: list[DeadLetter] = []
        if not wanted:
            return found
        consumer.assign(list(wanted))
        for tp, start in wanted.items():
            consumer.seek(tp, start)
        position = dict(wanted)
        deadline = asyncio.get_running_loop().time() + timeout_s
        while any(position[tp] < ends[tp] for tp in wanted):
            if asyncio.get_running_loop().time() > deadline:
                msg = f"could not read {topic} to its end in time"
                raise BrokerTimeoutError(msg)
            batch = await consumer.getmany(timeout_ms=100)
            for tp, records in batch.items():
                for record in records:
                    if record.offset < ends[tp]:
                        found.append(_dead_letter(record))
                    position[tp] = record.offset + 1
        return sorted(
            found, key=lambda d: (d.published_at, d.partition, d.offset), reverse=True
        )


async def read_record(
    settings: KafkaSettings,
    topic: str,
    partition: int,
    offset: int,
    *,
    timeout_s: float = 10.0,
) -> DeadLetter | None:
    """One record by position, or None if the partition does not hold it."""
    async with _reader(settings) as consumer:
        tps = await partitions_of(consumer, [topic])
        tp = TopicPartition(topic, partition)
        if tp not in tps:
            return None
        ends = await _highwaters(consumer, [tp], timeout_s)
        if not 0 <= offset < ends[tp]:
            return None
        consumer.seek(tp, offset)
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(tp, timeout_ms=100, max_records=1)
            for record in batch.get(tp, []):
                if record.offset == offset:
                    return _dead_letter(record)
                if record.offset > offset:
                    return None
        msg = f"could not read {topic}/{partition}/{offset} in time"
        raise BrokerTimeoutError(msg)


async def active_members(settings: KafkaSettings, group: str) -> int:
    """How many consumers are members of ``group`` right now."""
    admin = AIOKafkaAdminClient(**_admin_kwargs(settings))
    await admin.start()
    try:
        responses = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    # DescribeGroups: (error_code, group_id, state, protocol_type, protocol, members, …)
    return sum(len(g[5]) for r in responses for g in r.groups if g[1] == group)
