"""Each Biểu 06 column's rule, table-driven (pure, milliseconds).

Period: 15/12/2024 – 14/3/2025 (quarter 1 of 2025). Day numbers are ordinals.
"""

from __future__ import annotations

from datetime import date

import pytest

from motcua.reporting.bieu06 import (
    COLUMNS,
    Bieu06Counts,
    classify,
)
from motcua.reporting.periods import OPEN_DAY, official_quarter

Q = official_quarter(2025, 1)
START, END = Q.start_day, Q.end_day


def d(y: int, m: int, day: int) -> int:
    return date(y, m, day).toordinal()


def facts(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "received_day": d(2025, 1, 10),
        "channel": "direct",
        "open_until_day": OPEN_DAY,
        "closure": None,
        "timeliness": None,
        "due_day": d(2025, 1, 20),
        "paused": False,
    }
    return {**base, **overrides}


CASES = [
    (
        "online, resolved early",
        facts(
            channel="online",
            open_until_day=d(2025, 1, 15),
            closure="resolved",
            timeliness="early",
        ),
        {"received_online", "resolved_early"},
    ),
    (
        "postal counts with direct",
        facts(
            channel="postal",
            open_until_day=d(2025, 1, 20),
            closure="resolved",
            timeliness="on_time",
        ),
        {"received_direct", "resolved_on_time"},
    ),
    (
        "resolved late",
        facts(open_until_day=d(2025, 2, 1), closure="resolved", timeliness="late"),
        {"received_direct", "resolved_late"},
    ),
    (
        "withdrawal counts as on time",
        facts(open_until_day=d(2025, 1, 12), closure="withdrawn"),
        {"received_direct", "resolved_on_time"},
    ),
    (
        "open, due after the period end: within time",
        facts(due_day=d(2025, 3, 15)),
        {"received_direct", "in_progress_within"},
    ),
    (
        "open, due on the last day: overdue at the end",
        facts(due_day=d(2025, 3, 14)),
        {"received_direct", "in_progress_overdue"},
    ),
    (
        "open without appointment: within time",
        facts(due_day=None),
        {"received_direct", "in_progress_within"},
    ),
    (
        "paused (supplement, fee, stopped): within time",
        facts(due_day=d(2025, 1, 1), paused=True),
        {"received_direct", "in_progress_within"},
    ),
    (
        "closed after the period: still in progress at its end",
        facts(
            due_day=d(2025, 3, 1),
            open_until_day=d(2025, 3, 20),
            closure="resolved",
            timeliness="late",
        ),
        {"received_direct", "in_progress_overdue"},
    ),
    (
        "carried over, resolved in period",
        facts(
            received_day=d(2024, 12, 1),
            open_until_day=d(2025, 1, 5),
            closure="resolved",
            timeliness="on_time",
        ),
        {"carried_over", "resolved_on_time"},
    ),
    (
        "carried over, still open",
        facts(received_day=d(2024, 11, 1), due_day=d(2024, 12, 1)),
        {"carried_over", "in_progress_overdue"},
    ),
    (
        "received on the first day is new",
        facts(received_day=START),
        {"received_direct", "in_progress_overdue"},
    ),
    (
        "closed before the period: nothing",
        facts(
            received_day=d(2024, 12, 1),
            open_until_day=d(2024, 12, 14),
            closure="resolved",
            timeliness="early",
        ),
        set(),
    ),
    ("received after the period: nothing", facts(received_day=END), set()),
    ("refused or never accepted: nothing", facts(received_day=None), set()),
]


@pytest.mark.parametrize(
    ("name", "dossier", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_column_rules(
    name: str, dossier: dict[str, object], expected: set[str]
) -> None:
    assert set(classify(dossier, start=START, end=END)) == expected


@pytest.mark.parametrize(
    ("name", "dossier", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_every_counted_dossier_keeps_the_invariant(name, dossier, expected) -> None:
    counts = Bieu06Counts()
    counts.add_columns(classify(dossier, start=START, end=END))
    assert counts.invariant_ok
    assert counts.received == (1 if expected else 0)


def test_columns_carry_the_official_numbers() -> None:
    assert [c.number for c in COLUMNS] == [4, 5, 6, 8, 9, 10, 12, 13]


def test_on_time_rate_and_totals() -> None:
    counts = Bieu06Counts(
        received_online=12516,
        received_direct=38613,
        carried_over=4910,
        resolved_early=40000,
        resolved_on_time=7300,
        resolved_late=949,
        in_progress_within=6000,
        in_progress_overdue=1790,
    )
    assert counts.received == 56039
    assert counts.resolved == 48249
    assert counts.invariant_ok
    assert counts.on_time_rate == pytest.approx(98.03, abs=0.01)
    assert Bieu06Counts().on_time_rate is None
