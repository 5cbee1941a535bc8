"""Early / on time / late: the one classification (docs/adr/0005)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from motcua.shared.contracts import VN_TZ
from motcua.shared.domain.timeliness import Granularity, Timeliness, timeliness

EARLY, ON_TIME, LATE = Timeliness.EARLY, Timeliness.ON_TIME, Timeliness.LATE


def vn(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN_TZ)


@pytest.mark.parametrize(
    ("finished", "due", "by_day", "by_instant"),
    [
        ("2025-01-09 16:59", "2025-01-10 08:00", EARLY, EARLY),  # an earlier day
        (
            "2025-01-10 07:00",
            "2025-01-10 17:00",
            ON_TIME,
            ON_TIME,
        ),  # the due day, before
        ("2025-01-10 17:00", "2025-01-10 17:00", ON_TIME, ON_TIME),  # at the due moment
        # the due day after the due moment: Biểu 06 says on time
        ("2025-01-10 17:30", "2025-01-10 17:00", ON_TIME, LATE),
        ("2025-01-10 16:59", "2025-01-10 08:00", ON_TIME, LATE),
        ("2025-01-11 07:00", "2025-01-10 17:00", LATE, LATE),  # a later day
    ],
)
def test_the_day_decides_and_the_instant_only_what_is_late(
    finished: str, due: str, by_day: Timeliness, by_instant: Timeliness
) -> None:
    assert timeliness(vn(finished), vn(due), granularity=Granularity.DAY) is by_day
    assert (
        timeliness(vn(finished), vn(due), granularity=Granularity.INSTANT) is by_instant
    )


@pytest.mark.parametrize("granularity", list(Granularity))
def test_work_without_a_due_time_is_on_time(granularity: Granularity) -> None:
    assert timeliness(vn("2030-01-01 12:00"), None, granularity=granularity) is ON_TIME


def test_days_are_vietnamese_days() -> None:
    # 23:30 UTC on the 9th is 06:30 on the 10th in Vietnam: the due day.
    finished = datetime(2025, 1, 9, 23, 30, tzinfo=UTC)
    due = vn("2025-01-10 17:00")
    assert timeliness(finished, due, granularity=Granularity.DAY) is ON_TIME
    # and 16:59 UTC on the 10th is 23:59 there, still the due day
    late_evening = datetime(2025, 1, 10, 16, 59, tzinfo=UTC)
    assert timeliness(late_evening, due, granularity=Granularity.DAY) is ON_TIME
