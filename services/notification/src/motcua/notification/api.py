"""HTTP API: officers' view of a dossier's notices, operator actions, and the
providers' callbacks. Thin adapters over :mod:`notices` and :mod:`postal`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
import structlog
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import col

from motcua.notification.domain.delivery import NoticeState
from motcua.notification.domain.rules import mask_destination
from motcua.notification.postal import (
    CALLBACK_STATUSES,
    apply_status,
    free_waybills,
    load_waybills,
)
from motcua.notification.receipts import Applied, Receipt
from motcua.notification.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from motcua.notification.tables import DossierContact, Notice, PostalOrder, Recipient
from motcua.notification.worker import DeliveryWorker
from motcua.shared.auth import Principal, Role, require
from motcua.shared.contracts.common import NotificationChannel
from motcua.shared.db import utcnow
from motcua.shared.errors import ApiError, ErrorResponse, translate_validation_errors

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1", tags=["notifications"])
callbacks = APIRouter(prefix="/api/v1/callbacks", tags=["provider callbacks"])

Officer = Annotated[
    Principal,
    Depends(
        require(Role.DESK_OFFICER, Role.AGENCY_OFFICER, Role.SUPERVISOR, Role.OPERATOR)
    ),
]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse},
    404: {"model": ErrorResponse},
}


def _worker(request: Request) -> DeliveryWorker:
    worker: DeliveryWorker = request.app.state.worker
    return worker


class PostalOrderOut(BaseModel):
    kind: str
    waybill_code: str
    status: str
    updated_at: datetime


class NoticeOut(BaseModel):
    id: uuid.UUID
    dossier_code: str
    channel: NotificationChannel
    template: str = Field(
        description="Event that asked for it, e.g. `dossier.received`."
    )
    state: str
    recipient: str | None = Field(description="Masked phone, email or address.")
    attempt: int
    sms_segments: int | None
    provider: str | None
    provider_reference: str | None
    last_error: str
    fallback_of: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    postal_order: PostalOrderOut | None = None


class NoticeList(BaseModel):
    dossier_code: str | None = None
    items: list[NoticeOut]


async def _to_out(session: Any, notice: Notice) -> NoticeOut:
    channel = NotificationChannel(notice.channel)
    recipient = (
        await session.get(Recipient, notice.recipient_id)
        if notice.recipient_id
        else None
    )
    destination = None
    if recipient is not None:
        destination = {
            NotificationChannel.SMS: recipient.phone,
            NotificationChannel.EMAIL: recipient.email,
            NotificationChannel.POST: recipient.address,
        }[channel]
    order = (
        await session.execute(
            sa.select(PostalOrder).where(col(PostalOrder.notice_id) == notice.id)
        )
    ).scalar_one_or_none()
    return NoticeOut(
        id=notice.id,
        dossier_code=notice.dossier_code,
        channel=channel,
        template=notice.template,
        state=notice.state,
        recipient=mask_destination(channel, destination),
        attempt=notice.attempt,
        sms_segments=notice.sms_segments,
        provider=notice.provider,
        provider_reference=notice.provider_reference,
        last_error=notice.last_error,
        fallback_of=notice.fallback_of,
        created_at=notice.created_at,
        updated_at=notice.updated_at,
        delivered_at=notice.delivered_at,
        postal_order=PostalOrderOut(
            kind=order.kind,
            waybill_code=order.waybill_code,
            status=order.status,
            updated_at=order.updated_at,
        )
        if order
        else None,
    )


@router.get(
    "/notifications",
    response_model=NoticeList,
    responses=ERRORS,
    summary="Notices of a dossier and their delivery state (thông báo của hồ sơ)",
)
async def list_notifications(
    request: Request,
    officer: Officer,
    dossier_code: Annotated[str, Query(min_length=1, max_length=40)],
) -> NoticeList:
    runtime = _worker(request).runtime
    async with runtime.sessions() as session:
        dossier = await session.get(DossierContact, dossier_code)
        if dossier is None:
            raise ApiError(
                404,
                "dossier_not_found",
                f"Không có thông báo nào của hồ sơ {dossier_code}.",
            )
        officer.ensure_agency(dossier.agency_code)
        notices = (
            await session.execute(
                sa.select(Notice)
                .where(col(Notice.dossier_code) == dossier_code)
                .order_by(col(Notice.created_at))
            )
        ).scalars()
        items = [await _to_out(session, n) for n in notices]
    return NoticeList(dossier_code=dossier_code, items=items)


@router.get(
    "/notifications/dead-letters",
    response_model=NoticeList,
    responses=ERRORS,
    summary="Notices every channel failed to deliver (operators)",
)
async def dead_letters(request: Request, _operator: Operator) -> NoticeList:
    async with _worker(request).runtime.sessions() as session:
        notices = (
            await session.execute(
                sa.select(Notice)
                .where(col(Notice.state) == NoticeState.DEAD_LETTERED.value)
                .order_by(col(Notice.updated_at))
                .limit(500)
            )
        ).scalars()
        return NoticeList(items=[await _to_out(session, n) for n in notices])


@router.post(
    "/notifications/{notice_id}/retry",
    response_model=NoticeOut,
    responses={**ERRORS, 409: {"model": ErrorResponse}},
    summary="Send a dead-lettered notice again (operators)",
)
async def retry_notification(
    notice_id: uuid.UUID, request: Request, operator: Operator
) -> NoticeOut:
    worker = _worker(request)
    async with worker.runtime.transaction() as session:
        notice = await session.get(Notice, notice_id, with_for_update=True)
        if notice is None:
            raise ApiError(404, "notice_not_found", "Không tìm thấy thông báo.")
        if notice.state != NoticeState.DEAD_LETTERED:
            raise ApiError(
                409,
                "notice_not_dead_lettered",
                "Chỉ gửi lại được thông báo đã thất bại trên mọi kênh.",
            )
        notice.state = NoticeState.CREATED
        notice.attempt = 0
        notice.next_attempt_at = utcnow()
        notice.provider_idempotency_key = None
        notice.provider_reference = None
        notice.updated_at = utcnow()
        notice.last_error = f"Gửi lại theo yêu cầu của {operator.subject}"[:500]
        out = await _to_out(session, notice)
    log.info("notice_retried", notice_id=str(notice_id))
    worker.wake()
    return out


class ProvidersOut(BaseModel):
    circuits: dict[str, str] = Field(
        description="closed, open or half-open per channel."
    )
    free_waybills: int


@router.get(
    "/notifications/providers",
    response_model=ProvidersOut,
    responses=ERRORS,
    summary="Circuit state of each provider and waybill codes left (operators)",
)
async def providers(request: Request, _operator: Operator) -> ProvidersOut:
    worker = _worker(request)
    async with worker.runtime.sessions() as session:
        free = await free_waybills(session)
    return ProvidersOut(circuits=worker.circuit_states(), free_waybills=free)


class WaybillsIn(BaseModel):
    codes: list[Annotated[str, Field(pattern=r"^[A-Z0-9]{6,32}$")]] = Field(
        min_length=1, max_length=100_000
    )


class WaybillsOut(BaseModel):
    added: int
    free: int


@router.post(
    "/postal/waybills",
    response_model=WaybillsOut,
    responses=ERRORS,
    summary="Load waybill codes allocated by the postal operator (operators)",
)
async def add_waybills(
    body: WaybillsIn, request: Request, _operator: Operator
) -> WaybillsOut:
    async with _worker(request).runtime.transaction() as session:
        added = await load_waybills(session, body.codes)
        await session.flush()
        free = await free_waybills(session)
    return WaybillsOut(added=added, free=free)


# -- provider callbacks -------------------------------------------------------


async def _verified_body(request: Request, secret: str) -> dict[str, Any]:
    body = await request.body()
    if not verify(
        secret,
        body,
        request.headers.get(TIMESTAMP_HEADER),
        request.headers.get(SIGNATURE_HEADER),
    ):
        raise ApiError(401, "signature_invalid", "Chữ ký của lời gọi lại không hợp lệ.")
    try:
        parsed = await request.json()
    except ValueError as exc:
        raise ApiError(400, "body_invalid", "Nội dung không phải JSON hợp lệ.") from exc
    if not isinstance(parsed, dict):
        raise ApiError(400, "body_invalid", "Nội dung phải là một đối tượng JSON.")
    return parsed


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], raw: dict[str, Any]) -> M:
    """Validate a callback body; errors as structured JSON for the provider."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ApiError(
            422,
            "validation_failed",
            "Nội dung lời gọi lại không hợp lệ.",
            translate_validation_errors(list(exc.errors())),
        ) from exc


class SmsReceipt(BaseModel):
    message_id: str = Field(max_length=100)
    reference: uuid.UUID
    status: str = Field(description="delivered, failed (permanent) or expired (retry).")
    error: str = ""


class CallbackAck(BaseModel):
    applied: bool


@callbacks.post(
    "/sms/receipts",
    response_model=CallbackAck,
    responses=ERRORS,
    summary="Delivery receipt from the SMS gateway (HMAC-signed)",
)
async def sms_receipt(request: Request) -> CallbackAck:
    worker = _worker(request)
    raw = await _verified_body(
        request, worker.settings.sms_callback_secret.get_secret_value()
    )
    parsed = _parse(SmsReceipt, raw)
    applied = await worker.receipts.apply(
        Receipt(parsed.message_id, parsed.reference, parsed.status, parsed.error)
    )
    if applied == Applied.UNKNOWN:
        raise ApiError(404, "notice_not_found", "Không tìm thấy tin nhắn.")
    return CallbackAck(applied=applied == Applied.APPLIED)


class PostalStatusIn(BaseModel):
    order_number: str = Field(max_length=40)
    item_code: str = Field(max_length=32)
    status: str
    note: str = ""


@callbacks.post(
    "/postal/status",
    response_model=CallbackAck,
    responses=ERRORS,
    summary="Order status from the postal operator (HMAC-signed)",
)
async def postal_status(request: Request) -> CallbackAck:
    worker = _worker(request)
    raw = await _verified_body(
        request, worker.settings.postal_callback_secret.get_secret_value()
    )
    update = _parse(PostalStatusIn, raw)
    if update.status not in CALLBACK_STATUSES:
        raise ApiError(422, "status_unknown", "Trạng thái bưu gửi không hợp lệ.")
    async with worker.runtime.transaction() as session:
        order = (
            await session.execute(
                sa.select(PostalOrder)
                .where(col(PostalOrder.waybill_code) == update.item_code)
                .with_for_update()
            )
        ).scalar_one_or_none()
        if order is None or order.dossier_code != update.order_number:
            raise ApiError(404, "order_not_found", "Không tìm thấy đơn hàng bưu chính.")
        applied = await apply_status(
            session, worker.policy, order, update.status, update.note
        )
    worker.wake()
    return CallbackAck(applied=applied)
