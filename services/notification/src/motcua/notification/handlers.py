"""Notification's event handlers: decide what to tell whom, record it, emit."""

from __future__ import annotations

from motcua.notification.tables import NoticeRecord
from motcua.shared.contracts import EventData, EventEnvelope
from motcua.shared.contracts.common import NotificationChannel
from motcua.shared.contracts.dossier import DossierReceivedV1
from motcua.shared.contracts.notification import NotificationCreatedV1
from motcua.shared.messaging import HandlerContext


async def on_dossier_event(
    ctx: HandlerContext, event: EventEnvelope[EventData]
) -> None:
    match event.data:
        case DossierReceivedV1() if not event.imported:
            _record_notice(ctx, event, NotificationChannel.SMS)
        case _:
            return


def _record_notice(
    ctx: HandlerContext, event: EventEnvelope[EventData], channel: NotificationChannel
) -> None:
    notice = NoticeRecord(
        dossier_code=event.dossier_code,
        trigger_event_id=event.event_id,
        channel=channel.value,
        template=event.event_type,
        state="created",
    )
    ctx.session.add(notice)
    ctx.emit(
        NotificationCreatedV1(
            notification_id=notice.id,
            channel=channel,
            template=notice.template,
            trigger_event_id=event.event_id,
            trigger_event_type=event.event_type,
        ),
        cause=event,
    )
