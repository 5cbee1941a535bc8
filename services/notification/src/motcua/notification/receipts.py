"""SMS delivery receipts, applied in groups (group commit).

The gateway calls back once per SMS. Each receipt used to be a transaction of
its own (a writer turn on SQLite, a commit and its flush to disk, a relay round
for its one event). Here the receipts that arrive while a group is being
written, or within ``window_s`` of the first, are applied in one transaction:
one look-up of their notices, one multi-row outbox insert, one commit. Every
caller is answered only after the commit that holds its receipt, so a receipt
the gateway saw acknowledged is durable, as before. If a group's transaction
fails, its receipts are applied again one by one, so one bad receipt fails
only its own call (the gateway sends it again).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.notification.domain.delivery import NoticeState
from motcua.notification.events import emit
from motcua.notification.notices import (
    DeliveryPolicy,
    fail_permanently,
    fail_temporarily,
)
from motcua.notification.tables import NOTICE, Notice
from motcua.shared.contracts.notification import NotificationDeliveredV1
from motcua.shared.db import UTCDateTime, utcnow
from motcua.shared.service import ServiceRuntime

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Receipt:
    """What the gateway says about one SMS (its callback, verified)."""

    message_id: str
    reference: uuid.UUID
    status: str
    error: str = ""


class Applied(StrEnum):
    APPLIED = "applied"
    REPEATED = "repeated"
    """The notice was settled already (a receipt sent twice)."""
    UNKNOWN = "unknown"
    """No notice has this reference."""


_Waiting = tuple[Receipt, "asyncio.Future[Applied]"]


class ReceiptBatcher:
    """Applies receipts in groups; :meth:`apply` answers when its group has
    committed."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        policy: DeliveryPolicy,
        on_failed: Callable[[], None],
        *,
        window_s: float,
        max_group: int,
    ) -> None:
        self.runtime = runtime
        self.policy = policy
        self.on_failed = on_failed
        """Wakes the delivery worker: a failed SMS may have made a notice on
        the next channel (a delivered one leaves it nothing to do)."""
        self.window_s = window_s
        self.max_group = max_group
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    async def apply(self, receipt: Receipt) -> Applied:
        future: asyncio.Future[Applied] = asyncio.get_running_loop().create_future()
        self._waiting.append((receipt, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())
        return await asyncio.shield(future)  # a caller gone must not cancel others

    async def _write(self) -> None:
        try:
            if self.window_s > 0:
                await asyncio.sleep(self.window_s)
            while self._waiting:
                group = self._waiting[: self.max_group]
                del self._waiting[: self.max_group]
                await self._commit(group)
        except asyncio.CancelledError:  # shutting down: nothing was answered
            for _, future in self._waiting:
                future.cancel()
            self._waiting.clear()
            raise
        finally:
            self._writer = None

    async def _commit(self, group: list[_Waiting]) -> None:
        try:
            async with self.runtime.transaction() as session:
                answers = await self._apply_all(session, [r for r, _ in group])
        except Exception as exc:
            if len(group) == 1:
                _settle(group[0][1], exc)
                return
            log.warning(
                "receipt_group_failed", receipts=len(group), error=type(exc).__name__
            )
            for waiting in group:  # alone, each fails (or succeeds) for itself
                await self._commit([waiting])
            return
        for (_, future), answer in zip(group, answers, strict=True):
            _settle(future, answer)
        if any(
            a == Applied.APPLIED and r.status != "delivered"
            for (r, _), a in zip(group, answers, strict=True)
        ):
            self.on_failed()

    async def _apply_all(
        self, session: AsyncSession, receipts: list[Receipt]
    ) -> list[Applied]:
        """One read of the group's notices; the delivered ones (nearly all)
        are written with one Core statement, without loading them into the
        ORM; a failed or expired SMS goes through :mod:`notices` (retry,
        fallback)."""
        rows = await session.execute(
            _SENT, {"keys": sorted({r.reference for r in receipts}, key=str)}
        )
        group = _Group({key: _Sent(*sent) for key, *sent in rows})
        answers = [await self._apply_one(session, group, r) for r in receipts]
        if group.delivered:
            await session.execute(_MARK_DELIVERED, group.delivered)
        return answers

    async def _apply_one(
        self, session: AsyncSession, group: _Group, receipt: Receipt
    ) -> Applied:
        sent = group.sent.get(receipt.reference)
        if sent is None:
            return Applied.UNKNOWN
        if sent.state != NoticeState.SENDING:
            return Applied.REPEATED
        sent.provider_reference = receipt.message_id
        if receipt.status == "delivered":
            sent.state = NoticeState.DELIVERED.value
            group.delivered.append(
                {
                    "notice_id": sent.id,
                    "reference": receipt.message_id,
                    "now": utcnow(),
                }
            )
            emit(session, sent, NotificationDeliveredV1)
            return Applied.APPLIED
        if group.delivered:  # written first: the fallback reads its siblings
            await session.execute(_MARK_DELIVERED, group.delivered)
            group.delivered.clear()
        notice = await session.get(Notice, sent.id)
        assert notice is not None  # read (and locked) with the group
        sent.state = NoticeState.PERMANENT_FAILURE.value  # settled, either way
        notice.provider_reference = receipt.message_id
        detail = f"Báo cáo nhận tin: {receipt.status} {receipt.error}".strip()
        if receipt.status == "expired":
            await fail_temporarily(session, self.policy, notice, detail)
        else:
            await fail_permanently(session, self.policy, notice, detail)
        return Applied.APPLIED


@dataclass(slots=True)
class _Sent:
    """A notice waiting for its receipt, as the group read it: what its
    delivered event carries."""

    id: uuid.UUID
    state: str
    dossier_code: str
    channel: str
    template: str
    trigger_event_id: uuid.UUID
    trigger_event_type: str
    attempt: int
    provider: str | None
    provider_reference: str | None
    correlation_id: str
    traceparent: str | None


@dataclass
class _Group:
    sent: dict[uuid.UUID | None, _Sent]
    """By the key the SMS was sent with (what the receipt names)."""
    delivered: list[dict[str, Any]] = field(default_factory=list)
    """The rows of :data:`_MARK_DELIVERED`, written once the group is applied."""


_SENT = (
    sa.select(
        NOTICE.c.provider_idempotency_key,
        NOTICE.c.id,
        NOTICE.c.state,
        NOTICE.c.dossier_code,
        NOTICE.c.channel,
        NOTICE.c.template,
        NOTICE.c.trigger_event_id,
        NOTICE.c.trigger_event_type,
        NOTICE.c.attempt,
        NOTICE.c.provider,
        NOTICE.c.provider_reference,
        NOTICE.c.correlation_id,
        NOTICE.c.traceparent,
    )
    .where(NOTICE.c.provider_idempotency_key.in_(sa.bindparam("keys", expanding=True)))
    .with_for_update()
)
_MARK_DELIVERED = (
    sa.update(NOTICE)
    .where(NOTICE.c.id == sa.bindparam("notice_id"))
    .values(
        state=NoticeState.DELIVERED.value,
        provider_reference=sa.bindparam("reference"),
        updated_at=sa.bindparam("now", type_=UTCDateTime()),
        delivered_at=sa.bindparam("now", type_=UTCDateTime()),
        lease_until=None,
        claim_token=None,
    )
)
"""What :func:`motcua.notification.notices.mark_delivered` writes."""


def _settle(future: asyncio.Future[Applied], outcome: Applied | BaseException) -> None:
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
