"""What the bench sees of the pipeline, from outside the services: a plain
consumer of both topics (when each dossier's events appeared) and the
reporting group's committed offsets (when reporting had applied them)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from motcua.shared.contracts import headers as h
from motcua.shared.contracts.topics import DOSSIER_EVENTS, NOTIFICATION_EVENTS
from motcua.shared.messaging.continuity import OffsetContinuity, contiguous
from motcua.shared.settings import KafkaSettings

ROUTED = frozenset({"dossier.routed", "dossier.dispatch_queued"})


@dataclass
class Sighting:
    """Wall-clock times (``time.perf_counter``) at which the bench saw things."""

    received_at: float | None = None
    received_position: tuple[int, int] | None = None  # partition, offset
    routed_at: float | None = None
    notified_at: float | None = None
    visible_at: float | None = None
    delivered_channels: set[str] = field(default_factory=set)
    received_sent: float | None = None
    """Broker timestamps (wall-clock seconds) of the records: when the relay
    sent its ``dossier.received`` and its first ``notification.delivered``."""
    delivered_sent: float | None = None


class PipelineObserver:
    def __init__(self, settings: KafkaSettings, codes: set[str] | None = None) -> None:
        self._settings = settings
        self.sightings: dict[str, Sighting] = defaultdict(Sighting)
        self.records = 0
        self.gaps_reread = 0
        """Holes in a partition's offsets this reader read again (ADR 0018)."""
        self._codes = codes
        self._tasks: list[asyncio.Task[None]] = []
        self._consumer: AIOKafkaConsumer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._pending_visibility: dict[int, list[tuple[int, str]]] = defaultdict(list)
        self.committed: dict[str, dict[int, int]] = {}
        self.traffic: dict[str, dict[str, list[int]]] = defaultdict(
            lambda: defaultdict(lambda: [0, 0])
        )
        """topic → event type → [records, bytes (key, value and headers)]."""

    def watch(self, code: str) -> None:
        if self._codes is not None:
            self._codes.add(code)

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            fetch_max_wait_ms=20,
            max_partition_fetch_bytes=8 * 1024 * 1024,
        )
        await self._consumer.start()
        partitions = []
        for topic in (DOSSIER_EVENTS, NOTIFICATION_EVENTS):
            for p in await self._partitions(topic):
                partitions.append(TopicPartition(topic, p))
        self._consumer.assign(partitions)
        await self._consumer.seek_to_beginning(*partitions)
        self._admin = AIOKafkaAdminClient(
            bootstrap_servers=self._settings.bootstrap_servers
        )
        await self._admin.start()
        self._tasks = [
            asyncio.create_task(self._read()),
            asyncio.create_task(self._poll_reporting()),
        ]

    async def _partitions(self, topic: str) -> list[int]:
        assert self._consumer is not None
        for _ in range(100):
            found = self._consumer.partitions_for_topic(topic)
            if found:
                return sorted(found)
            await self._consumer._client.force_metadata_update()
            await asyncio.sleep(0.1)
        msg = f"topic {topic} does not exist"
        raise RuntimeError(msg)

    async def _read(self) -> None:
        assert self._consumer is not None
        continuity = OffsetContinuity()
        while True:
            batch = await self._consumer.getmany(timeout_ms=200, max_records=20_000)
            # the bench's own reader must not miss what the broker skipped
            # either, or a clean run would not reconcile
            kept, pause = await contiguous(
                self._consumer,
                continuity,
                batch,
                grouped=False,
                reader="bench",
                count=self._count_gap,
            )
            now = time.perf_counter()
            for tp, records in kept.items():
                self.records += len(records)
                for record in records:
                    self._see(record, now)
                continuity.advance(tp, records)
            if pause:
                await asyncio.sleep(pause)

    def _count_gap(self, outcome: str) -> None:
        self.gaps_reread += outcome == "reread"

    def _see(self, record: object, now: float) -> None:
        key = getattr(record, "key", None)
        if key is None:
            return
        # Every dossier is recorded: the event may arrive before intake's HTTP
        # answer has told the bench the dossier's code.
        code = key.decode()
        headers = {
            k: v.decode(errors="replace")
            for k, v in getattr(record, "headers", ()) or ()
        }
        event_type = headers.get(h.EVENT_TYPE, "")
        counted = self.traffic[record.topic][event_type]  # type: ignore[attr-defined]
        counted[0] += 1
        counted[1] += (
            len(key)
            + len(getattr(record, "value", b"") or b"")
            + sum(len(k) + len(v) for k, v in getattr(record, "headers", ()) or ())
        )
        seen = self.sightings[code]
        if event_type == "dossier.received" and seen.received_at is None:
            seen.received_at = now
            partition, offset = record.partition, record.offset  # type: ignore[attr-defined]
            seen.received_position = (partition, offset)
            seen.received_sent = _sent(record)
            self._pending_visibility[partition].append((offset, code))
        elif event_type in ROUTED and seen.routed_at is None:
            seen.routed_at = now
        elif event_type == "notification.delivered":
            if seen.notified_at is None:
                seen.notified_at = now
                seen.delivered_sent = _sent(record)
            seen.delivered_channels.add(_channel(record))

    async def _poll_reporting(self, group: str = "reporting") -> None:
        assert self._admin is not None
        partitions = [
            TopicPartition(DOSSIER_EVENTS, p)
            for p in await self._partitions(DOSSIER_EVENTS)
        ]
        while True:
            offsets = await self._admin.list_consumer_group_offsets(
                group, partitions=partitions
            )
            now = time.perf_counter()
            committed = {
                tp.partition: meta.offset
                for tp, meta in offsets.items()
                if meta.offset >= 0
            }
            self.committed[group] = committed
            for partition, pending in self._pending_visibility.items():
                done = committed.get(partition, -1)
                keep = []
                for offset, code in pending:
                    if offset < done:
                        self.sightings[code].visible_at = now
                    else:
                        keep.append((offset, code))
                pending[:] = keep
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._consumer is not None:
            await self._consumer.stop()
        if self._admin is not None:
            await self._admin.close()


def _sent(record: object) -> float | None:
    stamp = getattr(record, "timestamp", None)
    return stamp / 1000 if isinstance(stamp, int) and stamp > 0 else None


def _channel(record: object) -> str:
    import json

    try:
        return str(json.loads(record.value)["data"]["channel"])  # type: ignore[attr-defined]
    except (ValueError, KeyError, TypeError):
        return "?"
