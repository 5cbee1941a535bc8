"""Official periods cut on the 15th; custom ranges are inclusive."""

from __future__ import annotations

from datetime import date

import pytest

from motcua.reporting.periods import (
    current_quarter,
    custom_range,
    month_bounds,
    month_index,
    official_month,
    official_quarter,
    official_year,
    split_period,
)


@pytest.mark.parametrize(
    ("period", "first", "last"),
    [
        (official_quarter(2023, 1), date(2022, 12, 15), date(2023, 3, 14)),
        (official_quarter(2025, 2), date(2025, 3, 15), date(2025, 6, 14)),
        (official_quarter(2025, 4), date(2025, 9, 15), date(2025, 12, 14)),
        (official_month(2025, 1), date(2024, 12, 15), date(2025, 1, 14)),
        (official_month(2025, 7), date(2025, 6, 15), date(2025, 7, 14)),
        (official_year(2025), date(2024, 12, 15), date(2025, 12, 14)),
        (
            custom_range(date(2025, 1, 1), date(2025, 1, 31)),
            date(2025, 1, 1),
            date(2025, 1, 31),
        ),
    ],
)
def test_period_bounds(period, first, last) -> None:
    assert (period.first, period.last) == (first, last)
    assert period.end_day - period.start_day == (last - first).days + 1


@pytest.mark.parametrize(
    ("today", "label"),
    [
        (date(2025, 3, 14), "Quý 1 năm 2025"),
        (date(2025, 3, 15), "Quý 2 năm 2025"),
        (date(2025, 12, 15), "Quý 1 năm 2026"),
        (date(2025, 1, 2), "Quý 1 năm 2025"),
    ],
)
def test_current_quarter_follows_the_15th_cut(today, label) -> None:
    assert current_quarter(today).label == label


def test_a_range_ending_before_it_starts_is_refused_in_vietnamese() -> None:
    with pytest.raises(ValueError, match="Ngày kết thúc"):
        custom_range(date(2025, 2, 1), date(2025, 1, 1))


def test_quarter_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="Quý"):
        official_quarter(2025, 5)


def test_official_periods_are_whole_months() -> None:
    for period in (
        official_quarter(2025, 1),
        official_year(2025),
        official_month(2025, 7),
    ):
        split = split_period(period.start_day, period.end_day)
        assert split.edges == ()
        assert split.months is not None
        first, last = split.months
        assert month_bounds(first)[0] == period.start_day
        assert month_bounds(last)[1] == period.end_day


def test_a_custom_range_keeps_its_loose_days_apart() -> None:
    period = custom_range(date(2025, 1, 1), date(2025, 3, 31))
    split = split_period(period.start_day, period.end_day)
    assert split.months == (
        month_index(date(2025, 1, 15).toordinal()),
        month_index(date(2025, 3, 14).toordinal()),
    )
    assert split.edges == (
        (date(2025, 1, 1).toordinal(), date(2025, 1, 15).toordinal()),
        (date(2025, 3, 15).toordinal(), date(2025, 4, 1).toordinal()),
    )
    short = custom_range(date(2025, 1, 3), date(2025, 1, 20))
    assert split_period(short.start_day, short.end_day).months is None


def test_months_cover_days_without_gaps() -> None:
    for day in range(date(2024, 12, 1).toordinal(), date(2026, 1, 31).toordinal()):
        first, after = month_bounds(month_index(day))
        assert first <= day < after
