"""Read-model queries: Biểu 06, KPIs, deadlines, flow rates.

Biểu 06 takes its flow columns (received, resolved) from the monthly figures
for the whole official months in the period and from the dossiers for the
loose days of a custom range; its stock columns (carried over at the start,
within time / overdue at the end) from index-covered scans of the dossiers
open at those two instants. Every column is a predicate of
:mod:`motcua.reporting.bieu06` compiled to ``SUM(CASE …)``. Dossiers whose
appointment or pause changed after the period ended are classified from their
schedule history instead, so a closed period's report does not move.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from motcua.reporting.bieu06 import (
    ANCHORS,
    COLUMNS,
    IN_PROGRESS_KEYS,
    STOCK_COLUMNS,
    AllOf,
    AnyOf,
    AtOrAfter,
    Before,
    Bound,
    Closure,
    Column,
    Equals,
    Missing,
    OneOf,
    Predicate,
    matches,
)
from motcua.reporting.facts import ScheduleChange, schedule_at
from motcua.reporting.monthly import FLOW_KEYS, MEASURES, OCCURRENCE_KEYS
from motcua.reporting.periods import OPEN_DAY, ReportPeriod, split_period
from motcua.reporting.reports import Aggregate, Dimension, GroupFigures, GroupKey
from motcua.reporting.tables import (
    DossierRow,
    LabelRow,
    MonthFigureRow,
    OccurrenceRow,
    ScheduleChangeRow,
    TimelineEntry,
)

DOSSIER = DossierRow.__table__  # type: ignore[attr-defined]
OCCURRENCE = OccurrenceRow.__table__  # type: ignore[attr-defined]
MONTH = MonthFigureRow.__table__  # type: ignore[attr-defined]
CHANGE = ScheduleChangeRow.__table__  # type: ignore[attr-defined]
LABEL = LabelRow.__table__  # type: ignore[attr-defined]
TIMELINE = TimelineEntry.__table__  # type: ignore[attr-defined]


DIMENSION_COLUMNS = {
    Dimension.LEVEL: "procedure_level",
    Dimension.FIELD: "field_code",
    Dimension.PROCEDURE: "procedure_code",
    Dimension.AGENCY: "agency_code",
}


def compile_rule(predicate: Predicate, *, start: int, end: int) -> ColumnElement[bool]:
    """A Biểu 06 predicate as a SQL boolean over ``reporting_dossier``."""
    bounds = {Bound.START: start, Bound.END: end}
    match predicate:
        case Before(name, bound):
            return DOSSIER.c[name] < bounds[bound]  # type: ignore[no-any-return]
        case AtOrAfter(name, bound):
            return DOSSIER.c[name] >= bounds[bound]  # type: ignore[no-any-return]
        case Equals(name, value):
            return DOSSIER.c[name] == value  # type: ignore[no-any-return]
        case OneOf(name, values):
            return DOSSIER.c[name].in_(values)  # type: ignore[no-any-return]
        case Missing(name):
            return DOSSIER.c[name].is_(None)  # type: ignore[no-any-return]
        case AllOf(parts):
            return sa.and_(*(compile_rule(p, start=start, end=end) for p in parts))
        case AnyOf(parts):
            return sa.or_(*(compile_rule(p, start=start, end=end) for p in parts))
    msg = f"unknown predicate {predicate!r}"
    raise TypeError(msg)


def _counted(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _sums(columns: Sequence[Column], start: int, end: int) -> list[ColumnElement[Any]]:
    """``SUM(CASE WHEN <rule> …)`` for each column, over ``[start, end)``."""
    # In-progress columns use the current schedule only when it did not change
    # after the period: the others are classified from their history.
    unchanged = sa.or_(
        DOSSIER.c.state_changed_day.is_(None), DOSSIER.c.state_changed_day < end
    )
    sums: list[ColumnElement[Any]] = []
    for column in columns:
        rule = compile_rule(column.rule, start=start, end=end)
        if column.key in IN_PROGRESS_KEYS:
            rule = sa.and_(rule, unchanged)
        sums.append(_counted(rule).label(column.key))
    return sums


def _hours_sums(start: int, end: int) -> list[ColumnElement[Any]]:
    resolved = sa.and_(
        DOSSIER.c.open_until_day >= start,
        DOSSIER.c.open_until_day < end,
        DOSSIER.c.closure == Closure.RESOLVED.value,
    )
    return [
        _counted(resolved).label("hours_count"),
        sa.func.coalesce(
            sa.func.sum(sa.case((resolved, DOSSIER.c.processing_hours), else_=0.0)),
            0.0,
        ).label("hours_total"),
    ]


@dataclass
class _Aggregation:
    """One report's scope (period, grouping, agencies) and its groups so far."""

    session: AsyncSession
    period: ReportPeriod
    dims: tuple[Dimension, ...]
    agencies: Sequence[str] | None
    groups: dict[GroupKey, GroupFigures] = field(default_factory=dict)

    @property
    def keys(self) -> list[ColumnElement[Any]]:
        return [DOSSIER.c[DIMENSION_COLUMNS[d]] for d in self.dims]

    async def rows(self, query: sa.Select[Any]) -> list[Mapping[str, Any]]:
        if self.agencies is not None:
            query = query.where(DOSSIER.c.agency_code.in_(self.agencies))
        return list((await self.session.execute(query)).mappings().all())

    def figures(self, row: Mapping[str, Any]) -> GroupFigures:
        key = tuple(row[DIMENSION_COLUMNS[d]] for d in self.dims)
        return self.groups.setdefault(key, GroupFigures())

    async def scan(self) -> None:
        """Flows from the monthly figures (whole months) and from the dossiers
        (loose days); stocks from the dossiers open at the start and the end."""
        split = split_period(self.period.start_day, self.period.end_day)
        if split.months is not None:
            await self.add_month_figures(*split.months)
        for first, after in split.edges:
            await self.add_loose_days(first, after)
            await self.add_occurrences(first, after)
        await self.add_stocks()

    async def add_month_figures(self, first: int, last: int) -> None:
        keys = [MONTH.c[DIMENSION_COLUMNS[d]] for d in self.dims]
        query = sa.select(
            *keys, *(sa.func.sum(MONTH.c[m]).label(m) for m in MEASURES)
        ).where(MONTH.c.month >= first, MONTH.c.month <= last)
        if keys:
            query = query.group_by(*keys)
        if self.agencies is not None:
            query = query.where(MONTH.c.agency_code.in_(self.agencies))
        for row in (await self.session.execute(query)).mappings():
            figures = self.figures({k: row[k] or None for k in row})
            figures.counts.add_columns({k: int(row[k] or 0) for k in FLOW_KEYS})
            figures.hours_count += int(row["hours_count"] or 0)
            figures.hours_total += float(row["hours_total"] or 0.0)
            occurrences = figures.counts.occurrences
            for kind in OCCURRENCE_KEYS:
                occurrences[kind] = occurrences.get(kind, 0) + int(row[kind] or 0)

    async def add_loose_days(self, first: int, after: int) -> None:
        """Flows of days outside whole months, from the dossiers themselves."""
        for anchor in ANCHORS:
            columns = [c for c in COLUMNS if c.anchor == anchor]
            sums = _sums(columns, first, after)
            if anchor == "open_until_day":
                sums += _hours_sums(first, after)
            day = DOSSIER.c[anchor]
            query = sa.select(*self.keys, *sums).where(
                day >= first,
                day < after,
                # received here (as monthly.contribution): an event about a
                # code nobody received counts nowhere
                DOSSIER.c.received_day.is_not(None),
            )
            self._add_rows(await self.rows(self._grouped(query)), columns)

    async def add_stocks(self) -> None:
        """Carried over at the start; within time / overdue at the end."""
        start, end = self.period.start_day, self.period.end_day
        for bound in (start, end):
            columns = [
                c
                for c in STOCK_COLUMNS
                if (c.key == "carried_over") == (bound == start)
            ]
            received, open_until = await self._stock_terms(bound)
            query = sa.select(*self.keys, *_sums(columns, start, end)).where(
                open_until >= bound, received < bound
            )
            self._add_rows(await self.rows(self._grouped(query)), columns)

    async def _stock_terms(
        self, bound: int
    ) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
        """The two range terms of "open at ``bound``", one of them kept off its
        index on SQLite.

        Either index answers the question, by scanning what was received
        before ``bound`` or what closed after it; SQLite cannot tell which is
        smaller (PostgreSQL's statistics can), so the side with fewer days of
        data is picked, and ``+ 0`` keeps the other term off its index.
        """
        received, open_until = DOSSIER.c.received_day, DOSSIER.c.open_until_day
        if self.session.get_bind().dialect.name != "sqlite":
            return received, open_until
        oldest, newest = (
            await self.session.execute(
                sa.select(sa.func.min(received), sa.func.max(received))
            )
        ).one()
        if oldest is None or bound - oldest < newest - bound:
            return received, open_until + 0
        return received + 0, open_until

    def _grouped(self, query: sa.Select[Any]) -> sa.Select[Any]:
        return query.group_by(*self.keys) if self.keys else query

    def _add_rows(
        self, rows: list[Mapping[str, Any]], columns: Sequence[Column]
    ) -> None:
        for row in rows:
            figures = self.figures(row)
            figures.counts.add_columns({c.key: int(row[c.key]) for c in columns})
            if "hours_count" in row:
                figures.hours_count += int(row["hours_count"])
                figures.hours_total += float(row["hours_total"])

    async def classify_rescheduled(self) -> None:
        """Open at the period end, but the schedule changed since: use history."""
        end = self.period.end_day
        rows = await self.rows(
            sa.select(
                *self.keys,
                DOSSIER.c.dossier_code,
                DOSSIER.c.initial_due_at,
                DOSSIER.c.received_day,
                DOSSIER.c.open_until_day,
            ).where(
                DOSSIER.c.state_changed_day >= end,
                DOSSIER.c.received_day < end,
                DOSSIER.c.open_until_day >= end,
            )
        )
        if not rows:
            return
        history = await _schedule_history(
            self.session, [r["dossier_code"] for r in rows]
        )
        in_progress = [c for c in COLUMNS if c.key in IN_PROGRESS_KEYS]
        for row in rows:
            due_day, paused = schedule_at(
                row["initial_due_at"], history.get(row["dossier_code"], []), end
            )
            facts = {
                "received_day": row["received_day"],
                "open_until_day": row["open_until_day"],
                "due_day": due_day,
                "paused": paused,
            }
            self.figures(row).counts.add_columns(
                {
                    c.key: 1
                    for c in in_progress
                    if matches(c.rule, facts, start=self.period.start_day, end=end)
                }
            )

    async def add_occurrences(self, first: int, after: int) -> None:
        """Occurrences of loose days (whole months come with their figures)."""
        query = (
            sa.select(*self.keys, OCCURRENCE.c.kind, sa.func.count().label("n"))
            .select_from(
                OCCURRENCE.join(
                    DOSSIER, DOSSIER.c.dossier_code == OCCURRENCE.c.dossier_code
                )
            )
            .where(
                OCCURRENCE.c.occurred_day >= first,
                OCCURRENCE.c.occurred_day < after,
                DOSSIER.c.procedure_code.is_not(None),  # created (monthly.contribution)
            )
            .group_by(*self.keys, OCCURRENCE.c.kind)
        )
        for row in await self.rows(query):
            occurrences = self.figures(row).counts.occurrences
            occurrences[row["kind"]] = occurrences.get(row["kind"], 0) + int(row["n"])

    async def add_ratings(self) -> None:
        query = sa.select(
            *self.keys,
            sa.func.count().label("n"),
            sa.func.sum(DOSSIER.c.rating).label("total"),
            _counted(DOSSIER.c.rating >= 4).label("satisfied"),
        ).where(
            DOSSIER.c.rated_day >= self.period.start_day,
            DOSSIER.c.rated_day < self.period.end_day,
        )
        if self.keys:
            query = query.group_by(*self.keys)
        for row in await self.rows(query):
            if not row["n"]:
                continue
            figures = self.figures(row)
            figures.rating_count += int(row["n"])
            figures.rating_total += int(row["total"] or 0)
            figures.satisfied += int(row["satisfied"])


async def aggregate(
    session: AsyncSession,
    period: ReportPeriod,
    dimensions: Sequence[Dimension],
    *,
    agencies: Sequence[str] | None = None,
) -> Aggregate:
    """Every Biểu 06 column and KPI input per group, for one period."""
    work = _Aggregation(session, period, tuple(dimensions), agencies)
    await work.scan()
    await work.classify_rescheduled()
    await work.add_ratings()
    groups = {k: v for k, v in work.groups.items() if _has_content(v)}
    return Aggregate(period, work.dims, groups, await _labels(session))


def _has_content(figures: GroupFigures) -> bool:
    counts = figures.counts
    return bool(
        counts.received or counts.resolved or any(counts.occurrences.values())
    ) or bool(figures.rating_count)


async def _schedule_history(
    session: AsyncSession, codes: list[str]
) -> dict[str, list[ScheduleChange]]:
    history: dict[str, list[ScheduleChange]] = {}
    for chunk in range(0, len(codes), 500):
        found = await session.execute(
            sa.select(CHANGE).where(
                CHANGE.c.dossier_code.in_(codes[chunk : chunk + 500])
            )
        )
        for change in found.mappings():
            history.setdefault(change["dossier_code"], []).append(
                ScheduleChange(
                    change["changed_at"],
                    change["seq"],
                    change["due_at"],
                    change["paused"],
                )
            )
    return history


async def _labels(session: AsyncSession) -> dict[str, dict[str, str]]:
    labels: dict[str, dict[str, str]] = {"procedure": {}, "field": {}}
    for row in (await session.execute(sa.select(LABEL))).mappings():
        labels.setdefault(row["kind"], {})[row["code"]] = row["name"]
    return labels


# -- console ----------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineEntry:
    dossier_code: str
    agency_code: str | None
    due_at: datetime
    overdue: bool


@dataclass
class DeadlineSummary:
    per_agency: dict[str | None, tuple[int, int]]
    """Agency → (overdue, nearly due)."""
    entries: list[DeadlineEntry]


def _due_soon(now: datetime, window: timedelta) -> tuple[ColumnElement[bool], ...]:
    return (
        DOSSIER.c.open_until_day == OPEN_DAY,
        DOSSIER.c.paused.is_(False),
        DOSSIER.c.received_day.is_not(None),
        DOSSIER.c.due_at.is_not(None),
        DOSSIER.c.due_at < now + window,
    )


async def deadline_counts(
    session: AsyncSession, *, now: datetime, window: timedelta
) -> tuple[int, int]:
    """(overdue, nearly due) open, running dossiers at ``now``: the gauges'
    numbers, one aggregate over the due-time index."""
    row = (
        await session.execute(
            sa.select(
                _counted(DOSSIER.c.due_at < now), _counted(DOSSIER.c.due_at >= now)
            ).where(*_due_soon(now, window))
        )
    ).one()
    return int(row[0]), int(row[1])


async def deadlines(
    session: AsyncSession, *, now: datetime, window: timedelta, limit: int = 200
) -> DeadlineSummary:
    """Open, running dossiers overdue or due within ``window`` of ``now``:
    counts per agency, and the most urgent ones."""
    counts = await session.execute(
        sa.select(
            DOSSIER.c.agency_code,
            _counted(DOSSIER.c.due_at < now).label("overdue"),
            _counted(DOSSIER.c.due_at >= now).label("nearly_due"),
        )
        .where(*_due_soon(now, window))
        .group_by(DOSSIER.c.agency_code)
    )
    per_agency = {r.agency_code: (int(r.overdue), int(r.nearly_due)) for r in counts}
    rows = await session.execute(
        sa.select(DOSSIER.c.dossier_code, DOSSIER.c.agency_code, DOSSIER.c.due_at)
        .where(*_due_soon(now, window))
        .order_by(DOSSIER.c.due_at)
        .limit(limit)
    )
    entries = [
        DeadlineEntry(r.dossier_code, r.agency_code, r.due_at, r.due_at < now)
        for r in rows
    ]
    return DeadlineSummary(per_agency, entries)


async def flow(session: AsyncSession, *, since: datetime) -> list[tuple[str, str, int]]:
    """(topic, event type, records) published since ``since``."""
    rows = await session.execute(
        sa.select(TIMELINE.c.topic, TIMELINE.c.event_type, sa.func.count())
        .where(TIMELINE.c.published_at >= since)
        .group_by(TIMELINE.c.topic, TIMELINE.c.event_type)
        .order_by(TIMELINE.c.topic, TIMELINE.c.event_type)
    )
    return [(r[0], r[1], int(r[2])) for r in rows]


async def flow_per_minute(
    session: AsyncSession, *, now: datetime, minutes: int
) -> list[tuple[datetime, dict[str, int]]]:
    """Records per topic in each of the last ``minutes`` minutes (oldest first)."""
    series: list[tuple[datetime, dict[str, int]]] = []
    for back in range(minutes, 0, -1):
        lo = now - timedelta(minutes=back)
        rows = await session.execute(
            sa.select(TIMELINE.c.topic, sa.func.count())
            .where(
                TIMELINE.c.published_at >= lo,
                TIMELINE.c.published_at < lo + timedelta(minutes=1),
            )
            .group_by(TIMELINE.c.topic)
        )
        series.append((lo, {r[0]: int(r[1]) for r in rows}))
    return series
