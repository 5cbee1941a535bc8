"""Creating notices and moving them between delivery states (database only).

Used by the event handler (new notices), the delivery worker (provider
answers) and the callback endpoints (receipts, postal status). An outcome
(delivered, a channel failed, dead-lettered) writes its ``notification.*``
event in the same transaction; the steps before it (recorded, retried later)
change the notice's row only (ADR 0017).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from motcua.notification.domain.delivery import (
    FallbackKind,
    NoticeState,
    RetryPolicy,
    backoff_delay,
    choose_fallback,
    should_retry,
)
from motcua.notification.domain.rules import RESULT_RETURN_TEMPLATE, Contact
from motcua.notification.domain.sms import SmsTooLongError
from motcua.notification.events import emit
from motcua.notification.rendering import TemplateRenderer
from motcua.notification.tables import (
    NOTICE,
    DossierContact,
    Notice,
    Recipient,
    new_row,
    row_values,
)
from motcua.shared.contracts.common import NotificationChannel
from motcua.shared.contracts.notification import (
    NotificationDeadLetteredV1,
    NotificationDeliveredV1,
    NotificationPermanentFailureV1,
)
from motcua.shared.db import utcnow

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DeliveryPolicy:
    """What the state changes need to know from the settings."""

    renderer: TemplateRenderer
    retry: RetryPolicy
    fallback_order: tuple[NotificationChannel, ...]


@dataclass(frozen=True)
class Trigger:
    """The dossier event a notice answers."""

    event_id: uuid.UUID
    event_type: str
    correlation_id: str
    traceparent: str | None


def idempotency_key(
    event_id: uuid.UUID, channel: NotificationChannel, recipient_id: uuid.UUID | None
) -> str:
    """event id + channel + recipient: one notice per triple, ever."""
    return f"{event_id}:{channel.value}:{recipient_id or '-'}"


class DossierFacts(Protocol):
    """What notices are made from: a dossier's row (:class:`DossierContact`),
    or the facts a reception has just written (no ORM object built)."""

    @property
    def dossier_code(self) -> str: ...
    @property
    def agency_code(self) -> str: ...
    @property
    def procedure_code(self) -> str: ...
    @property
    def procedure_name(self) -> str: ...
    @property
    def received_at(self) -> datetime | None: ...
    @property
    def due_at(self) -> datetime | None: ...
    @property
    def result_delivery(self) -> str: ...
    @property
    def notify_channels(self) -> list[str]: ...
    @property
    def postal_address(self) -> dict[str, Any] | None: ...
    @property
    def components(self) -> list[str]: ...
    @property
    def recipient_role(self) -> str | None: ...


class PersonFacts(Protocol):
    """A recipient: its row (:class:`Recipient`) or the values just written."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def full_name(self) -> str: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def email(self) -> str | None: ...
    @property
    def address(self) -> str | None: ...


def contact_of(recipient: PersonFacts | None, dossier: DossierFacts) -> Contact:
    address = None
    if dossier.postal_address:
        address = format_postal_address(dossier.postal_address)
    elif recipient is not None:
        address = recipient.address
    if recipient is None:
        return Contact(full_name="", address=address)
    return Contact(
        full_name=recipient.full_name,
        phone=recipient.phone,
        email=recipient.email,
        address=address,
    )


def format_postal_address(postal: dict[str, Any]) -> str:
    parts = [
        postal.get("address"),
        postal.get("commune_name"),
        postal.get("province_name"),
    ]
    return ", ".join(p for p in parts if p)


async def existing_notice(session: AsyncSession, key: str) -> Notice | None:
    return (
        await session.execute(
            sa.select(Notice).where(col(Notice.idempotency_key) == key)
        )
    ).scalar_one_or_none()


def _created_fields(
    dossier_code: str,
    recipient_id: uuid.UUID | None,
    trigger: Trigger,
    template: str,
    channel: NotificationChannel,
) -> dict[str, Any]:
    """What a new notice's row says of its trigger and recipient, whichever
    path writes it (:func:`create_notice` on the ORM, :func:`notice_values`
    for a Core insert)."""
    return {
        "idempotency_key": idempotency_key(trigger.event_id, channel, recipient_id),
        "dossier_code": dossier_code,
        "recipient_id": recipient_id,
        "trigger_event_id": trigger.event_id,
        "trigger_event_type": trigger.event_type,
        "correlation_id": trigger.correlation_id,
        "traceparent": trigger.traceparent,
        "template": template,
        "channel": channel.value,
    }


async def create_notice(
    session: AsyncSession,
    policy: DeliveryPolicy,
    *,
    dossier_code: str,
    recipient_id: uuid.UUID | None,
    trigger: Trigger,
    template: str,
    channel: NotificationChannel,
    context: dict[str, Any],
    fallback_of: uuid.UUID | None = None,
    check_existing: bool = True,
) -> Notice | None:
    """Record a notice in state ``created`` (rendered now, so its SMS parts are
    known). None if the key already exists (``check_existing=False``: the
    caller knows it cannot; the unique key on ``idempotency_key`` still
    refuses a second row). A text too long even in its short variant fails at
    once and falls back."""
    key = idempotency_key(trigger.event_id, channel, recipient_id)
    if check_existing and await existing_notice(session, key) is not None:
        return None
    notice = new_row(
        Notice,
        **_created_fields(dossier_code, recipient_id, trigger, template, channel),
        context=context,
        state=NoticeState.CREATED,
        fallback_of=fallback_of,
    )
    too_long: SmsTooLongError | None = None
    try:
        rendered = policy.renderer.render(
            template, channel, context, with_attachment=False
        )
        notice.body, notice.subject = rendered.text, rendered.subject
        notice.sms_segments = rendered.sms.segments if rendered.sms else None
    except SmsTooLongError as exc:
        too_long = exc
    session.add(notice)  # flushed by the next query or the commit
    if too_long is not None:
        await fail_permanently(session, policy, notice, str(too_long))
    return notice


def notice_values(
    policy: DeliveryPolicy,
    *,
    dossier_code: str,
    recipient_id: uuid.UUID | None,
    trigger: Trigger,
    template: str,
    channel: NotificationChannel,
    context: dict[str, Any],
) -> dict[str, Any] | None:
    """The row of a new notice in state ``created`` (rendered now, so its SMS
    parts are known), for :func:`insert_notices`; None when the text is too
    long even in its short variant: :func:`create_notice` then records it
    failed and falls back."""
    try:
        rendered = policy.renderer.render(
            template, channel, context, with_attachment=False
        )
    except SmsTooLongError:
        return None
    return row_values(
        Notice,
        **_created_fields(dossier_code, recipient_id, trigger, template, channel),
        context=context,
        state=NoticeState.CREATED.value,
        body=rendered.text,
        subject=rendered.subject,
        sms_segments=rendered.sms.segments if rendered.sms else None,
    )


async def insert_notices(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Write new notices with one Core statement (no unit of work); the unique
    ``idempotency_key`` still refuses a second notice for the same event,
    channel and recipient."""
    if rows:
        await session.execute(_INSERT_NOTICES, rows)


_INSERT_NOTICES = sa.insert(NOTICE)
"""Built once: SQLAlchemy keeps a statement's cache key on the statement."""


def _touch(notice: Notice, state: NoticeState, detail: str = "") -> None:
    notice.state = state
    notice.updated_at = utcnow()
    notice.lease_until = None
    notice.claim_token = None
    if detail:
        notice.last_error = detail[:500]


def mark_accepted(notice: Notice, reference: str | None) -> None:
    """The provider took it over; a receipt or status callback follows."""
    notice.provider_reference = reference
    notice.accepted_at = utcnow()
    notice.lease_until = None
    notice.claim_token = None
    notice.updated_at = utcnow()


def mark_delivered(
    session: AsyncSession, notice: Notice, reference: str | None = None
) -> None:
    if reference:
        notice.provider_reference = reference
    _touch(notice, NoticeState.DELIVERED)
    notice.delivered_at = utcnow()
    emit(session, notice, NotificationDeliveredV1)


async def fail_temporarily(
    session: AsyncSession, policy: DeliveryPolicy, notice: Notice, detail: str
) -> None:
    """Retry later with exponential backoff, or fall back when attempts run out.
    The provider's idempotency key is renewed: this attempt certainly failed."""
    if not should_retry(notice.attempt, policy.retry):
        await fail_permanently(
            session, policy, notice, f"{detail} (hết {notice.attempt} lần thử)"
        )
        return
    delay = backoff_delay(notice.attempt, policy.retry, random.random())
    _touch(notice, NoticeState.TEMPORARY_FAILURE, detail)
    notice.next_attempt_at = utcnow() + timedelta(seconds=delay)
    notice.provider_idempotency_key = None
    notice.provider_reference = None


async def fail_permanently(
    session: AsyncSession, policy: DeliveryPolicy, notice: Notice, detail: str
) -> None:
    """This channel will not reach the recipient: try the next channel of the
    fallback order, or dead-letter the notice when none is left."""
    _touch(notice, NoticeState.PERMANENT_FAILURE, detail)
    target = await _fallback_target(session, policy, notice)
    emit(
        session,
        notice,
        NotificationPermanentFailureV1,
        fallback_channel=target,
        detail=detail,
    )
    if target is not None:
        await create_notice(
            session,
            policy,
            dossier_code=notice.dossier_code,
            recipient_id=notice.recipient_id,
            trigger=Trigger(
                notice.trigger_event_id,
                notice.trigger_event_type,
                notice.correlation_id,
                notice.traceparent,
            ),
            template=notice.template,
            channel=target,
            context=notice.context,
            fallback_of=notice.id,
        )
        return
    if await _covered(session, notice):
        return
    notice.state = NoticeState.DEAD_LETTERED
    emit(session, notice, NotificationDeadLetteredV1, detail=detail)
    log.warning(
        "notice_dead_lettered",
        notice_id=str(notice.id),
        dossier_code=notice.dossier_code,
        channel=notice.channel,
    )


async def _siblings(session: AsyncSession, notice: Notice) -> list[Notice]:
    """Notices of the same event and recipient (other channels)."""
    rows = await session.execute(
        sa.select(Notice).where(
            col(Notice.trigger_event_id) == notice.trigger_event_id,
            col(Notice.recipient_id) == notice.recipient_id
            if notice.recipient_id
            else col(Notice.recipient_id).is_(None),
            col(Notice.id) != notice.id,
        )
    )
    return list(rows.scalars())


async def _fallback_target(
    session: AsyncSession, policy: DeliveryPolicy, notice: Notice
) -> NotificationChannel | None:
    if notice.template == RESULT_RETURN_TEMPLATE:
        return None  # the result itself: only the post can carry it
    dossier = await session.get(DossierContact, notice.dossier_code)
    recipient = (
        await session.get(Recipient, notice.recipient_id)
        if notice.recipient_id
        else None
    )
    if dossier is None:
        return None
    existing = {
        NotificationChannel(s.channel): NoticeState(s.state)
        for s in await _siblings(session, notice)
        if s.template == notice.template
    }
    decision = choose_fallback(
        policy.fallback_order,
        NotificationChannel(notice.channel),
        contact_of(recipient, dossier).reachable(),
        existing,
    )
    return decision.channel if decision.kind == FallbackKind.NEXT else None


async def _covered(session: AsyncSession, notice: Notice) -> bool:
    """Another channel of the same notice is still delivering or delivered."""
    return any(
        s.template == notice.template
        and NoticeState(s.state)
        in {
            NoticeState.CREATED,
            NoticeState.SENDING,
            NoticeState.TEMPORARY_FAILURE,
            NoticeState.DELIVERED,
        }
        for s in await _siblings(session, notice)
    )
