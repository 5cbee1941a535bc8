"""Working-time arithmetic for legal deadlines (pure).

A limit of N working days is N × (working hours per day) added to the moment
the clock starts; a limit in working hours likewise. The clock starts at the
first working instant at or after receipt (lunch → 13:30, evening → next
working day 07:00). "Same day" procedures received before 15:00 are due at the
end of that working day, later ones at the end of the next. A pause (waiting
for a supplement or a fee) moves a due time by the working time it covered.

The calendar is data: office sessions, weekdays, the public holidays of the
`holidays` package for Vietnam, and overrides for announced days off and
make-up working days (loaded by :func:`load_calendar`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
_MAX_DAYS_SCANNED = 3660  # ten years of calendar: a bound against bad data, not a limit


class LimitUnit(StrEnum):
    WORKING_DAYS = "wd"
    WORKING_HOURS = "h"
    CALENDAR_DAYS = "d"
    SAME_DAY = "same-day"


@dataclass(frozen=True)
class TimeLimit:
    """A legal time limit: ``3wd``, ``5h``, ``10d`` or ``same-day``."""

    unit: LimitUnit
    amount: float = 0

    _PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(wd|h|d)\s*$")

    @classmethod
    def parse(cls, text: str) -> TimeLimit:
        text = text.strip().lower()
        if text in ("same-day", "sameday", "0wd"):
            return cls(LimitUnit.SAME_DAY)
        match = cls._PATTERN.match(text)
        if not match:
            msg = f"Thời hạn '{text}' không hợp lệ (ví dụ: 3wd, 5h, 10d, same-day)."
            raise ValueError(msg)
        amount = float(match.group(1))
        if amount <= 0:
            msg = "Thời hạn phải lớn hơn 0."
            raise ValueError(msg)
        return cls(LimitUnit(match.group(2)), amount)

    def __str__(self) -> str:
        if self.unit is LimitUnit.SAME_DAY:
            return "same-day"
        amount = int(self.amount) if self.amount == int(self.amount) else self.amount
        return f"{amount}{self.unit.value}"


@dataclass(frozen=True)
class OfficeHours:
    """Working sessions of a day, in order; 07:00–11:30 and 13:30–17:00 by default."""

    sessions: tuple[tuple[time, time], ...] = (
        (time(7, 0), time(11, 30)),
        (time(13, 30), time(17, 0)),
    )
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    same_day_cutoff: time = time(15, 0)

    def __post_init__(self) -> None:
        previous = time.min
        for start, end in self.sessions:
            if not previous <= start < end:
                msg = "office sessions must be ordered and must not overlap"
                raise ValueError(msg)
            previous = end
        if not self.sessions:
            msg = "at least one office session is needed"
            raise ValueError(msg)

    @property
    def hours_per_day(self) -> float:
        return sum(_hours(start, end) for start, end in self.sessions)

    @property
    def day_end(self) -> time:
        return self.sessions[-1][1]


def _hours(start: time, end: time) -> float:
    return (_seconds(end) - _seconds(start)) / 3600


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are worked and when; all answers in Asia/Ho_Chi_Minh."""

    office: OfficeHours = field(default_factory=OfficeHours)
    days_off: frozenset[date] = frozenset()
    make_up_days: frozenset[date] = frozenset()

    # -- days -------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        if day in self.make_up_days:
            return True
        if day in self.days_off:
            return False
        return day.weekday() in self.office.weekdays

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        for offset in range(1, _MAX_DAYS_SCANNED):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        msg = "no working day in ten years: the calendar data is wrong"
        raise ValueError(msg)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in ``[start, end)``."""
        return sum(
            1
            for offset in range((end - start).days)
            if self.is_working_day(start + timedelta(days=offset))
        )

    # -- instants -----------------------------------------------------------

    def next_working_instant(self, moment: datetime) -> datetime:
        """The first instant at or after ``moment`` when the office is open."""
        local = _local(moment)
        day = local.date()
        if self.is_working_day(day):
            for start, end in self.office.sessions:
                if local.time() < end:
                    return _at(day, max(local.time(), start))
        return _at(self.next_working_day(day), self.office.sessions[0][0])

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """``start`` plus ``amount`` of working time (negative goes back).

        A result on a session boundary stays on the boundary: 8 working hours
        from 07:00 end at 17:00 the same day, not at 07:00 the next.
        """
        if amount < timedelta(0):
            return self._subtract_working_time(start, -amount)
        current = self.next_working_instant(start)
        remaining = amount.total_seconds()
        for _ in range(_MAX_DAYS_SCANNED * len(self.office.sessions)):
            session_end = self._session_end(current)
            available = (session_end - current).total_seconds()
            if remaining <= available:
                return current + timedelta(seconds=remaining)
            remaining -= available
            current = self.next_working_instant(session_end)
        msg = "working time too long for the calendar"
        raise ValueError(msg)

    def _subtract_working_time(self, end: datetime, amount: timedelta) -> datetime:
        remaining = amount.total_seconds()
        limit = _local(end)
        day = limit.date()
        for _ in range(_MAX_DAYS_SCANNED):
            if self.is_working_day(day):
                for start_t, end_t in reversed(self.office.sessions):
                    session_start = _at(day, start_t)
                    upper = min(_at(day, end_t), limit)
                    if upper <= session_start:
                        continue
                    available = (upper - session_start).total_seconds()
                    if remaining <= available:
                        return upper - timedelta(seconds=remaining)
                    remaining -= available
            day -= timedelta(days=1)
        msg = "working time too long for the calendar"
        raise ValueError(msg)

    def _session_end(self, moment: datetime) -> datetime:
        local = _local(moment)
        for start, end in self.office.sessions:
            if start <= local.time() < end:
                return _at(local.date(), end)
        msg = f"{moment} is not inside an office session"
        raise ValueError(msg)

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time inside ``[start, end)`` (zero if ``end <= start``)."""
        if end <= start:
            return timedelta(0)
        total = 0.0
        day = _local(start).date()
        last = _local(end).date()
        while day <= last:
            if self.is_working_day(day):
                for s, e in self.office.sessions:
                    lo = max(_at(day, s), _local(start))
                    hi = min(_at(day, e), _local(end))
                    if hi > lo:
                        total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return timedelta(seconds=total)

    # -- deadlines --------------------------------------------------------------

    def clock_start(self, received_at: datetime) -> datetime:
        return self.next_working_instant(received_at)

    def due_at(self, received_at: datetime, limit: TimeLimit) -> datetime:
        """The appointment for a dossier received at ``received_at``."""
        start = self.clock_start(received_at)
        match limit.unit:
            case LimitUnit.SAME_DAY:
                day = start.date()
                if start.time() >= self.office.same_day_cutoff:
                    day = self.next_working_day(day)
                return _at(day, self.office.day_end)
            case LimitUnit.WORKING_DAYS:
                hours = limit.amount * self.office.hours_per_day
                return self.add_working_time(start, timedelta(hours=hours))
            case LimitUnit.WORKING_HOURS:
                return self.add_working_time(start, timedelta(hours=limit.amount))
            case LimitUnit.CALENDAR_DAYS:
                day = start.date() + timedelta(days=int(limit.amount))
                while not self.is_working_day(day):
                    day += timedelta(days=1)  # a due date on a day off moves forward
                return _at(day, self.office.day_end)

    def extend_for_pause(
        self, due: datetime, paused_from: datetime, resumed_at: datetime
    ) -> datetime:
        """A due time moved by the working time a pause covered."""
        paused = self.working_time_between(paused_from, resumed_at)
        if paused <= timedelta(0):
            return due
        return self.add_working_time(due, paused)

    def remaining(self, now: datetime, due: datetime) -> timedelta:
        """Working time left until ``due`` (negative: overdue by that much)."""
        if now <= due:
            return self.working_time_between(now, due)
        return -self.working_time_between(due, now)


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        msg = "naive datetimes are ambiguous; give a time zone"
        raise ValueError(msg)
    return moment.astimezone(VN_TZ)


def _at(day: date, t: time) -> datetime:
    return datetime.combine(day, t, tzinfo=VN_TZ)


# -- loading the calendar data ---------------------------------------------------


@dataclass(frozen=True)
class CalendarOverrides:
    """Announced changes to the statutory calendar, per year."""

    days_off: frozenset[date] = frozenset()
    make_up_days: frozenset[date] = frozenset()
    not_days_off: frozenset[date] = frozenset()


def statutory_days_off(years: Iterable[int]) -> tuple[frozenset[date], frozenset[date]]:
    """Vietnam's public holidays (with substituted days off) and make-up working
    days, from the `holidays` package."""
    import holidays

    vn = holidays.country_holidays("VN", years=list(years))
    days_off = frozenset(vn.keys())
    make_up = frozenset(getattr(vn, "weekend_workdays", set()))
    return days_off, make_up


def read_overrides(path: Path) -> CalendarOverrides:
    data = tomllib.loads(path.read_text(encoding="utf-8"))

    def dates(key: str) -> frozenset[date]:
        return frozenset(
            date.fromisoformat(str(item["date"])) for item in data.get(key, [])
        )

    return CalendarOverrides(
        days_off=dates("days_off"),
        make_up_days=dates("make_up_days"),
        not_days_off=dates("not_days_off"),
    )


def build_calendar(
    *,
    years: Iterable[int],
    overrides: CalendarOverrides = CalendarOverrides(),
    office: OfficeHours | None = None,
) -> WorkCalendar:
    statutory_off, statutory_make_up = statutory_days_off(years)
    days_off = (statutory_off | overrides.days_off) - overrides.not_days_off
    make_up = (statutory_make_up | overrides.make_up_days) - overrides.days_off
    return WorkCalendar(
        office=office or OfficeHours(), days_off=days_off, make_up_days=make_up
    )


def default_overrides_path() -> Path:
    return Path(str(resources.files("motcua.shared") / "data" / "calendar.toml"))


@cache
def load_calendar(
    overrides_path: Path | None = None, first_year: int = 2014, last_year: int = 2035
) -> WorkCalendar:
    """The calendar every service uses: statutory holidays + the repo's overrides."""
    path = overrides_path or default_overrides_path()
    overrides = read_overrides(path) if path.exists() else CalendarOverrides()
    return build_calendar(years=range(first_year, last_year + 1), overrides=overrides)
