"""The sender: pushes the open items to the portal, per dossier in order.

Each round reads the open items (oldest first), plans the calls
(:func:`motcua.portal.outbound.plan`), sends them (``sender_concurrency`` at
a time) and records each answer in one short transaction. A failed item waits
``backoff`` and blocks its dossier's later items; after ``max_attempts`` it is
parked, visible in the console and ``GET /api/v1/portal/parked``, until an
operator resends it. A round that acknowledged anything is followed at once by
the next (the steps after a record acknowledged just now are due).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from prometheus_client import Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from motcua.portal.client import Answer, PortalClient, PortalUnavailableError
from motcua.portal.mapping import ItemKind
from motcua.portal.outbound import (
    ACKED,
    OK,
    PARKED,
    PENDING,
    Call,
    Open,
    Verdict,
    backoff_s,
    judge,
    plan,
)
from motcua.portal.settings import PortalSettings
from motcua.portal.tables import PortalDossier, PortalItem
from motcua.shared.db import is_transaction_conflict, read_only, utcnow
from motcua.shared.leadership import Leadership, SingleProcessLeadership
from motcua.shared.rounds import run_rounds

log = structlog.get_logger(__name__)

ROUND_LIMIT = 2000
ACK_WRITE_ATTEMPTS = 5
"""An acknowledgement is written again after a deadlock with the consumer (a
batch updating the same dossiers' rows in another order): the portal holds
what was sent, so losing the write would send it once more."""
"""Most open items read per round (the oldest)."""
LAG_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 120, 300, 900, 3600)


class SenderMetrics:
    def __init__(self, registry: Any) -> None:
        self.sync_lag = Histogram(
            "motcua_portal_sync_lag_seconds",
            "From a dossier act to the portal's acknowledgement of what it "
            "changed (records and steps of live events)",
            ["kind"],
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.parked = Gauge(
            "motcua_portal_parked_items",
            "Sync items parked after their last attempt (an operator resends them)",
            registry=registry,
        )
        self.open = Gauge(
            "motcua_portal_open_items",
            "Sync items not yet acknowledged by the portal (pending or parked)",
            registry=registry,
        )
        self.oldest_open_age = Gauge(
            "motcua_portal_oldest_open_item_age_seconds",
            "Age of the oldest pending sync item (0 when none)",
            registry=registry,
        )


class Sender:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: PortalClient,
        settings: PortalSettings,
        metrics: SenderMetrics,
        leadership: Leadership | None = None,
    ) -> None:
        self.sessions = sessions
        self.leadership = leadership or SingleProcessLeadership()
        """Several instances share one queue on PostgreSQL: only the leader
        sends, or each would send the same items, out of order between them."""
        self.client = client
        self.settings = settings
        self.metrics = metrics
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(settings.sender_concurrency)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        await run_rounds(
            self.round,
            self._wake,
            self.settings.sender_poll_interval_s,
            failed_event="portal_round_failed",
        )

    async def aclose(self) -> None:
        await self.leadership.release()

    async def round(self) -> bool:
        """Send what is due; True if more may be due at once (the round read
        as many open items as it reads at most).

        What an acknowledgement makes due (the steps after a record the portal
        has just acknowledged, the rest of a long run of steps) is sent in the
        same round, planned again from the items it read: the open items are
        read once per round, not once more per acknowledgement. The reads
        take no write lock on SQLite, and no connection is held while the
        portal answers."""
        if not await self.leadership.acquire():
            return False
        items: dict[int, PortalItem] = {}
        async with self.sessions() as session:
            await read_only(session)
            opened, acknowledged, full = await self._open(session)
            calls = plan(
                opened, acknowledged, batch_size=self.settings.sender_batch_size
            )
            await self._load(session, items, calls)
        while calls:
            acked: set[int] = set()
            await asyncio.gather(*(self._send(c, items, acked) for c in calls))
            if not acked:
                break
            # Only the dossiers whose items were acknowledged now go on (a
            # failed item waits for its backoff, written by _failed).
            going_on = {items[i].dossier_code for i in acked}
            acknowledged |= {
                items[i].dossier_code
                for i in acked
                if items[i].kind == ItemKind.DOSSIER.value
            }
            opened = [
                o for o in opened if o.dossier_code in going_on and o.id not in acked
            ]
            calls = plan(
                opened, acknowledged, batch_size=self.settings.sender_batch_size
            )
            if any(i not in items for call in calls for i in call.item_ids):
                async with self.sessions() as session:
                    await read_only(session)
                    await self._load(session, items, calls)
        return full

    async def _open(self, session: AsyncSession) -> tuple[list[Open], set[str], bool]:
        """The open items (oldest first), read without their payloads (a
        portal outage leaves thousands open: each round reads them again);
        the dossiers among them the portal holds; whether the read was full."""
        now = utcnow()
        rows = (await session.execute(_OPEN_ITEMS)).all()
        opened = [
            Open(i, code, ItemKind(kind), state, due <= now)
            for i, code, kind, state, due in rows
            if i is not None
        ]
        acknowledged = await self._acknowledged(
            session, {o.dossier_code for o in opened if o.kind is ItemKind.DOSSIER}
        )
        return opened, acknowledged, len(rows) >= ROUND_LIMIT

    @staticmethod
    async def _load(
        session: AsyncSession, items: dict[int, PortalItem], calls: list[Call]
    ) -> None:
        """The items of ``calls`` not loaded yet, with their payloads."""
        missing = [i for call in calls for i in call.item_ids if i not in items]
        for start in range(0, len(missing), 500):
            loaded = await session.execute(
                _ITEMS, {"ids": missing[start : start + 500]}
            )
            items.update((r.id, r) for r in loaded.scalars() if r.id is not None)

    @staticmethod
    async def _acknowledged(session: AsyncSession, codes: set[str]) -> set[str]:
        """Which of these dossiers the portal holds (their records are updates)."""
        if not codes:
            return set()
        return set(
            (await session.execute(_ACKNOWLEDGED, {"codes": sorted(codes)})).scalars()
        )

    async def _ask(self, call: Call, items: dict[int, PortalItem]) -> Answer:
        """One call to the portal (raises :class:`PortalUnavailableError`)."""
        body: dict[str, Any] = {"data": [items[i].payload for i in call.item_ids]}
        if call.kind is ItemKind.DOSSIER:
            body["isUpdating"] = call.is_updating
        async with self._slots:
            return await self.client.call(call.kind.value, body)

    async def _send(
        self, call: Call, items: dict[int, PortalItem], acked: set[int]
    ) -> bool:
        """Send one call (split or flipped as the portal's answer asks); the
        items acknowledged go into ``acked``. True if any was."""
        try:
            answer = await self._ask(call, items)
        except PortalUnavailableError as exc:
            await self._failed(call, items, str(exc), park=False)
            return False
        verdict = judge(answer.error_code, answer.message, call)
        if verdict is Verdict.ACKED:
            await self._acked(call, items, acked)
            return True
        if verdict is Verdict.SPLIT:
            return await self._send_parts(call, items, acked)
        if verdict is Verdict.FLIP:
            flipped = Call(call.kind, not call.is_updating, call.runs)
            if await self._send_flipped(flipped, items, acked):
                return True
        reason = f"{answer.error_code}: {answer.message}"[:500]
        await self._failed(call, items, reason, park=verdict is Verdict.PARK)
        return False

    async def _send_parts(
        self, call: Call, items: dict[int, PortalItem], acked: set[int]
    ) -> bool:
        """Several dossiers: each alone. One dossier's steps: one by one, in
        order, stopping at the first the portal refuses (the later ones wait
        behind it)."""
        one_dossier = len(call.runs) == 1
        done = False
        for part in call.split():
            sent = await self._send(part, items, acked)
            done |= sent
            if one_dossier and not sent:
                break
        return done

    async def _send_flipped(
        self, call: Call, items: dict[int, PortalItem], acked: set[int]
    ) -> bool:
        try:
            answer = await self._ask(call, items)
        except PortalUnavailableError:
            return False
        if answer.error_code != OK:
            return False
        await self._acked(call, items, acked)
        return True

    async def _acked(
        self, call: Call, items: dict[int, PortalItem], acked: set[int]
    ) -> None:
        now = utcnow()
        ids = list(call.item_ids)
        for attempt in range(1, ACK_WRITE_ATTEMPTS + 1):
            try:
                await self._write_acked(call, items, ids, now)
                break
            except sa.exc.DBAPIError as exc:
                if attempt == ACK_WRITE_ATTEMPTS or not is_transaction_conflict(exc):
                    raise
                log.info("portal_ack_write_retried", attempt=attempt)
                await asyncio.sleep(0.01 * attempt)
        acked.update(ids)
        for i in ids:
            item = items[i]
            if item.origin == "event" and item.event_at is not None:
                lag = (now - item.event_at).total_seconds()
                self.metrics.sync_lag.labels(call.kind.value).observe(max(lag, 0.0))

    async def _write_acked(
        self, call: Call, items: dict[int, PortalItem], ids: list[int], now: Any
    ) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(_ACK_ITEMS, {"ids": ids, "now": now})
            if call.kind is ItemKind.DOSSIER:
                codes = {items[i].dossier_code for i in ids}
                await session.execute(_ACK_DOSSIERS, {"codes": sorted(codes)})

    async def _failed(
        self, call: Call, items: dict[int, PortalItem], reason: str, *, park: bool
    ) -> None:
        """Count an attempt on the call's first item of each dossier (the
        others wait behind it); park it after the last attempt."""
        now = utcnow()
        heads = [run[0] for run in call.runs]
        s = self.settings
        async with self.sessions() as session, session.begin():
            for i in heads:
                item = items[i]
                attempts = item.attempts + 1
                parked = park or attempts >= s.max_attempts
                delay = backoff_s(
                    attempts,
                    base_s=s.retry_base_delay_s,
                    cap_s=s.retry_max_delay_s,
                    jitter=random.random(),
                )
                await session.execute(
                    sa.update(PortalItem)
                    .where(col(PortalItem.id) == i, col(PortalItem.state) == PENDING)
                    .values(
                        attempts=attempts,
                        last_error=reason,
                        next_attempt_at=now + timedelta(seconds=delay),
                        state=PARKED if parked else PENDING,
                        parked_at=now if parked else None,
                    )
                )
                if parked:
                    log.warning(
                        "portal_item_parked",
                        item_id=i,
                        dossier_code=item.dossier_code,
                        service=item.kind,
                        attempts=attempts,
                        reason=reason,
                    )
        log.info(
            "portal_call_failed",
            service=call.kind.value,
            items=len(call.item_ids),
            reason=reason,
        )

    async def sample(self) -> None:
        """Refresh the queue gauges (``metrics_sample_interval_s``)."""
        async with self.sessions() as session:
            counts: dict[str, int] = dict(
                (
                    await session.execute(
                        sa.select(col(PortalItem.state), sa.func.count())
                        .where(col(PortalItem.state).in_((PENDING, PARKED)))
                        .group_by(col(PortalItem.state))
                    )
                ).all()
            )
            oldest = (
                await session.execute(
                    sa.select(sa.func.min(PortalItem.created_at)).where(
                        col(PortalItem.state) == PENDING
                    )
                )
            ).scalar()
        self.metrics.parked.set(counts.get(PARKED, 0))
        self.metrics.open.set(sum(counts.values()))
        age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        self.metrics.oldest_open_age.set(max(age, 0.0))


_OPEN_ITEMS = (
    sa.select(
        col(PortalItem.id),
        col(PortalItem.dossier_code),
        col(PortalItem.kind),
        col(PortalItem.state),
        col(PortalItem.next_attempt_at),
    )
    .where(col(PortalItem.state).in_((PENDING, PARKED)))
    .order_by(col(PortalItem.id))
    .limit(ROUND_LIMIT)
)
_ITEMS = sa.select(PortalItem).where(
    col(PortalItem.id).in_(sa.bindparam("ids", expanding=True))
)
_ACKNOWLEDGED = sa.select(col(PortalDossier.dossier_code)).where(
    col(PortalDossier.dossier_code).in_(sa.bindparam("codes", expanding=True)),
    col(PortalDossier.acknowledged).is_(True),
)
_ACK_ITEMS = (
    sa.update(PortalItem)
    .where(
        col(PortalItem.id).in_(sa.bindparam("ids", expanding=True)),
        col(PortalItem.state) != ACKED,
    )
    .values(state=ACKED, acked_at=sa.bindparam("now"), last_error=None, parked_at=None)
)
_ACK_DOSSIERS = (
    sa.update(PortalDossier)
    .where(col(PortalDossier.dossier_code).in_(sa.bindparam("codes", expanding=True)))
    .values(acknowledged=True)
)
# (statements built once, parameters bound at each call: SQLAlchemy keeps a
# statement's cache key on it, where a statement built per call is walked
# again to find its compiled form)


async def resend(
    session: AsyncSession, item_ids: Sequence[int] | None = None
) -> list[int]:
    """Put parked items back in the queue (all of them when ``item_ids`` is
    None); returns those that were parked."""
    query = sa.select(col(PortalItem.id)).where(col(PortalItem.state) == PARKED)
    if item_ids is not None:
        query = query.where(col(PortalItem.id).in_(list(item_ids)))
    ids = [i for i in (await session.execute(query)).scalars() if i is not None]
    if ids:
        await session.execute(
            sa.update(PortalItem)
            .where(col(PortalItem.id).in_(ids))
            .values(state=PENDING, attempts=0, next_attempt_at=utcnow(), parked_at=None)
        )
    return ids


async def resend_dossier(session: AsyncSession, dossier_code: str) -> list[int]:
    """Put a dossier's parked items back in the queue."""
    ids = (
        await session.execute(
            sa.select(col(PortalItem.id)).where(
                col(PortalItem.dossier_code) == dossier_code,
                col(PortalItem.state) == PARKED,
            )
        )
    ).scalars()
    wanted = [i for i in ids if i is not None]
    return await resend(session, wanted) if wanted else []
