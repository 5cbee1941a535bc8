"""Offset continuity: a record the broker skipped is read again, never lost.

motcua's producers write no transactions and its topics are not compacted, so
the offsets a consumer reads from one partition follow each other without a
hole. tansu 0.6.0 (memory storage) breaks that under concurrent producers: a
fetch can return a batch appended *after* one still being written, the
consumer's position moves past the earlier batch, and its records are never
read. That is how one dossier of ``bench-20261206T145331`` was never routed;
``bench/broker_gaps.py`` reproduces it (several skipped records per minute with
eight producers on two partitions). ADR 0018 records the decision.

So every reader checks each partition's offsets against the next one it
expects. At a hole it keeps the records before it, seeks the partition back to
the first missing offset and reads again, after a short, growing pause. A hole
that is still there after ``max_rereads`` reads is a real one (a transaction
marker or compaction on a real cluster, written by someone else): it is logged
and skipped. The checks are pure; ``contiguous`` is the aiokafka adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

log = structlog.get_logger(__name__)


class _Positioned(Protocol):
    @property
    def offset(self) -> int: ...


@dataclass(frozen=True)
class OffsetGap:
    """Offsets ``expected`` up to ``received`` (excluded) were not handed out."""

    partition: TopicPartition
    expected: int
    received: int
    kept: int
    """How many of the batch's records of this partition precede the hole."""


class OffsetContinuity:
    """The next offset each partition should hand out, and the holes seen."""

    def __init__(self, *, max_rereads: int = 8, first_pause_s: float = 0.005) -> None:
        self._next: dict[TopicPartition, int] = {}
        self._rereads: dict[tuple[TopicPartition, int], int] = {}
        self._skipped: set[tuple[TopicPartition, int]] = set()
        self._max_rereads = max_rereads
        self._first_pause_s = first_pause_s

    def knows(self, tp: TopicPartition) -> bool:
        return tp in self._next

    def expect(self, tp: TopicPartition, offset: int) -> None:
        self._next[tp] = offset

    def gap(
        self, tp: TopicPartition, records: Sequence[_Positioned]
    ) -> OffsetGap | None:
        """The first hole in this partition's records, if any (pure)."""
        expected = self._next.get(tp)
        for index, record in enumerate(records):
            if (
                expected is not None
                and record.offset > expected
                and (tp, expected) not in self._skipped
            ):
                return OffsetGap(tp, expected, record.offset, index)
            expected = record.offset + 1
        return None

    def reread(self, gap: OffsetGap) -> float | None:
        """The pause before reading the hole again, or ``None``: skip it."""
        key = (gap.partition, gap.expected)
        attempt = self._rereads.get(key, 0) + 1
        if attempt > self._max_rereads:
            del self._rereads[key]
            self._skipped.add(key)
            return None
        self._rereads[key] = attempt
        return self._first_pause_s * float(2 ** (attempt - 1))

    def advance(self, tp: TopicPartition, records: Sequence[_Positioned]) -> None:
        if not records:
            return
        if self._rereads or self._skipped:
            passed = range(
                self._next.get(tp, records[0].offset), records[-1].offset + 1
            )
            for key in [k for k in (*self._rereads, *self._skipped) if k[0] == tp]:
                if key[1] in passed:
                    self._rereads.pop(key, None)
                    self._skipped.discard(key)
        self._next[tp] = records[-1].offset + 1

    def forget(self, tp: TopicPartition) -> None:
        self._next.pop(tp, None)


async def contiguous(
    consumer: AIOKafkaConsumer,
    continuity: OffsetContinuity,
    batch: Mapping[TopicPartition, Sequence[Any]],
    *,
    grouped: bool,
    reader: str,
    count: Callable[[str], None] | None = None,
) -> tuple[dict[TopicPartition, Sequence[Any]], float]:
    """The batch's records up to any hole, per partition, and the pause to take.

    A partition with a hole is sought back to its first missing offset (its
    records after the hole come again with the next fetch); the caller commits
    or records only what is returned and calls ``continuity.advance`` for it.
    ``grouped``: the consumer commits in a group, so a partition's first next
    offset is the group's committed one (``ForgetOnRebalance`` makes every
    assignment start there again).
    """
    kept: dict[TopicPartition, Sequence[Any]] = {}
    pause = 0.0
    for tp, records in batch.items():
        if not continuity.knows(tp):
            continuity.expect(tp, await _baseline(consumer, tp, grouped=grouped))
        kept[tp] = records
        while (hole := continuity.gap(tp, records)) is not None:
            wait = continuity.reread(hole)
            outcome = "skipped" if wait is None else "reread"
            # skipped: records may be lost for good, an operator must look
            emit = log.error if wait is None else log.warning
            emit(
                f"offset_gap_{outcome}",
                reader=reader,
                topic=tp.topic,
                partition=tp.partition,
                expected=hole.expected,
                received=hole.received,
            )
            if count is not None:
                count(outcome)
            if wait is not None:
                consumer.seek(tp, hole.expected)
                kept[tp] = records[: hole.kept]
                pause = max(pause, wait)
                break
    return kept, pause


class ForgetOnRebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Partitions revoked or assigned start again from the committed offset:
    another instance may have moved them on in between."""

    def __init__(self, continuity: OffsetContinuity) -> None:
        self._continuity = continuity

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        for tp in revoked:
            self._continuity.forget(tp)

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        for tp in assigned:
            self._continuity.forget(tp)


async def _baseline(
    consumer: AIOKafkaConsumer, tp: TopicPartition, *, grouped: bool
) -> int:
    if grouped:
        committed = await consumer.committed(tp)
        if committed is not None:
            return int(committed)
    beginning = await consumer.beginning_offsets([tp])
    return int(beginning[tp])
