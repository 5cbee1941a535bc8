"""Offsets read from the broker: true high watermarks and consumer-group lag,
for the lag gauges every service samples (``motcua_consumer_lag``), reporting's
console and rebuild, and the outbox relay's check that the broker still holds
what it published (:func:`broker_probe`, ADR 0008). Two tansu facts shape this
module. ListOffsets "latest" answers the last *batch's*
base offset + 1, so end offsets undercount batched topics: the high watermark
is taken from a fetch response instead (seek into the last batch, fetch, read
``highwater``), which is exact on tansu and on Kafka alike. And aiokafka's
``list_consumer_group_offsets`` must be given explicit partitions, or tansu's
answer cannot be decoded and the connection closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from motcua.shared.kafka import _admin_kwargs as admin_kwargs
from motcua.shared.messaging.relay import BrokerProbe, BrokerState
from motcua.shared.settings import KafkaSettings


class BrokerTimeoutError(RuntimeError):
    pass


@asynccontextmanager
async def group_less_reader(settings: KafkaSettings) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer outside any group: reads anywhere, commits nothing."""
    consumer = AIOKafkaConsumer(
        **admin_kwargs(settings),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


async def partitions_of(
    consumer: AIOKafkaConsumer, topics: Sequence[str]
) -> list[TopicPartition]:
    existing = await consumer.topics()
    return [
        TopicPartition(topic, p)
        for topic in topics
        if topic in existing
        for p in sorted(consumer.partitions_for_topic(topic) or ())
    ]


async def read_highwaters(
    consumer: AIOKafkaConsumer, tps: Sequence[TopicPartition], timeout_s: float
) -> dict[TopicPartition, int]:
    """High watermarks of ``tps`` through ``consumer`` (which it reassigns)."""
    if not tps:
        return {}
    consumer.assign(list(tps))
    listed = await consumer.end_offsets(list(tps))
    for tp in tps:
        consumer.seek(tp, max(listed[tp] - 1, 0))  # inside the last batch
    deadline = asyncio.get_running_loop().time() + timeout_s
    while any(consumer.highwater(tp) is None for tp in tps):
        if asyncio.get_running_loop().time() > deadline:
            msg = "the broker did not report high watermarks in time"
            raise BrokerTimeoutError(msg)
        await consumer.getmany(timeout_ms=50, max_records=1)
    return {tp: int(consumer.highwater(tp)) for tp in tps}


async def high_watermarks(
    settings: KafkaSettings, topics: Sequence[str], *, timeout_s: float = 10.0
) -> dict[TopicPartition, int]:
    """The true end offset of every partition of ``topics`` (missing topics: none)."""
    async with group_less_reader(settings) as consumer:
        tps = await partitions_of(consumer, topics)
        return await read_highwaters(consumer, tps, timeout_s)


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None
    end: int

    @property
    def lag(self) -> int:
        """Never negative: the end is read after the committed offset."""
        return max(self.end - (self.committed or 0), 0)


async def consumer_lag(
    settings: KafkaSettings,
    groups: Sequence[str],
    topics: Sequence[str],
    *,
    timeout_s: float = 10.0,
) -> list[PartitionLag]:
    """Lag of each group on each partition of the topics it has committed on.

    A topic counts as consumed by a group once the group committed on one of
    its partitions; its other partitions then lag by everything they hold.
    Committed offsets are read *before* the ends: both only grow, so a group
    catching up never shows more read than there is.
    """
    lags, _ends = await lag_and_ends(settings, groups, topics, timeout_s=timeout_s)
    return lags


async def lag_and_ends(
    settings: KafkaSettings,
    groups: Sequence[str],
    topics: Sequence[str],
    *,
    timeout_s: float = 10.0,
) -> tuple[list[PartitionLag], dict[TopicPartition, int]]:
    """:func:`consumer_lag`, and the end offsets read for it."""
    async with group_less_reader(settings) as consumer:
        tps = await partitions_of(consumer, topics)
        if not tps:
            return [], {}
        committed = await _committed(settings, groups, tps)
        ends = await read_highwaters(consumer, tps, timeout_s)
    ordered = sorted(tps, key=lambda tp: (tp.topic, tp.partition))
    lags: list[PartitionLag] = []
    for group in groups:
        offsets = committed[group]
        consumed = {tp.topic for tp in offsets}
        lags.extend(
            PartitionLag(group, tp.topic, tp.partition, offsets.get(tp), ends[tp])
            for tp in ordered
            if tp.topic in consumed
        )
    return lags, ends


async def _committed(
    settings: KafkaSettings, groups: Sequence[str], tps: Sequence[TopicPartition]
) -> dict[str, dict[TopicPartition, int]]:
    admin = AIOKafkaAdminClient(**admin_kwargs(settings))
    await admin.start()
    try:
        found: dict[str, dict[TopicPartition, int]] = {}
        for group in groups:
            offsets = await admin.list_consumer_group_offsets(
                group, partitions=list(tps)
            )
            found[group] = {
                tp: meta.offset
                for tp, meta in offsets.items()
                if meta is not None and meta.offset >= 0
            }
        return found
    finally:
        await admin.close()


async def cluster_id(settings: KafkaSettings) -> str:
    """The cluster's id (Metadata): a new one means a new, empty cluster."""
    admin = AIOKafkaAdminClient(**admin_kwargs(settings))
    await admin.start()
    try:
        described = await admin.describe_cluster()
    finally:
        await admin.close()
    return str(described.get("cluster_id") or "")


def broker_probe(settings: KafkaSettings) -> BrokerProbe:
    """What the outbox relay asks the broker to find out whether it lost what
    was published: its cluster id and the end of the partitions it wrote."""

    async def probe(partitions: Sequence[tuple[str, int]]) -> BrokerState:
        async with group_less_reader(settings) as consumer:
            topics = sorted({t for t, _ in partitions})
            existing = {
                (tp.topic, tp.partition) for tp in await partitions_of(consumer, topics)
            }
            tps = [TopicPartition(t, p) for t, p in partitions if (t, p) in existing]
            ends = await read_highwaters(consumer, tps, timeout_s=10.0)
        return BrokerState(
            cluster_id=await cluster_id(settings),
            ends={(tp.topic, tp.partition): end for tp, end in ends.items()},
        )

    return probe
