"""What to send to the portal next, and what its answers mean (pure).

Each dossier's items go in order (``id``): a dossier record first, its steps
only once the portal acknowledged the record, and nothing of a dossier while
its first unsent item waits for a retry or is parked. Across dossiers the
sender batches: every due dossier record in one ``DongBoHoSoMC`` call
(creations and updates apart, ``isUpdating`` is per call), every dossier's
run of due steps in one ``CapNhatTienDoHoSoMC`` call. A dossier's run never
spans two calls, so calls sent in parallel cannot reorder its steps.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from motcua.portal.mapping import ItemKind

PENDING: Final = "pending"
ACKED: Final = "acked"
PARKED: Final = "parked"

OK: Final = "00"
SESSION_EXPIRED: Final = "01"
INVALID: Final = "02"
ORDER: Final = "03"
NOT_FOUND: Final = "04"
TRANSIENT: Final = "99"
ALREADY_THERE: Final = "đã tồn tại"
"""What the portal's message says when a created dossier exists already."""


@dataclass(frozen=True)
class Open:
    """An unsent item as the planner sees it."""

    id: int
    dossier_code: str
    kind: ItemKind
    state: str
    due: bool


@dataclass(frozen=True)
class Call:
    """One call to the portal: its service, ``isUpdating`` for dossier
    records, and the items it carries, per dossier in order."""

    kind: ItemKind
    is_updating: bool
    runs: tuple[tuple[int, ...], ...]

    @property
    def item_ids(self) -> tuple[int, ...]:
        return tuple(i for run in self.runs for i in run)

    def split(self) -> list[Call]:
        """One call per dossier, or for one dossier one call per item."""
        if len(self.runs) > 1:
            return [Call(self.kind, self.is_updating, (run,)) for run in self.runs]
        return [Call(self.kind, self.is_updating, ((i,),)) for i in self.runs[0]]


def plan(
    items: Iterable[Open], acknowledged: set[str], *, batch_size: int
) -> list[Call]:
    """The calls of one round, from the open items oldest first."""
    by_dossier: dict[str, list[Open]] = {}
    for item in items:
        by_dossier.setdefault(item.dossier_code, []).append(item)
    creations: list[tuple[int, ...]] = []
    updates: list[tuple[int, ...]] = []
    steps: list[tuple[int, ...]] = []
    for code, queue in by_dossier.items():
        head = queue[0]
        if head.state != PENDING or not head.due:
            continue
        if head.kind is ItemKind.DOSSIER:
            (updates if code in acknowledged else creations).append((head.id,))
            continue
        run = []
        for item in queue:
            if item.kind is not ItemKind.PROGRESS or item.state != PENDING:
                break
            run.append(item.id)
        steps.append(tuple(run[:batch_size]))
    return [
        *_chunks(ItemKind.DOSSIER, False, creations, batch_size),
        *_chunks(ItemKind.DOSSIER, True, updates, batch_size),
        *_chunks(ItemKind.PROGRESS, False, steps, batch_size),
    ]


def _chunks(
    kind: ItemKind, is_updating: bool, runs: Sequence[tuple[int, ...]], size: int
) -> list[Call]:
    calls: list[Call] = []
    current: list[tuple[int, ...]] = []
    count = 0
    for run in runs:
        if current and count + len(run) > size:
            calls.append(Call(kind, is_updating, tuple(current)))
            current, count = [], 0
        current.append(run)
        count += len(run)
    if current:
        calls.append(Call(kind, is_updating, tuple(current)))
    return calls


class Verdict(StrEnum):
    ACKED = "acked"
    RETRY = "retry"
    """A transient failure: try again after a backoff."""
    PARK = "park"
    """Trying again cannot help (the portal refuses the content)."""
    FLIP = "flip"
    """Send the record again with the other ``isUpdating``: the portal holds
    the dossier already (an acknowledgement was lost), or lost it."""
    SPLIT = "split"
    """One of several records was refused: send them one by one to find it."""


def judge(error_code: str, message: str, call: Call) -> Verdict:
    """What the portal's answer to ``call`` means for its items."""
    if error_code == OK:
        return Verdict.ACKED
    several = len(call.item_ids) > 1
    if error_code not in (INVALID, ORDER, NOT_FOUND):
        return Verdict.RETRY
    if several:
        return Verdict.SPLIT
    if call.kind is ItemKind.DOSSIER:
        exists = error_code == INVALID and ALREADY_THERE in message.lower()
        if (exists and not call.is_updating) or (
            error_code == NOT_FOUND and call.is_updating
        ):
            return Verdict.FLIP
    if error_code == INVALID:
        return Verdict.PARK
    return Verdict.RETRY


def backoff_s(attempt: int, *, base_s: float, cap_s: float, jitter: float) -> float:
    """Delay before attempt ``attempt + 1``: exponential from ``base_s``, at
    most ``cap_s``, spread by ``jitter`` in [0, 1) over its upper half (so a
    burst of failures does not come back as a burst)."""
    ceiling = min(cap_s, base_s * 2.0 ** max(0, attempt - 1))
    return ceiling * (0.5 + jitter / 2)
