"""Intake keeps each dossier's status and appointment current from routing's
events (thin adapter: parse → :func:`motcua.intake.followups.follow` →
persist). Nothing is emitted here. What is impossible for the dossier as
intake holds it is refused (dead-lettered with its reason), not applied."""

from __future__ import annotations

import structlog

from motcua.intake.followups import FOLLOWED_EVENTS, follow
from motcua.intake.tables import DossierRecord
from motcua.shared.contracts import EventData, EventEnvelope
from motcua.shared.contracts.common import DossierStatus
from motcua.shared.messaging import EventRefused, HandlerContext

log = structlog.get_logger(__name__)

HANDLED_EVENTS: tuple[type[EventData], ...] = FOLLOWED_EVENTS
"""Every other record on the topic (most of all intake's own receptions and
routing's ``dossier.routed``, two of the three events of each dossier) is
acknowledged by the consumer without being parsed or written to the inbox
(the acts among them are still checked by the chain guard)."""


async def on_dossier_event(
    ctx: HandlerContext, event: EventEnvelope[EventData]
) -> None:
    if event.producer == ctx.producer:
        return  # our own events: the record was written with them
    if not isinstance(event.data, FOLLOWED_EVENTS):
        return
    record = await ctx.session.get(DossierRecord, event.dossier_code)
    if record is None:  # every code is issued here, before any event about it
        raise EventRefused(
            "unknown_dossier",
            f"{event.event_type} for dossier {event.dossier_code}, never received here",
        )
    if event.occurred_at < record.received_at:
        return  # about an earlier dossier with this code
    apply_news(record, event)


def apply_news(record: DossierRecord, event: EventEnvelope[EventData]) -> None:
    """Write what routing's ``event`` changes into intake's ``record``; raises
    :class:`EventRefused` (``illegal_transition``) if its act is impossible
    from the status intake holds."""
    held = DossierStatus(record.status)
    news = follow(held, record.status_changed_at, event)
    if news.ignored:
        raise EventRefused(
            "illegal_transition",
            f"{event.event_type} for dossier {record.code} at status "
            f"{int(held)} ({held.name.lower()})",
        )
    if news.due_at is not None:
        record.due_at = news.due_at
    if news.status is None:
        return
    record.status = int(news.status)
    record.status_changed_at = event.occurred_at
    if news.supplement_requested is not None:
        record.supplement_requested = news.supplement_requested
    log.info(
        "dossier_status_updated",
        dossier_code=record.code,
        status=int(news.status),
        event_type=event.event_type,
    )
