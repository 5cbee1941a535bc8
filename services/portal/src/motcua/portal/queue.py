"""Reading the sync queue: what the console and the operators' API show."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from motcua.portal.outbound import ACKED, PARKED, PENDING
from motcua.portal.tables import PortalItem, PortalReconciliation
from motcua.shared.db import utcnow

LAG_SAMPLE = 5000
"""Most acknowledged items the lag percentiles are computed over."""


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0–100) of ``values``."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def sync_overview(session: AsyncSession) -> dict[str, Any]:
    counts: dict[str, int] = dict(
        (
            await session.execute(
                sa.select(col(PortalItem.state), sa.func.count())
                .where(col(PortalItem.state).in_((PENDING, PARKED)))
                .group_by(col(PortalItem.state))
            )
        ).all()
    )
    since = utcnow() - timedelta(hours=1)
    rows = (
        await session.execute(
            sa.select(col(PortalItem.event_at), col(PortalItem.acked_at))
            .where(
                col(PortalItem.state) == ACKED,
                col(PortalItem.origin) == "event",
                col(PortalItem.acked_at) >= since,
            )
            .order_by(col(PortalItem.id).desc())
            .limit(LAG_SAMPLE)
        )
    ).all()
    lags = [
        max(0.0, (acked - event).total_seconds())
        for event, acked in rows
        if event is not None and acked is not None
    ]
    last = (
        await session.execute(
            sa.select(PortalReconciliation)
            .order_by(col(PortalReconciliation.id).desc())
            .limit(1)
        )
    ).scalar()
    return {
        "pending": counts.get(PENDING, 0),
        "parked": counts.get(PARKED, 0),
        "acknowledged_last_hour": len(rows),
        "lag_p50_s": percentile(lags, 50),
        "lag_p99_s": percentile(lags, 99),
        "last_reconciliation": None
        if last is None
        else {
            "at": last.started_at.isoformat(),
            "dossiers": last.dossiers,
            "differences": last.differences,
        },
    }
