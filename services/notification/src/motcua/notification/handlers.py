"""Notification's consumer of dossier events: thin adapter.

It only writes rows: the dossier's contact data and notices in state
``created`` (one per event, channel and recipient; no event is published for
them, ADR 0017). The delivery worker sends them. Imported history is recorded
but never notified.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from motcua.notification.domain.rules import (
    NOTIFYING_EVENTS,
    RESULT_RETURN_TEMPLATE,
    Contact,
    notice_recipient_role,
    plan_notices,
)
from motcua.notification.events import emit
from motcua.notification.notices import (
    DeliveryPolicy,
    DossierFacts,
    PersonFacts,
    Trigger,
    contact_of,
    create_notice,
    existing_notice,
    format_postal_address,
    idempotency_key,
    insert_notices,
    notice_values,
)
from motcua.notification.postal import request_cancellation
from motcua.notification.tables import (
    DOSSIER,
    RECIPIENT,
    DossierContact,
    Notice,
    Recipient,
    row_values,
)
from motcua.shared.contracts import (
    EventData,
    EventEnvelope,
)
from motcua.shared.contracts import headers as h
from motcua.shared.contracts.common import (
    DossierStatus,
    NotificationChannel,
    ResultDelivery,
)
from motcua.shared.contracts.dossier import (
    DossierCompletionRequestedV2,
    DossierReceivedV2,
    DossierRefusedV2,
    DossierWithdrawnV1,
    Person,
    PersonalData,
)
from motcua.shared.contracts.handoff import (
    ApologyIssuedV1,
    FeeRequestedV1,
    ProcessingResumedV1,
    ProcessingStoppedV1,
    ResultDeliveredV1,
    ResultRecordedV1,
    SupplementRequestedV1,
)
from motcua.shared.contracts.notification import NotificationSkippedV1
from motcua.shared.db import utcnow
from motcua.shared.domain.status import (
    EVENT_ACTIONS,
    status_after_event,
    status_after_event_seen,
)
from motcua.shared.messaging import EventRefused, HandlerContext
from motcua.shared.messaging.tables import ParkedRecord
from motcua.shared.personal_data import PersonalDataAccess, SealBrokenError

CREATING_EVENTS: tuple[type[EventData], ...] = (
    DossierReceivedV2,
    DossierRefusedV2,
    DossierCompletionRequestedV2,
)
"""The events that bring a dossier's people (sealed): the first one makes the
dossier's row here; a second one for the same dossier is refused."""

HANDLED_EVENTS: tuple[type[EventData], ...] = (
    *CREATING_EVENTS,
    SupplementRequestedV1,
    FeeRequestedV1,
    ApologyIssuedV1,
    ProcessingStoppedV1,
    ResultRecordedV1,
    DossierWithdrawnV1,
    ProcessingResumedV1,  # a new appointment for later notices
    ResultDeliveredV1,  # a result handed over: no postal return
)
"""What the consumer reads (type and version); the other dossier events are
skipped unparsed."""

log = structlog.get_logger(__name__)

_RECIPIENT_NS = uuid.UUID("5b0d8d4e-0c4e-4d3e-9a53-6f1f0e3c2a11")
PARKED: sa.Table = ParkedRecord.__table__  # type: ignore[attr-defined]


def make_dossier_handler(
    policy: DeliveryPolicy,
    on_notices: Callable[[], None],
    access: PersonalDataAccess,
) -> Callable[[HandlerContext, EventEnvelope[EventData]], Awaitable[None]]:
    """The handler of ``motcua.dossier.events``; ``on_notices`` wakes the worker,
    ``access`` opens the contacts sealed for notification (ADR 0007)."""

    async def on_dossier_event(
        ctx: HandlerContext, event: EventEnvelope[EventData]
    ) -> None:
        if await apply_event(ctx, policy, access, event):
            _after_commit(ctx.session, on_notices)

    return on_dossier_event


async def apply_event(
    ctx: HandlerContext,
    policy: DeliveryPolicy,
    access: PersonalDataAccess,
    event: EventEnvelope[EventData],
    traceparent: str | None = None,
) -> bool:
    """Record what the event says; True if notices were written."""
    session = ctx.session
    if traceparent is None:
        traceparent = ctx.record.headers.get(h.TRACEPARENT)
    data = event.data
    if isinstance(data, CREATING_EVENTS):
        return await _apply_creation(
            ctx, policy, access, event, _people(access, event), traceparent
        )
    dossier = await session.get(DossierContact, event.dossier_code)
    if dossier is None:
        if (
            event.event_type in NOTIFYING_EVENTS
            and not event.imported
            and await ctx.park(event.dossier_code)
        ):
            log.info("event_parked", dossier_code=event.dossier_code)
        return False
    _follow_status(dossier, event)
    _update_facts(dossier, data)
    cancelled = await _cancel_postal_return_if_needed(session, event, dossier)
    wrote = False
    if event.event_type in NOTIFYING_EVENTS and not event.imported:
        wrote = await _record_notices(
            session, policy, event, dossier, traceparent, {}, new_dossier=False
        )
    return wrote or cancelled


async def _apply_creation(
    ctx: HandlerContext,
    policy: DeliveryPolicy,
    access: PersonalDataAccess,
    event: EventEnvelope[EventData],
    people: PersonalData,
    traceparent: str | None,
) -> bool:
    """The event that brings a dossier's people: its rows, its notices, then
    the events parked while it was unknown here. Core statements only (the
    reception is the hot path: one per dossier)."""
    code = event.dossier_code
    known, parked = (
        await ctx.session.execute(
            _KNOWN_AND_PARKED, {"code": code, "consumer": ctx.consumer}
        )
    ).one()
    if known:
        raise EventRefused(
            "duplicate_creation",
            f"{event.event_type} for dossier {code}, whose people are known here",
        )
    dossier, recipients = await _remember(ctx.session, event, people)
    wrote = False
    if event.event_type in NOTIFYING_EVENTS and not event.imported:
        wrote = await _record_notices(
            ctx.session,
            policy,
            event,
            dossier,
            traceparent,
            recipients,
            new_dossier=True,
        )
    if parked:
        wrote |= await _replay_parked(ctx, policy, access, code)
    return wrote


_KNOWN_AND_PARKED = sa.select(
    sa.exists().where(DOSSIER.c.dossier_code == sa.bindparam("code")),
    sa.exists().where(
        PARKED.c.consumer == sa.bindparam("consumer"),
        PARKED.c.dossier_code == sa.bindparam("code"),
    ),
)
"""Whether a dossier's row exists here, and whether this consumer parked
events for it: one statement per reception (the lot is nearly always empty)."""
_INSERT_DOSSIER = sa.insert(DOSSIER)
_INSERT_RECIPIENTS = sa.insert(RECIPIENT)
# (statements built once: SQLAlchemy keeps a statement's cache key on it)


UNSEEN_ACTS = frozenset(
    act
    for event_type, act in EVENT_ACTIONS.items()
    if event_type not in {model.EVENT_TYPE for model in HANDLED_EVENTS}
)
"""The acts whose events notification skips (hand-overs, fee payments …): a
dossier it holds at one status may have moved through them since."""


def _follow_status(dossier: DossierContact, event: EventEnvelope[EventData]) -> None:
    """Keep the dossier's status by the shared status table, refusing what
    is impossible from it (a result delivered while processing, a notice for a
    withdrawn dossier …): nothing of it is then sent. (A reception's status
    is set by :func:`_remember`.)"""
    if event.imported:
        if not dossier.imported:
            raise _illegal(dossier, event, "imported history about a live dossier")
        return  # history describes past states, not each move
    if not dossier.status:
        return
    status = status_after_event_seen(
        DossierStatus(dossier.status), event.event_type, unseen=UNSEEN_ACTS
    )
    if status is None:
        raise _illegal(dossier, event)
    dossier.status = int(status)


def _illegal(
    dossier: DossierContact, event: EventEnvelope[EventData], why: str = ""
) -> EventRefused:
    return EventRefused(
        "illegal_transition",
        f"{event.event_type} for dossier {dossier.dossier_code} at status "
        f"{dossier.status}" + (f": {why}" if why else ""),
    )


def _people(
    access: PersonalDataAccess, event: EventEnvelope[EventData]
) -> PersonalData:
    """The contacts sealed for notification; a block that does not open was
    not written by intake (or not for this dossier): the event is refused."""
    try:
        return access.open_event(event, purpose="notices")
    except SealBrokenError as exc:
        raise EventRefused("invalid_payload", str(exc)) from None


def _after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Wake the worker once the batch's transaction has committed (before
    that, its claim could not see the new notices)."""
    if session.info.get("wake_registered"):
        return
    session.info["wake_registered"] = True

    def fire(_session: Any) -> None:
        session.info.pop("wake_registered", None)
        callback()

    sa.event.listen(session.sync_session, "after_commit", fire, once=True)


# -- what the dossier events say -------------------------------------------


def recipient_id(dossier_code: str, role: str) -> uuid.UUID:
    return uuid.uuid5(_RECIPIENT_NS, f"{dossier_code}:{role}")


@dataclass(slots=True)
class NewRecipient:
    """A recipient as its reception writes it (:class:`PersonFacts`)."""

    id: uuid.UUID
    dossier_code: str
    role: str
    full_name: str
    phone: str | None
    email: str | None
    address: str | None


@dataclass(slots=True)
class NewDossier:
    """A dossier's row as its reception writes it (:class:`DossierFacts`)."""

    dossier_code: str
    imported: bool
    status: int
    recipient_role: str | None
    agency_code: str = ""
    procedure_code: str = ""
    procedure_name: str = ""
    received_at: datetime | None = None
    due_at: datetime | None = None
    result_delivery: str = "desk"
    notify_channels: list[str] = field(default_factory=list)
    postal_address: dict[str, Any] | None = None
    components: list[str] = field(default_factory=list)


def _new_recipient(dossier_code: str, role: str, person: Person) -> NewRecipient:
    return NewRecipient(
        id=recipient_id(dossier_code, role),
        dossier_code=dossier_code,
        role=role,
        full_name=person.full_name,
        phone=person.phone,
        email=person.email,
        address=person.address,
    )


def _contact(person: Person | None) -> Contact | None:
    if person is None:
        return None
    return Contact(person.full_name, person.phone, person.email, person.address)


async def _remember(
    session: AsyncSession, event: EventEnvelope[EventData], people: PersonalData
) -> tuple[NewDossier, dict[str, NewRecipient]]:
    """Write the dossier's contact row and its recipients, made from the event
    that brings its people (received; refused and completion requests at
    intake), which the caller found unknown here. Core inserts: one statement
    per table, no unit of work."""
    data = event.data
    code = event.dossier_code
    applicant = people.applicant
    if applicant is None:
        raise EventRefused("invalid_payload", "no applicant in the sealed people")
    representative = people.representative
    recipients = {"applicant": _new_recipient(code, "applicant", applicant)}
    if representative is not None:
        recipients["representative"] = _new_recipient(
            code, "representative", representative
        )
    status = status_after_event(None, event.event_type)
    dossier = NewDossier(
        dossier_code=code,
        imported=event.imported,
        status=int(status) if status is not None else 0,
        recipient_role=notice_recipient_role(
            _contact(applicant), _contact(representative)
        ),
    )
    if isinstance(
        data, DossierReceivedV2 | DossierRefusedV2 | DossierCompletionRequestedV2
    ):
        dossier.agency_code = data.receiving_agency_code
        dossier.procedure_code = data.procedure_code
    if isinstance(data, DossierReceivedV2):
        _remember_received(dossier, data, people)
    else:
        dossier.notify_channels = [
            NotificationChannel.SMS.value,
            NotificationChannel.EMAIL.value,
        ]
    now = utcnow()
    await session.execute(
        _INSERT_DOSSIER,
        row_values(
            DossierContact,
            dossier_code=code,
            agency_code=dossier.agency_code,
            procedure_code=dossier.procedure_code,
            procedure_name=dossier.procedure_name,
            received_at=dossier.received_at,
            due_at=dossier.due_at,
            result_delivery=dossier.result_delivery,
            notify_channels=dossier.notify_channels,
            postal_address=dossier.postal_address,
            components=dossier.components,
            recipient_role=dossier.recipient_role,
            status=dossier.status,
            imported=dossier.imported,
            created_at=now,
            updated_at=now,
        ),
    )
    await session.execute(
        _INSERT_RECIPIENTS,
        [
            {
                "id": r.id,
                "dossier_code": r.dossier_code,
                "role": r.role,
                "full_name": r.full_name,
                "phone": r.phone,
                "email": r.email,
                "address": r.address,
            }
            for r in recipients.values()
        ],
    )
    return dossier, recipients


def _remember_received(
    dossier: NewDossier, data: DossierReceivedV2, people: PersonalData
) -> None:
    dossier.procedure_name = data.procedure_name
    dossier.received_at = data.received_at
    dossier.due_at = data.due_at
    dossier.result_delivery = data.result_delivery.value
    dossier.notify_channels = [c.value for c in data.notify_channels]
    dossier.postal_address = (
        people.postal_address.model_dump(mode="json") if people.postal_address else None
    )
    dossier.components = [c.name for c in data.components]


def _update_facts(dossier: DossierContact, data: EventData) -> None:
    match data:
        case ApologyIssuedV1():
            dossier.due_at = data.new_due_at
        case ProcessingResumedV1() if data.due_at is not None:
            dossier.due_at = data.due_at
        case DossierWithdrawnV1():
            dossier.withdrawn = True
        case _:
            return
    dossier.updated_at = utcnow()


async def _cancel_postal_return_if_needed(
    session: AsyncSession, event: EventEnvelope[EventData], dossier: DossierContact
) -> bool:
    """A withdrawn dossier, or a result handed over at the desk, no longer
    needs the result-return order."""
    data = event.data
    if isinstance(data, DossierWithdrawnV1):
        reason = "Công dân rút hồ sơ"
    elif isinstance(data, ResultDeliveredV1) and data.method != "post":
        reason = "Kết quả đã trả trực tiếp"
    else:
        return False
    return await request_cancellation(session, dossier.dossier_code, reason)


# -- notices ---------------------------------------------------------------


def _event_context(data: EventData) -> dict[str, Any]:
    match data:
        case DossierRefusedV2():
            return {"reasons": data.reasons}
        case DossierCompletionRequestedV2():
            return {
                "components": data.missing_components,
                "instructions": data.instructions,
            }
        case SupplementRequestedV1():
            return {"components": data.requested_components, "reason": data.reason}
        case FeeRequestedV1():
            return {"amount_vnd": data.amount_vnd, "description": data.description}
        case ApologyIssuedV1():
            return {
                "reason": data.reason,
                "previous_due_at": _iso(data.previous_due_at),
                "new_due_at": _iso(data.new_due_at),
            }
        case ProcessingStoppedV1():
            return {"reason": data.reason}
        case ResultRecordedV1():
            return {
                "resolved_at": _iso(data.resolved_at),
                "result_summary": data.result_summary,
            }
        case DossierWithdrawnV1():
            return {"reason": data.reason}
        case _:
            return {}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def template_context(
    dossier: DossierFacts, recipient: PersonFacts | None, data: EventData
) -> dict[str, Any]:
    """Variables of the Vietnamese templates."""
    base: dict[str, Any] = {
        "dossier_code": dossier.dossier_code,
        "procedure_name": dossier.procedure_name or dossier.procedure_code,
        "agency_code": dossier.agency_code,
        "full_name": recipient.full_name if recipient else "",
        "received_at": _iso(dossier.received_at),
        "due_at": _iso(dossier.due_at),
        "components": dossier.components,
        "postal_return": dossier.result_delivery == ResultDelivery.POST.value,
        "postal_address": format_postal_address(dossier.postal_address or {}),
    }
    return base | _event_context(data)


async def _record_notices(
    session: AsyncSession,
    policy: DeliveryPolicy,
    event: EventEnvelope[EventData],
    dossier: DossierFacts,
    traceparent: str | None,
    people: Mapping[str, PersonFacts],
    *,
    new_dossier: bool,
) -> bool:
    """``new_dossier``: the dossier's row was created by this event, so no
    notice of it exists yet (notices are only made for known dossiers) and
    their idempotency keys need no look-up; the unique key still guards."""
    role = dossier.recipient_role
    recipient: PersonFacts | None = None
    if role:
        recipient = people.get(role) or await session.get(
            Recipient, recipient_id(dossier.dossier_code, role)
        )
    contact = contact_of(recipient, dossier)
    chosen = [NotificationChannel(c) for c in dossier.notify_channels]
    plans = plan_notices(
        event.event_type,
        chosen=chosen,
        reachable=contact.reachable(),
        result_delivery=ResultDelivery(dossier.result_delivery),
        has_postal_address=bool(dossier.postal_address),
    )
    trigger = Trigger(
        event.event_id, event.event_type, event.correlation_id, traceparent
    )
    if not plans:
        _emit_skipped(session, event, dossier, chosen, trigger)
        return False
    context = template_context(dossier, recipient, event.data)
    to = recipient.id if recipient else None
    rows: list[dict[str, Any]] = []
    for plan in plans:
        if plan.template == RESULT_RETURN_TEMPLATE and await _has_result_return(
            session, dossier.dossier_code
        ):
            continue  # order number = dossier code: one live order per dossier
        if (
            not new_dossier
            and await existing_notice(
                session, idempotency_key(trigger.event_id, plan.channel, to)
            )
            is not None
        ):
            continue
        notice: dict[str, Any] = {
            "dossier_code": dossier.dossier_code,
            "recipient_id": to,
            "trigger": trigger,
            "template": plan.template,
            "channel": plan.channel,
            "context": context,
        }
        row = notice_values(policy, **notice)
        if row is not None:
            rows.append(row)
            continue
        # Too long even in its short variant: recorded failed, with its
        # fallback, after the notices planned before it (the fallback looks
        # at them).
        await insert_notices(session, rows)
        rows = []
        await create_notice(session, policy, **notice, check_existing=False)
    await insert_notices(session, rows)
    return True


async def _has_result_return(session: AsyncSession, dossier_code: str) -> bool:
    found = await session.scalar(
        sa.select(col(Notice.id)).where(
            col(Notice.dossier_code) == dossier_code,
            col(Notice.template) == RESULT_RETURN_TEMPLATE,
            col(Notice.state) != "cancelled",
        )
    )
    return found is not None


def _emit_skipped(
    session: AsyncSession,
    event: EventEnvelope[EventData],
    dossier: DossierFacts,
    chosen: list[NotificationChannel],
    trigger: Trigger,
) -> None:
    """Tell the timeline nothing could be sent (no contact for any channel)."""
    probe = Notice(
        id=uuid.uuid5(_RECIPIENT_NS, f"skipped:{event.event_id}"),
        idempotency_key="",
        dossier_code=dossier.dossier_code,
        trigger_event_id=trigger.event_id,
        trigger_event_type=trigger.event_type,
        correlation_id=trigger.correlation_id,
        traceparent=trigger.traceparent,
        template=event.event_type,
        channel=(chosen[0] if chosen else NotificationChannel.SMS).value,
        state="skipped",
    )
    emit(
        session,
        probe,
        NotificationSkippedV1,
        detail="Người nộp không có số điện thoại hoặc thư điện tử nhận thông báo.",
    )


# -- events that came before the dossier's contact data -------------------


async def _replay_parked(
    ctx: HandlerContext,
    policy: DeliveryPolicy,
    access: PersonalDataAccess,
    dossier_code: str,
) -> bool:
    """Apply the events parked for a dossier whose people just arrived."""
    wrote = False
    for record, parked in await ctx.take_parked(dossier_code):
        try:
            async with ctx.session.begin_nested():
                wrote |= await apply_event(
                    ctx, policy, access, parked, record.headers.get(h.TRACEPARENT)
                )
        except EventRefused as refusal:
            await ctx.refuse_parked(record, refusal)
    return wrote
