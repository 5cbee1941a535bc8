"""Result return by post (QĐ 45/2016): waybill pool, orders, cancellation,
status callbacks (database side; the worker makes the provider calls)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from motcua.notification.domain.delivery import IN_FLIGHT_STATES, NoticeState
from motcua.notification.domain.rules import RESULT_RETURN_TEMPLATE
from motcua.notification.events import emit
from motcua.notification.notices import DeliveryPolicy, fail_permanently, mark_delivered
from motcua.notification.tables import Notice, PostalOrder, Waybill
from motcua.shared.contracts.notification import (
    PostalOrderCreatedV1,
    PostalStatusChangedV1,
)
from motcua.shared.db import utcnow

RESULT_RETURN = "result_return"
LETTER = "letter"

CALLBACK_STATUSES = frozenset(
    {"accepted", "delivered", "failed", "returned", "cancelled"}
)


def development_waybill_codes(
    start: int, count: int, prefix: str = "EX", suffix: str = "VN"
) -> list[str]:
    """UPU S10-shaped codes for development pools: EX000000001VN …"""
    return [f"{prefix}{n:09d}{suffix}" for n in range(start, start + count)]


async def load_waybills(session: AsyncSession, codes: Sequence[str]) -> int:
    """Add codes allocated by the operator to the pool; known codes are skipped."""
    known = set(
        (
            await session.execute(
                sa.select(col(Waybill.code)).where(col(Waybill.code).in_(codes))
            )
        ).scalars()
    )
    fresh = [c for c in dict.fromkeys(codes) if c not in known]
    session.add_all(Waybill(code=c) for c in fresh)
    return len(fresh)


async def free_waybills(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            sa.select(sa.func.count())
            .select_from(Waybill)
            .where(col(Waybill.notice_id).is_(None))
        )
        or 0
    )


async def take_waybill(session: AsyncSession, notice: Notice) -> str | None:
    """Mark the first free code used by ``notice``; None when the pool is empty.
    On PostgreSQL concurrent workers skip each other's locked rows."""
    code = (
        await session.execute(
            sa.select(col(Waybill.code))
            .where(col(Waybill.notice_id).is_(None))
            .order_by(col(Waybill.code))
            .limit(1)
            .with_for_update(skip_locked=True)
        )
    ).scalar_one_or_none()
    if code is None:
        return None
    await session.execute(
        sa.update(Waybill)
        .where(col(Waybill.code) == code)
        .values(notice_id=notice.id, used_at=utcnow())
    )
    return code


def order_kind(notice: Notice) -> str:
    return RESULT_RETURN if notice.template == RESULT_RETURN_TEMPLATE else LETTER


async def order_of(session: AsyncSession, notice: Notice) -> PostalOrder | None:
    return (
        await session.execute(
            sa.select(PostalOrder).where(col(PostalOrder.notice_id) == notice.id)
        )
    ).scalar_one_or_none()


async def register_order(session: AsyncSession, notice: Notice, waybill: str) -> None:
    notice.waybill_code = waybill
    session.add(
        PostalOrder(
            notice_id=notice.id,
            dossier_code=notice.dossier_code,
            kind=order_kind(notice),
            waybill_code=waybill,
            status="registered",
        )
    )


async def order_placed(session: AsyncSession, notice: Notice) -> None:
    """The operator accepted the order (status 100)."""
    order = await order_of(session, notice)
    if order is None:
        return
    if order.status == "registered":
        order.status = "placed"
        order.updated_at = utcnow()
    if order.kind == RESULT_RETURN:
        emit(session, notice, PostalOrderCreatedV1, waybill_code=order.waybill_code)


async def request_cancellation(
    session: AsyncSession, dossier_code: str, reason: str
) -> bool:
    """Cancel the dossier's result-return order: at once if it was not placed
    yet, else through the operator (the worker calls its cancel API)."""
    notices = (
        await session.execute(
            sa.select(Notice).where(
                col(Notice.dossier_code) == dossier_code,
                col(Notice.template) == RESULT_RETURN_TEMPLATE,
                col(Notice.state).in_([s.value for s in IN_FLIGHT_STATES]),
            )
        )
    ).scalars()
    asked = False
    for notice in list(notices):
        order = await order_of(session, notice)
        if notice.state != NoticeState.SENDING or order is None:
            _cancel_notice(session, notice, reason, order)
            continue
        order.status = "cancel_requested"
        order.cancel_reason = reason
        order.updated_at = utcnow()
        asked = True
    return asked


def _cancel_notice(
    session: AsyncSession, notice: Notice, reason: str, order: PostalOrder | None
) -> None:
    notice.state = NoticeState.CANCELLED
    notice.last_error = reason
    notice.updated_at = utcnow()
    notice.lease_until = None
    if order is not None:
        order.status = "cancelled"
        order.updated_at = utcnow()
        emit(
            session,
            notice,
            PostalStatusChangedV1,
            waybill_code=order.waybill_code,
            postal_status="cancelled",
            detail=reason,
        )


def order_cancelled(session: AsyncSession, notice: Notice, order: PostalOrder) -> None:
    _cancel_notice(session, notice, order.cancel_reason, order)


async def apply_status(
    session: AsyncSession,
    policy: DeliveryPolicy,
    order: PostalOrder,
    status: str,
    note: str = "",
) -> bool:
    """A status callback from the operator; False if it changes nothing
    (a repeated callback)."""
    if order.status == status or order.status in ("delivered", "returned", "cancelled"):
        return False
    notice = await session.get(Notice, order.notice_id)
    if notice is None:
        return False
    order.status = status
    order.updated_at = utcnow()
    if order.kind == RESULT_RETURN:
        emit(
            session,
            notice,
            PostalStatusChangedV1,
            waybill_code=order.waybill_code,
            postal_status=status,
            detail=note,
        )
    if status == "delivered":
        mark_delivered(session, notice)
    elif status == "returned":
        await fail_permanently(
            session, policy, notice, note or "Bưu gửi bị chuyển hoàn"
        )
    elif status == "cancelled":
        _cancel_notice(session, notice, note or "Bưu chính hủy đơn", None)
    return True
