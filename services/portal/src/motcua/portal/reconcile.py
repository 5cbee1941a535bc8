"""Our dossiers and steps against the portal's copy (pure).

For each dossier the portal service told the portal about, what the portal
should hold is the last record built and every step queued (sent or not);
``TraCuuHoSo`` says what it holds. Each difference is one of: the dossier is
missing, its status differs, a step of ours is missing, or the portal has a
step we never sent. Steps are compared by what they say (time, status,
content), as multisets: a step sent twice shows as an extra one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from motcua.portal.mapping import Record
from motcua.shared.contracts.envelope import VN_TZ

STEP_KEY = ("ThoiDiemXuLy", "TrangThai", "NoiDungXuLy")


class DifferenceKind(StrEnum):
    MISSING_DOSSIER = "missing_dossier"
    WRONG_STATUS = "wrong_status"
    MISSING_STEP = "missing_step"
    EXTRA_STEP = "extra_step"


@dataclass(frozen=True)
class Difference:
    dossier_code: str
    kind: DifferenceKind
    ours: Any = None
    portal: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "kind": self.kind.value}


def step_key(step: Record) -> tuple[str, ...]:
    return tuple(str(step.get(k, "")) for k in STEP_KEY)


def compare(
    code: str,
    record: Record,
    steps: Sequence[Record],
    portal: Record | None,
) -> list[Difference]:
    """``portal``: ``TraCuuHoSo``'s result (``{"dossier", "progress"}``), None
    when the portal does not know the code."""
    if portal is None:
        return [Difference(code, DifferenceKind.MISSING_DOSSIER)]
    found: list[Difference] = []
    theirs = portal.get("dossier") or {}
    ours_status = record.get("TrangThaiHoSo")
    if theirs.get("TrangThaiHoSo") != ours_status:
        found.append(
            Difference(
                code,
                DifferenceKind.WRONG_STATUS,
                ours=ours_status,
                portal=theirs.get("TrangThaiHoSo"),
            )
        )
    expected = Counter(step_key(s) for s in steps)
    held = Counter(step_key(s) for s in portal.get("progress") or [])
    found += [
        Difference(code, DifferenceKind.MISSING_STEP, ours=list(key))
        for key in sorted((expected - held).elements())
    ]
    found += [
        Difference(code, DifferenceKind.EXTRA_STEP, portal=list(key))
        for key in sorted((held - expected).elements())
    ]
    return found


def missing_steps(steps: Sequence[Record], portal: Record | None) -> list[Record]:
    """Our steps the portal lacks, in our order (what a resync sends again)."""
    held = Counter(step_key(s) for s in (portal or {}).get("progress") or [])
    missing = []
    for step in steps:
        key = step_key(step)
        if held[key]:
            held[key] -= 1
        else:
            missing.append(step)
    return missing


def period_bound(value: str | None, *, end: bool = False) -> datetime | None:
    """A period bound from an ISO date (a whole day in Vietnam's time: the end
    bound then covers that day) or an ISO date-time (naive: Vietnam's time)."""
    if not value:
        return None
    text = value.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        start = datetime.combine(day, time.min, tzinfo=VN_TZ)
        return start + timedelta(days=1) if end else start
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=VN_TZ)
