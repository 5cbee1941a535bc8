"""Reporting periods (kỳ báo cáo), pure.

Official periods cut on the 15th (NĐ 09/2019): the report for month M runs
from the 15th of M-1 to the 14th of M, quarter 1 from 15/12 of the previous
year to 14/3, the year from 15/12 to 14/12. Custom ranges are any two dates.
Every bound is a whole day in Vietnam time, so the read model compares day
numbers (:func:`day_number`), not timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from motcua.shared.contracts import VN_TZ

OPEN_DAY = date.max.toordinal()
"""Day number standing for "not closed yet" (sorts after every real day)."""


def day_number(moment: datetime) -> int:
    """The Vietnam calendar day of an aware timestamp, as a proleptic ordinal."""
    return moment.astimezone(VN_TZ).date().toordinal()


def day_of(number: int) -> date:
    return date.fromordinal(number)


@dataclass(frozen=True)
class ReportPeriod:
    """Days ``first`` to ``last`` inclusive (Vietnam time)."""

    first: date
    last: date
    label: str

    def __post_init__(self) -> None:
        if self.last < self.first:
            msg = "Ngày kết thúc kỳ báo cáo phải sau ngày bắt đầu."
            raise ValueError(msg)

    @property
    def start_day(self) -> int:
        """First day number inside the period."""
        return self.first.toordinal()

    @property
    def end_day(self) -> int:
        """First day number after the period (exclusive bound)."""
        return self.last.toordinal() + 1

    @property
    def end_at(self) -> datetime:
        """The instant the period ends: midnight after its last day."""
        nxt = self.last + timedelta(days=1)
        return datetime(nxt.year, nxt.month, nxt.day, tzinfo=VN_TZ)


def _fifteenth_before(year: int, month: int) -> date:
    """15th of the month before ``month`` of ``year``."""
    return date(year - 1, 12, 15) if month == 1 else date(year, month - 1, 15)


def official_month(year: int, month: int) -> ReportPeriod:
    if not 1 <= month <= 12:
        msg = "Tháng phải từ 1 đến 12."
        raise ValueError(msg)
    return ReportPeriod(
        _fifteenth_before(year, month),
        date(year, month, 14),
        f"Tháng {month} năm {year}",
    )


def official_quarter(year: int, quarter: int) -> ReportPeriod:
    if not 1 <= quarter <= 4:
        msg = "Quý phải từ 1 đến 4."
        raise ValueError(msg)
    last_month = quarter * 3
    return ReportPeriod(
        _fifteenth_before(year, last_month - 2),
        date(year, last_month, 14),
        f"Quý {quarter} năm {year}",
    )


def official_year(year: int) -> ReportPeriod:
    return ReportPeriod(date(year - 1, 12, 15), date(year, 12, 14), f"Năm {year}")


def custom_range(first: date, last: date) -> ReportPeriod:
    return ReportPeriod(
        first, last, f"Từ ngày {first:%d/%m/%Y} đến ngày {last:%d/%m/%Y}"
    )


def _official_month_of(day: date) -> tuple[int, int]:
    """(year, month) of the official month ``day`` falls in (from the 15th on,
    a day belongs to the next month's period)."""
    if day.day < 15:
        return day.year, day.month
    return (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)


def current_quarter(today: date) -> ReportPeriod:
    year, month = _official_month_of(today)
    return official_quarter(year, (month + 2) // 3)


# -- official months as an index (the monthly figures are keyed by it) ----------


def month_index(day: int) -> int:
    """Index (``year * 12 + month - 1``) of the official month a day falls in."""
    year, month = _official_month_of(date.fromordinal(day))
    return year * 12 + month - 1


def month_bounds(index: int) -> tuple[int, int]:
    """First day and first day after of an official month, as day numbers."""
    period = official_month(index // 12, index % 12 + 1)
    return period.start_day, period.end_day


@dataclass(frozen=True)
class PeriodSplit:
    """A period as whole official months plus the loose days around them."""

    months: tuple[int, int] | None
    """First and last month index, inclusive; None if no whole month fits."""
    edges: tuple[tuple[int, int], ...]
    """Day ranges ``[first, after)`` outside the whole months."""


def split_period(start_day: int, end_day: int) -> PeriodSplit:
    first = month_index(start_day)
    if month_bounds(first)[0] != start_day:
        first += 1
    last = month_index(end_day - 1)
    if month_bounds(last)[1] != end_day:
        last -= 1
    if first > last:
        return PeriodSplit(None, ((start_day, end_day),))
    head, tail = month_bounds(first)[0], month_bounds(last)[1]
    edges = tuple(r for r in ((start_day, head), (tail, end_day)) if r[0] < r[1])
    return PeriodSplit((first, last), edges)
