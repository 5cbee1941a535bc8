"""Monthly figures: what one dossier adds to each official month (pure).

The flow columns of Biểu 06 (received online / direct, resolved early / on
time / late), the processing hours and the occurrences (apologies,
supplements …) are counted on one day each, so they add
up month by month: the read model keeps them summed per official month and
group (one row per month, agency and procedure), and a report over whole
months reads those sums instead of every dossier. A dossier's contribution is
derived from the same column rules; when its facts change, the projection
applies the difference.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from motcua.reporting.bieu06 import ANCHORS, COLUMNS, Closure, Occurrence, matches
from motcua.reporting.periods import OPEN_DAY, month_bounds, month_index

GROUP_COLUMNS = ("agency_code", "procedure_level", "field_code", "procedure_code")
FLOW_KEYS = tuple(c.key for c in COLUMNS if c.anchor is not None)
OCCURRENCE_KEYS = tuple(kind.value for kind in Occurrence)
MEASURES = (*FLOW_KEYS, "hours_count", "hours_total", *OCCURRENCE_KEYS)
"""The summed columns of ``reporting_month_figure``."""

MonthKey = tuple[int, str, str, str, str]
"""(month index, agency, level, field, procedure); '' for unknown."""


class Figures(defaultdict[MonthKey, defaultdict[str, float]]):
    """Measures per month and group."""

    def __init__(self) -> None:
        super().__init__(lambda: defaultdict(float))

    def merge(self, other: Figures, sign: int = 1) -> None:
        for key, measures in other.items():
            mine = self[key]
            for name, value in measures.items():
                mine[name] += sign * value

    def changed(self) -> dict[MonthKey, dict[str, float]]:
        """Rows whose measures do not all cancel out."""
        return {
            key: {
                m: measures.get(m, 0.0)
                if m == "hours_total"
                else int(measures.get(m, 0))
                for m in MEASURES
            }
            for key, measures in self.items()
            if any(measures.values())
        }


def contribution(row: Mapping[str, Any]) -> Figures:
    """What a dossier row (``DossierFacts.row_values()``) adds to the months.

    Nothing until reporting has seen the dossier created (submitted, received
    or refused: the event that names its procedure): an event about a code
    nobody received (a forgery, or one overtaking its reception) counts
    nowhere, and counts once the reception arrives."""
    figures = Figures()
    if not row.get("procedure_code"):
        return figures
    group = tuple(row.get(c) or "" for c in GROUP_COLUMNS)
    for kind, day in row.get("occurrence_days") or ():
        figures[(month_index(day), *group)][kind] += 1  # type: ignore[index]
    if row.get("received_day") is None:
        return figures
    for anchor in ANCHORS:
        day = row.get(anchor)
        if day is None or day == OPEN_DAY:
            continue
        month = month_index(day)
        start, end = month_bounds(month)
        measures = figures[(month, *group)]  # type: ignore[index]
        for column in COLUMNS:
            if column.anchor == anchor and matches(
                column.rule, row, start=start, end=end
            ):
                measures[column.key] += 1
        if anchor == "open_until_day" and row.get("closure") == Closure.RESOLVED:
            measures["hours_count"] += 1
            measures["hours_total"] += float(row.get("processing_hours") or 0.0)
    return figures


def difference(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> Figures:
    """What to add to the monthly figures when a dossier goes from one row to
    the other."""
    delta = contribution(after)
    if before is not None:
        delta.merge(contribution(before), sign=-1)
    return delta
