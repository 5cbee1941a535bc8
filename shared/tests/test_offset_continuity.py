"""Offset continuity (``motcua.shared.messaging.continuity``): a record the
broker handed out past a hole is read again, a real hole is skipped once."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from aiokafka import TopicPartition

from motcua.shared.messaging.continuity import OffsetContinuity

TP = TopicPartition("t", 0)


@dataclass(frozen=True)
class Rec:
    offset: int


def recs(*offsets: int) -> list[Rec]:
    return [Rec(o) for o in offsets]


def test_contiguous_records_have_no_gap_and_move_the_next_offset() -> None:
    c = OffsetContinuity()
    c.expect(TP, 10)
    assert c.gap(TP, recs(10, 11, 12)) is None
    c.advance(TP, recs(10, 11, 12))
    assert c.gap(TP, recs(13)) is None


def test_a_hole_before_the_batch_and_one_inside_it_are_found() -> None:
    c = OffsetContinuity()
    c.expect(TP, 10)
    before = c.gap(TP, recs(12, 13))
    assert before is not None
    assert (before.expected, before.received, before.kept) == (10, 12, 0)
    inside = c.gap(TP, recs(10, 11, 14, 15))
    assert inside is not None
    assert (inside.expected, inside.received, inside.kept) == (12, 14, 2)


def test_an_unknown_partition_has_no_gap_until_its_next_offset_is_known() -> None:
    c = OffsetContinuity()
    assert not c.knows(TP)
    assert c.gap(TP, recs(7, 8)) is None
    c.expect(TP, 5)
    assert c.gap(TP, recs(3, 4, 5)) is None  # read again after a rewind
    assert c.gap(TP, recs(6)) is not None
    c.forget(TP)  # a rebalance: the committed offset is asked again
    assert not c.knows(TP)


def test_rereads_pause_longer_each_time_then_the_hole_is_skipped_once() -> None:
    c = OffsetContinuity(max_rereads=3, first_pause_s=0.01)
    c.expect(TP, 10)
    hole = c.gap(TP, recs(12))
    assert hole is not None
    assert [c.reread(hole) for _ in range(4)] == [0.01, 0.02, 0.04, None]
    # skipped: the same hole is no longer reported, a later one still is
    assert c.gap(TP, recs(12, 13)) is None
    later = c.gap(TP, recs(12, 13, 15))
    assert later is not None
    assert later.expected == 14


def test_reading_past_a_hole_forgets_its_rereads() -> None:
    c = OffsetContinuity(max_rereads=2, first_pause_s=0.01)
    c.expect(TP, 10)
    hole = c.gap(TP, recs(12))
    assert hole is not None
    assert c.reread(hole) == 0.01
    c.advance(TP, recs(10, 11, 12))  # the reread found the missing records
    c.expect(TP, 10)
    again = c.gap(TP, recs(12))
    assert again is not None
    assert c.reread(again) == 0.01  # a new hole at the same place starts afresh


@pytest.mark.parametrize("first", [0, 7])
def test_partitions_are_independent(first: int) -> None:
    c = OffsetContinuity()
    other = TopicPartition("t", 1)
    c.expect(TP, first)
    c.expect(other, 100)
    c.advance(TP, recs(first, first + 1))
    assert c.gap(other, recs(100)) is None
    assert c.gap(TP, recs(first + 2)) is None
