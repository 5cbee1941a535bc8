"""Report shapes and KPI formulas over aggregated figures (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from motcua.reporting.agencies import LEVEL_ORDER, UNKNOWN, agency_name, level_name
from motcua.reporting.bieu06 import Bieu06Counts
from motcua.reporting.periods import ReportPeriod


class Dimension(StrEnum):
    """What a report row can be grouped by."""

    LEVEL = "level"
    FIELD = "field"
    PROCEDURE = "procedure"
    AGENCY = "agency"


GroupKey = tuple[str | None, ...]


@dataclass
class GroupFigures:
    """Biểu 06 counts of one group plus what the KPIs need."""

    counts: Bieu06Counts = field(default_factory=Bieu06Counts)
    hours_total: float = 0.0
    hours_count: int = 0
    rating_total: int = 0
    rating_count: int = 0
    satisfied: int = 0


@dataclass
class Aggregate:
    period: ReportPeriod
    dimensions: tuple[Dimension, ...]
    groups: dict[GroupKey, GroupFigures]
    labels: dict[str, dict[str, str]]
    """``procedure`` / ``field`` code → name, as the events spelled them."""

    def label(self, dimension: Dimension, code: str | None) -> str:
        if code is None:
            return UNKNOWN
        match dimension:
            case Dimension.LEVEL:
                return level_name(code)
            case Dimension.AGENCY:
                return agency_name(code)
            case _:
                return self.labels.get(dimension.value, {}).get(code, code)


# -- Biểu 06 ---------------------------------------------------------------------


class PeriodOut(BaseModel):
    label: str
    first_day: date
    last_day: date


class Bieu06Figures(BaseModel):
    received: int = Field(description="(3) = (4) + (5) + (6)")
    received_online: int = Field(description="(4) mới tiếp nhận trực tuyến")
    received_direct: int = Field(description="(5) trực tiếp hoặc bưu chính")
    carried_over: int = Field(description="(6) kỳ trước chuyển qua")
    resolved: int = Field(description="(7) = (8) + (9) + (10)")
    resolved_early: int = Field(description="(8) trước hạn")
    resolved_on_time: int = Field(description="(9) đúng hạn")
    resolved_late: int = Field(description="(10) quá hạn")
    in_progress: int = Field(description="(11) = (12) + (13)")
    in_progress_within: int = Field(description="(12) trong hạn")
    in_progress_overdue: int = Field(description="(13) quá hạn")
    on_time_rate: float | None = Field(description="(8 + 9) / 7, %")
    invariant_ok: bool = Field(description="(3) = (7) + (11)")
    apology: int
    supplement: int
    withdrawal: int
    refusal: int
    postal_return: int


class Bieu06Row(BaseModel):
    keys: dict[str, str | None]
    labels: dict[str, str]
    figures: Bieu06Figures


class Bieu06Report(BaseModel):
    form: str = "Biểu số 06/VPCP/KSTT"
    period: PeriodOut
    group_by: list[Dimension]
    rows: list[Bieu06Row]
    total: Bieu06Figures
    invariant_ok: bool
    generated_at: datetime


def _period_out(period: ReportPeriod) -> PeriodOut:
    return PeriodOut(label=period.label, first_day=period.first, last_day=period.last)


def _sort_key(dims: Sequence[Dimension], key: GroupKey) -> tuple[Any, ...]:
    parts: list[Any] = []
    for dim, value in zip(dims, key, strict=True):
        if dim is Dimension.LEVEL:
            parts.append(LEVEL_ORDER.get(value or "", len(LEVEL_ORDER)))
        parts.append(value or "~")
    return tuple(parts)


def build_bieu06(agg: Aggregate, *, generated_at: datetime) -> Bieu06Report:
    total = Bieu06Counts()
    rows: list[Bieu06Row] = []
    for key in sorted(agg.groups, key=lambda k: _sort_key(agg.dimensions, k)):
        counts = agg.groups[key].counts
        total.add(counts)
        rows.append(
            Bieu06Row(
                keys={d.value: v for d, v in zip(agg.dimensions, key, strict=True)},
                labels={
                    d.value: agg.label(d, v)
                    for d, v in zip(agg.dimensions, key, strict=True)
                },
                figures=Bieu06Figures(**counts.as_dict()),
            )
        )
    return Bieu06Report(
        period=_period_out(agg.period),
        group_by=list(agg.dimensions),
        rows=rows,
        total=Bieu06Figures(**total.as_dict()),
        invariant_ok=total.invariant_ok and all(r.figures.invariant_ok for r in rows),
        generated_at=generated_at,
    )


# -- KPIs and ranking -------------------------------------------------------------


class AgencyKpi(BaseModel):
    rank: int
    agency_code: str | None
    agency_name: str
    received: int
    resolved: int
    on_time_rate: float | None = Field(description="% trả trước hạn và đúng hạn")
    online_share: float | None = Field(description="% hồ sơ mới tiếp nhận trực tuyến")
    avg_processing_days: float | None = Field(
        description="Thời gian giải quyết trung bình (ngày, theo lịch)"
    )
    in_progress: int
    overdue_in_progress: int
    satisfaction_avg: float | None = Field(description="Điểm đánh giá trung bình 1–5")
    satisfaction_count: int
    satisfied_rate: float | None = Field(description="% đánh giá 4–5 điểm")


class KpiReport(BaseModel):
    period: PeriodOut
    agencies: list[AgencyKpi]
    generated_at: datetime


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def agency_kpi(code: str | None, figures: GroupFigures) -> AgencyKpi:
    counts = figures.counts
    new = counts.received_online + counts.received_direct
    return AgencyKpi(
        rank=0,
        agency_code=code,
        agency_name=agency_name(code),
        received=counts.received,
        resolved=counts.resolved,
        on_time_rate=counts.on_time_rate,
        online_share=_percent(counts.received_online, new),
        avg_processing_days=(
            round(figures.hours_total / figures.hours_count / 24, 2)
            if figures.hours_count
            else None
        ),
        in_progress=counts.in_progress,
        overdue_in_progress=counts.in_progress_overdue,
        satisfaction_avg=(
            round(figures.rating_total / figures.rating_count, 2)
            if figures.rating_count
            else None
        ),
        satisfaction_count=figures.rating_count,
        satisfied_rate=_percent(figures.satisfied, figures.rating_count),
    )


def _ranking_key(kpi: AgencyKpi) -> tuple[float, float, float, int, str]:
    """Best first: on-time rate, then online share, then satisfaction."""
    return (
        -(kpi.on_time_rate if kpi.on_time_rate is not None else -1.0),
        -(kpi.online_share if kpi.online_share is not None else -1.0),
        -(kpi.satisfaction_avg if kpi.satisfaction_avg is not None else -1.0),
        kpi.overdue_in_progress,
        kpi.agency_code or "~",
    )


def build_kpis(agg: Aggregate, *, generated_at: datetime) -> KpiReport:
    """Per-agency KPIs ranked; ``agg`` must be grouped by agency only."""
    if agg.dimensions != (Dimension.AGENCY,):
        msg = "KPIs are computed per agency"
        raise ValueError(msg)
    kpis = sorted(
        (agency_kpi(key[0], figures) for key, figures in agg.groups.items()),
        key=_ranking_key,
    )
    ranked = [k.model_copy(update={"rank": i}) for i, k in enumerate(kpis, start=1)]
    return KpiReport(
        period=_period_out(agg.period), agencies=ranked, generated_at=generated_at
    )
