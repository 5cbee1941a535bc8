"""Working-time arithmetic: table-driven, including Tết 2026 and a make-up day."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.shared.domain.calendar import (
    VN_TZ,
    LimitUnit,
    TimeLimit,
    WorkCalendar,
    load_calendar,
)

CAL = load_calendar()


def vn(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN_TZ)


@pytest.mark.parametrize(
    ("received", "limit", "due"),
    [
        # the rule of thumb: Monday 10:00 + 3 working days = Thursday 10:00
        ("2026-03-02 10:00", "3wd", "2026-03-05 10:00"),
        # received at lunch: the clock starts at 13:30 (8 h later is Tuesday 11:30)
        ("2026-03-02 12:15", "1wd", "2026-03-03 11:30"),
        # received in the evening: the clock starts the next working day at 07:00
        ("2026-03-02 19:40", "1wd", "2026-03-03 17:00"),
        # received before opening: 07:00 that day
        ("2026-03-03 06:10", "2wd", "2026-03-04 17:00"),
        # Friday afternoon across the weekend
        ("2026-03-06 16:00", "1wd", "2026-03-09 16:00"),
        # Saturday counts from Monday 07:00
        ("2026-03-07 09:00", "3wd", "2026-03-11 17:00"),
        # Tết 2026: offices closed 14–22/2 (16–20 are holidays, 14–15 and 21–22 weekends)
        ("2026-02-13 10:00", "3wd", "2026-02-25 10:00"),
        ("2026-02-17 09:00", "1wd", "2026-02-23 17:00"),
        # make-up Saturday 22/8/2026 is worked, Monday 31/8 and 1–2/9 are off
        ("2026-08-21 10:00", "1wd", "2026-08-22 10:00"),
        ("2026-08-28 10:00", "2wd", "2026-09-04 10:00"),
        # limits in working hours
        ("2026-03-02 10:00", "5h", "2026-03-02 17:00"),
        ("2026-03-02 10:00", "4h", "2026-03-02 16:00"),
        ("2026-03-02 16:00", "2h", "2026-03-03 08:00"),
        # same day: before 15:00 → 17:00 that day, from 15:00 → 17:00 next working day
        ("2026-03-02 14:59", "same-day", "2026-03-02 17:00"),
        ("2026-03-02 15:00", "same-day", "2026-03-03 17:00"),
        ("2026-03-06 15:30", "same-day", "2026-03-09 17:00"),
        ("2026-03-02 12:00", "same-day", "2026-03-02 17:00"),
        ("2026-03-02 20:00", "same-day", "2026-03-03 17:00"),
        # calendar days: a due date on a day off moves to the next working day
        ("2026-03-02 10:00", "5d", "2026-03-09 17:00"),
        ("2026-03-02 10:00", "3d", "2026-03-05 17:00"),
    ],
)
def test_appointment(received: str, limit: str, due: str) -> None:
    assert CAL.due_at(vn(received), TimeLimit.parse(limit)) == vn(due)


def test_tet_and_make_up_days_come_from_the_calendar_data() -> None:
    for day in ("2026-02-16", "2026-02-17", "2026-02-20", "2026-08-31", "2026-09-01"):
        assert not CAL.is_working_day(datetime.fromisoformat(day).date()), day
    assert CAL.is_working_day(datetime.fromisoformat("2026-08-22").date())


def test_a_pause_extends_the_due_time_by_the_working_time_it_covered() -> None:
    due = vn("2026-03-05 10:00")
    # paused Monday 16:00 → Wednesday 08:00: 1 h Monday + 8 h Tuesday + 1 h Wednesday
    extended = CAL.extend_for_pause(due, vn("2026-03-02 16:00"), vn("2026-03-04 08:00"))
    assert CAL.working_time_between(
        vn("2026-03-02 16:00"), vn("2026-03-04 08:00")
    ) == timedelta(hours=10)
    # Thursday 10:00 + 10 working hours: 1.5 + 3.5 Thursday, 4.5 Friday morning, 0.5 after lunch
    assert extended == vn("2026-03-06 14:00")


def test_a_pause_over_a_weekend_costs_only_the_working_hours_inside_it() -> None:
    due = vn("2026-03-09 10:00")
    assert (
        CAL.extend_for_pause(due, vn("2026-03-06 17:00"), vn("2026-03-09 07:00")) == due
    )


def test_nearly_due_is_24_working_hours_before() -> None:
    due = vn("2026-03-05 10:00")
    assert CAL.add_working_time(due, -timedelta(hours=24)) == vn("2026-03-02 10:00")
    assert CAL.add_working_time(vn("2026-03-03 07:00"), -timedelta(hours=8)) == vn(
        "2026-03-02 07:00"
    )


def test_remaining_time_is_negative_once_overdue() -> None:
    due = vn("2026-03-03 10:00")
    assert CAL.remaining(vn("2026-03-02 16:00"), due) == timedelta(hours=4)
    assert CAL.remaining(vn("2026-03-03 14:00"), due) == -timedelta(hours=2)


@pytest.mark.parametrize("text", ["", "3", "wd", "-1wd", "0h", "3 weeks", "3.5x"])
def test_invalid_limits_are_refused_in_vietnamese(text: str) -> None:
    with pytest.raises(ValueError, match="Thời hạn"):
        TimeLimit.parse(text)


def test_limits_print_as_they_parse() -> None:
    for text in ("3wd", "5h", "10d", "same-day", "1.5wd"):
        assert str(TimeLimit.parse(text)) == text
    assert TimeLimit.parse("same-day").unit is LimitUnit.SAME_DAY


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        CAL.due_at(datetime(2026, 3, 2, 10), TimeLimit.parse("1wd"))  # noqa: DTZ001


moments = st.datetimes(
    min_value=datetime(2025, 1, 1),  # noqa: DTZ001  (hypothesis wants naive bounds)
    max_value=datetime(2027, 12, 31),  # noqa: DTZ001
).map(lambda d: d.replace(tzinfo=VN_TZ, microsecond=0))
amounts = st.integers(min_value=0, max_value=200 * 60).map(
    lambda m: timedelta(minutes=m)
)


@settings(max_examples=300, deadline=None)
@given(start=moments, amount=amounts)
def test_adding_working_time_adds_exactly_that_much_working_time(
    start: datetime, amount: timedelta
) -> None:
    end = CAL.add_working_time(start, amount)
    assert end >= start
    assert CAL.working_time_between(start, end) == amount
    assert CAL.is_working_day(end.date())


@settings(max_examples=300, deadline=None)
@given(start=moments, amount=amounts)
def test_subtracting_undoes_adding(start: datetime, amount: timedelta) -> None:
    begin = CAL.next_working_instant(start)
    end = CAL.add_working_time(begin, amount)
    back = CAL.add_working_time(end, -amount)
    assert CAL.working_time_between(back, end) == amount
    assert CAL.next_working_instant(back) == CAL.next_working_instant(begin)


def test_an_empty_calendar_still_skips_weekends() -> None:
    cal = WorkCalendar()
    assert cal.due_at(vn("2026-02-17 09:00"), TimeLimit.parse("1wd")) == vn(
        "2026-02-18 09:00"
    )
