"""Reconciliation and resync: asks the portal (``TraCuuHoSo``) for each of our
dossiers and compares (:mod:`motcua.portal.reconcile`); resync queues what
repairs the differences."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from motcua.portal.client import PortalClient, PortalUnavailableError
from motcua.portal.mapping import ItemKind, Record
from motcua.portal.outbound import NOT_FOUND, OK, PARKED, PENDING
from motcua.portal.reconcile import Difference, DifferenceKind, compare, missing_steps
from motcua.portal.sender import resend_dossier
from motcua.portal.tables import PortalDossier, PortalItem, PortalReconciliation
from motcua.shared.db import utcnow

log = structlog.get_logger(__name__)

LOOKUP = "TraCuuHoSo"
LOOKUP_ATTEMPTS = 6
CHUNK = 500


@dataclass
class Checked:
    code: str
    record: Record
    steps: list[Record]
    portal: Record | None
    differences: list[Difference]


@dataclass
class Report:
    started_at: datetime
    period_from: datetime | None
    period_to: datetime | None
    checked: list[Checked] = field(default_factory=list)

    @property
    def differences(self) -> list[Difference]:
        return [d for c in self.checked for d in c.differences]

    def as_dict(self) -> dict[str, Any]:
        by_kind: dict[str, int] = {k.value: 0 for k in DifferenceKind}
        for d in self.differences:
            by_kind[d.kind.value] += 1
        return {
            "checked_at": self.started_at.isoformat(),
            "from": self.period_from.isoformat() if self.period_from else None,
            "to": self.period_to.isoformat() if self.period_to else None,
            "dossiers": len(self.checked),
            "differences": len(self.differences),
            "by_kind": by_kind,
            "items": [d.as_dict() for d in self.differences],
        }


async def _ours(
    session: AsyncSession, since: datetime | None, until: datetime | None
) -> list[tuple[str, Record]]:
    query = sa.select(col(PortalDossier.dossier_code), col(PortalDossier.record))
    if since is not None:
        query = query.where(col(PortalDossier.created_at) >= since)
    if until is not None:
        query = query.where(col(PortalDossier.created_at) < until)
    rows = await session.execute(query.order_by(col(PortalDossier.created_at)))
    return [(code, record) for code, record in rows.all()]


async def _steps(
    session: AsyncSession, codes: Sequence[str]
) -> dict[str, list[Record]]:
    steps: dict[str, list[Record]] = {}
    for start in range(0, len(codes), CHUNK):
        rows = await session.execute(
            sa.select(col(PortalItem.dossier_code), col(PortalItem.payload))
            .where(
                col(PortalItem.dossier_code).in_(codes[start : start + CHUNK]),
                col(PortalItem.kind) == ItemKind.PROGRESS.value,
                col(PortalItem.origin) != "resync",  # copies of these
            )
            .order_by(col(PortalItem.id))
        )
        for code, payload in rows.all():
            steps.setdefault(code, []).append(payload)
    return steps


async def look_up(client: PortalClient, code: str) -> Record | None:
    """The portal's copy of a dossier (None: it has none); transient failures
    are retried a few times."""
    delay = 0.2
    for attempt in range(LOOKUP_ATTEMPTS):
        try:
            answer = await client.call(LOOKUP, {"MaHoSo": code})
        except PortalUnavailableError:
            if attempt == LOOKUP_ATTEMPTS - 1:
                raise
        else:
            if answer.error_code == OK:
                result = answer.body.get("result")
                return result if isinstance(result, dict) else {}
            if answer.error_code == NOT_FOUND:
                return None
            if attempt == LOOKUP_ATTEMPTS - 1:
                raise PortalUnavailableError(
                    f"{LOOKUP} answered {answer.error_code}: {answer.message}"
                )
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)
    raise PortalUnavailableError(LOOKUP)  # not reached


async def reconcile(
    sessions: async_sessionmaker[AsyncSession],
    client: PortalClient,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    concurrency: int = 8,
) -> Report:
    """Compare every dossier the portal was told about (created in
    [``since``, ``until``)) with the portal's copy; the outcome is kept."""
    report = Report(started_at=utcnow(), period_from=since, period_to=until)
    async with sessions() as session:
        ours = await _ours(session, since, until)
        steps = await _steps(session, [code for code, _ in ours])
    slots = asyncio.Semaphore(concurrency)

    async def check(code: str, record: Record) -> Checked:
        async with slots:
            portal = await look_up(client, code)
        mine = steps.get(code, [])
        return Checked(code, record, mine, portal, compare(code, record, mine, portal))

    report.checked = list(await asyncio.gather(*(check(c, r) for c, r in ours)))
    async with sessions() as session, session.begin():
        session.add(
            PortalReconciliation(
                started_at=report.started_at,
                period_from=since,
                period_to=until,
                dossiers=len(report.checked),
                differences=len(report.differences),
                report={k: v for k, v in report.as_dict().items() if k != "items"},
            )
        )
    log.info(
        "portal_reconciled",
        dossiers=len(report.checked),
        differences=len(report.differences),
    )
    return report


async def resync(
    sessions: async_sessionmaker[AsyncSession], report: Report
) -> dict[str, int]:
    """Queue what repairs each difference of ``report``: a missing dossier
    again from scratch (record, then every step), a wrong status as an
    update, missing steps again in our order. Extra steps on the portal
    cannot be taken back: they stay in the report."""
    queued = {"dossiers": 0, "records": 0, "steps": 0, "resent": 0}
    now = utcnow()
    async with sessions() as session, session.begin():
        waiting = await _with_open_items(session, [c.code for c in report.checked])
        for checked in report.checked:
            kinds = {d.kind for d in checked.differences}
            if not kinds - {DifferenceKind.EXTRA_STEP}:
                continue
            queued["dossiers"] += 1
            if checked.code in waiting:
                # what is missing is still queued: send it, do not copy it
                queued["resent"] += len(await resend_dossier(session, checked.code))
                continue
            items: list[tuple[ItemKind, Record]] = []
            if DifferenceKind.MISSING_DOSSIER in kinds:
                await session.execute(
                    sa.update(PortalDossier)
                    .where(col(PortalDossier.dossier_code) == checked.code)
                    .values(acknowledged=False)
                )
                items.append((ItemKind.DOSSIER, checked.record))
                items += [(ItemKind.PROGRESS, s) for s in checked.steps]
            else:
                if DifferenceKind.WRONG_STATUS in kinds:
                    items.append((ItemKind.DOSSIER, checked.record))
                missing = missing_steps(checked.steps, checked.portal)
                items += [(ItemKind.PROGRESS, s) for s in missing]
            for kind, payload in items:
                queued["records" if kind is ItemKind.DOSSIER else "steps"] += 1
                session.add(
                    PortalItem(
                        dossier_code=checked.code,
                        kind=kind.value,
                        payload=payload,
                        origin="resync",
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
    log.info("portal_resync_queued", **queued)
    return queued


async def _with_open_items(session: AsyncSession, codes: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(codes), CHUNK):
        rows = await session.execute(
            sa.select(col(PortalItem.dossier_code))
            .where(
                col(PortalItem.dossier_code).in_(codes[start : start + CHUNK]),
                col(PortalItem.state).in_((PENDING, PARKED)),
            )
            .distinct()
        )
        found.update(rows.scalars())
    return found
