"""Early, on time or late: the one classification every form and report uses
(pure; decided in docs/adr/0005-timeliness-compares-days.md).

The report classes of the legal sources (Biểu 06, TT 01/2020; the same three
words on the control sheet, form 05) compare the finish *date* with the due
*date*, in Vietnam time: early on an earlier day, on time on the due day,
late on a later day; work without a due time is on time.

``granularity`` says what "late" compares, and every caller names it: by
:attr:`Granularity.DAY` (the legal classes, used for every mark motcua
records) or by :attr:`Granularity.INSTANT` (late as soon as the due moment
has passed, as routing's warnings count it). "Early" always means an earlier
day: measured by the instant, almost nothing would ever be "on time".
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from motcua.shared.contracts.envelope import VN_TZ
from motcua.shared.contracts.handoff import Timeliness

__all__ = ["Granularity", "Timeliness", "timeliness"]


class Granularity(StrEnum):
    """What "late" compares."""

    DAY = "day"
    """The finish date with the due date (the legal report classes)."""
    INSTANT = "instant"
    """The finish moment with the due moment."""


def timeliness(
    finished_at: datetime, due_at: datetime | None, *, granularity: Granularity
) -> Timeliness:
    """Early / on time / late of work finished at ``finished_at`` against
    ``due_at`` (none: on time)."""
    if due_at is None:
        return Timeliness.ON_TIME
    finished_day = finished_at.astimezone(VN_TZ).date()
    due_day = due_at.astimezone(VN_TZ).date()
    late = (
        finished_day > due_day
        if granularity is Granularity.DAY
        else finished_at > due_at
    )
    if late:
        return Timeliness.LATE
    return Timeliness.EARLY if finished_day < due_day else Timeliness.ON_TIME
