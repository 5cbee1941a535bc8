"""Biểu 06/VPCP/KSTT: the column rules, as data (pure).

The form counts dossiers (TT 01/2020): received (3) = online (4) + direct or
postal (5) + carried over from the previous period (6); resolved (7) = early
(8) + on time (9) + late (10); in progress (11) = within time (12) + overdue
(13). Every column is a predicate over one dossier's facts and the period's
bounds, written once here: :func:`matches` evaluates it in Python (unit tests,
corrections) and the read model compiles the very same predicates to SQL, so
the two cannot drift apart.

Rules (domain reference §1.6, §1.10, Thanh Hóa's production rules):

- only accepted dossiers count (statuses 1 and 3 never reach ``received_day``);
- carried over = received before the period and not closed before it starts;
- resolved = result recorded (status 9/10) or withdrawn (7) inside the period;
  early / on time / late compare the finish *date* with the appointment
  *date* (:func:`motcua.shared.domain.timeliness.timeliness` by the day, as
  everywhere: docs/adr/0005); a dossier without an appointment is on time; a
  withdrawal counts as on time;
- in progress = received before the period ends and still open at its end;
  within time if the appointment is on or after the period end, if there is
  none, or if the clock is paused (statuses 5, 6 and 8); overdue otherwise.

Facts are day numbers (see :mod:`motcua.reporting.periods`): ``received_day``,
``open_until_day`` (the closing day, or ``OPEN_DAY``), ``due_day`` (the
appointment as it stood at the period end), plus ``channel``, ``closure``
(``resolved``/``withdrawn``), ``timeliness`` and ``paused``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from motcua.shared.domain.timeliness import Timeliness

# -- a tiny predicate language ------------------------------------------------


class Bound(StrEnum):
    START = "start"  # first day of the period
    END = "end"  # first day after the period


@dataclass(frozen=True)
class Before:
    """``field < bound``; false when the field is missing (as in SQL)."""

    field: str
    bound: Bound


@dataclass(frozen=True)
class AtOrAfter:
    """``field >= bound``; false when the field is missing."""

    field: str
    bound: Bound


@dataclass(frozen=True)
class Equals:
    field: str
    value: str | bool


@dataclass(frozen=True)
class OneOf:
    field: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Missing:
    field: str


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Predicate, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Predicate, ...]


Predicate = Before | AtOrAfter | Equals | OneOf | Missing | AllOf | AnyOf


def all_of(*parts: Predicate) -> AllOf:
    return AllOf(parts)


def any_of(*parts: Predicate) -> AnyOf:
    return AnyOf(parts)


def matches(
    predicate: Predicate, facts: Mapping[str, Any], *, start: int, end: int
) -> bool:
    """Evaluate a predicate over one dossier's facts for a period."""
    bounds = {Bound.START: start, Bound.END: end}
    match predicate:
        case Before(name, bound):
            value = facts.get(name)
            return value is not None and value < bounds[bound]
        case AtOrAfter(name, bound):
            value = facts.get(name)
            return value is not None and value >= bounds[bound]
        case Equals(name, expected):
            return facts.get(name) == expected
        case OneOf(name, values):
            return facts.get(name) in values
        case Missing(name):
            return facts.get(name) is None
        case AllOf(parts):
            return all(matches(p, facts, start=start, end=end) for p in parts)
        case AnyOf(parts):
            return any(matches(p, facts, start=start, end=end) for p in parts)
    msg = f"unknown predicate {predicate!r}"
    raise TypeError(msg)


# -- the form's columns ---------------------------------------------------------


class Closure(StrEnum):
    RESOLVED = "resolved"  # statuses 9/10: result recorded
    WITHDRAWN = "withdrawn"  # status 7


ONLINE = "online"
DIRECT_OR_POSTAL = ("direct", "postal")

RECEIVED_IN_PERIOD = all_of(
    AtOrAfter("received_day", Bound.START), Before("received_day", Bound.END)
)
CLOSED_IN_PERIOD = all_of(
    AtOrAfter("open_until_day", Bound.START), Before("open_until_day", Bound.END)
)
OPEN_AT_END = all_of(
    Before("received_day", Bound.END), AtOrAfter("open_until_day", Bound.END)
)
RELEVANT = all_of(
    Before("received_day", Bound.END), AtOrAfter("open_until_day", Bound.START)
)
"""Dossiers that can appear in a period's report at all (the row filter)."""

_RESOLVED = Equals("closure", Closure.RESOLVED.value)


@dataclass(frozen=True)
class Column:
    key: str
    number: int
    """The column's number on the official form."""
    label: str
    rule: Predicate
    anchor: str | None = None
    """For a flow (counted on the day something happened in the period): the
    day column it happens on, so it adds up month by month. None for a stock
    taken at the period's start or end."""


COLUMNS: tuple[Column, ...] = (
    Column(
        "received_online",
        4,
        "Số mới tiếp nhận trực tuyến",
        all_of(RECEIVED_IN_PERIOD, Equals("channel", ONLINE)),
        anchor="received_day",
    ),
    Column(
        "received_direct",
        5,
        "Số mới tiếp nhận trực tiếp hoặc qua dịch vụ bưu chính",
        all_of(RECEIVED_IN_PERIOD, OneOf("channel", DIRECT_OR_POSTAL)),
        anchor="received_day",
    ),
    Column(
        "carried_over",
        6,
        "Số kỳ trước chuyển qua",
        all_of(
            Before("received_day", Bound.START),
            AtOrAfter("open_until_day", Bound.START),
        ),
    ),
    Column(
        "resolved_early",
        8,
        "Trả trước hạn",
        all_of(CLOSED_IN_PERIOD, _RESOLVED, Equals("timeliness", Timeliness.EARLY)),
        anchor="open_until_day",
    ),
    Column(
        "resolved_on_time",
        9,
        "Trả đúng hạn",
        all_of(
            CLOSED_IN_PERIOD,
            any_of(
                all_of(_RESOLVED, Equals("timeliness", Timeliness.ON_TIME)),
                Equals("closure", Closure.WITHDRAWN.value),
            ),
        ),
        anchor="open_until_day",
    ),
    Column(
        "resolved_late",
        10,
        "Trả quá hạn",
        all_of(CLOSED_IN_PERIOD, _RESOLVED, Equals("timeliness", Timeliness.LATE)),
        anchor="open_until_day",
    ),
    Column(
        "in_progress_within",
        12,
        "Đang giải quyết trong hạn",
        all_of(
            OPEN_AT_END,
            any_of(
                Equals("paused", True),
                Missing("due_day"),
                AtOrAfter("due_day", Bound.END),
            ),
        ),
    ),
    Column(
        "in_progress_overdue",
        13,
        "Đang giải quyết quá hạn",
        all_of(OPEN_AT_END, Equals("paused", False), Before("due_day", Bound.END)),
    ),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
ANCHORS = ("received_day", "open_until_day")
STOCK_COLUMNS = tuple(c for c in COLUMNS if c.anchor is None)
IN_PROGRESS_KEYS = ("in_progress_within", "in_progress_overdue")
"""Columns that depend on the appointment and pause *at the period end*."""


class Occurrence(StrEnum):
    """Happenings counted beside the form, by the day they happened."""

    APOLOGY = "apology"  # Mẫu 04, xin lỗi và hẹn lại
    SUPPLEMENT = "supplement"  # yêu cầu bổ sung hồ sơ
    WITHDRAWAL = "withdrawal"  # công dân rút hồ sơ
    REFUSAL = "refusal"  # Mẫu 03, từ chối tiếp nhận
    POSTAL_RETURN = "postal_return"  # trả kết quả qua bưu chính

    @property
    def label_vi(self) -> str:
        return _OCCURRENCE_LABELS[self]


_OCCURRENCE_LABELS = {
    Occurrence.APOLOGY: "Số lần xin lỗi, hẹn lại",
    Occurrence.SUPPLEMENT: "Số lần yêu cầu bổ sung",
    Occurrence.WITHDRAWAL: "Số hồ sơ rút",
    Occurrence.REFUSAL: "Số hồ sơ từ chối tiếp nhận",
    Occurrence.POSTAL_RETURN: "Số hồ sơ trả kết quả qua bưu chính",
}


def classify(facts: Mapping[str, Any], *, start: int, end: int) -> dict[str, int]:
    """The form's columns one dossier adds to (1 each), for a period."""
    return {c.key: 1 for c in COLUMNS if matches(c.rule, facts, start=start, end=end)}


# -- one row of the form ----------------------------------------------------------


@dataclass
class Bieu06Counts:
    """The form's numbers for one row (a group of dossiers)."""

    received_online: int = 0
    received_direct: int = 0
    carried_over: int = 0
    resolved_early: int = 0
    resolved_on_time: int = 0
    resolved_late: int = 0
    in_progress_within: int = 0
    in_progress_overdue: int = 0
    occurrences: dict[str, int] = field(default_factory=dict)

    @property
    def received(self) -> int:
        """Column (3)."""
        return self.received_online + self.received_direct + self.carried_over

    @property
    def resolved(self) -> int:
        """Column (7)."""
        return self.resolved_early + self.resolved_on_time + self.resolved_late

    @property
    def in_progress(self) -> int:
        """Column (11)."""
        return self.in_progress_within + self.in_progress_overdue

    @property
    def invariant_ok(self) -> bool:
        """Received = resolved + in progress."""
        return self.received == self.resolved + self.in_progress

    @property
    def on_time_rate(self) -> float | None:
        """(early + on time) / resolved, in percent; none when nothing resolved."""
        if not self.resolved:
            return None
        return round(
            100 * (self.resolved_early + self.resolved_on_time) / self.resolved, 2
        )

    def add(self, other: Bieu06Counts) -> None:
        for key in COLUMN_KEYS:
            setattr(self, key, getattr(self, key) + getattr(other, key))
        for kind, n in other.occurrences.items():
            self.occurrences[kind] = self.occurrences.get(kind, 0) + n

    def add_columns(self, columns: Mapping[str, int]) -> None:
        for key, n in columns.items():
            setattr(self, key, getattr(self, key) + n)

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            **{key: getattr(self, key) for key in COLUMN_KEYS[:3]},
            "resolved": self.resolved,
            **{key: getattr(self, key) for key in COLUMN_KEYS[3:6]},
            "in_progress": self.in_progress,
            **{key: getattr(self, key) for key in COLUMN_KEYS[6:]},
            "on_time_rate": self.on_time_rate,
            "invariant_ok": self.invariant_ok,
            **{kind.value: self.occurrences.get(kind.value, 0) for kind in Occurrence},
        }
