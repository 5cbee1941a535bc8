"""Intake keeps each dossier's status and appointment current from routing's
events (thin adapter: parse → :func:`motcua.intake.followups.follow` →
persist). Nothing is emitted here."""

from __future__ import annotations

import structlog

from motcua.intake.followups import FOLLOWED_EVENTS, follow
from motcua.intake.tables import DossierRecord
from motcua.shared.contracts import EventData, EventEnvelope
from motcua.shared.contracts.common import DossierStatus
from motcua.shared.messaging import HandlerContext

log = structlog.get_logger(__name__)

HANDLED_EVENT_TYPES = frozenset(model.EVENT_TYPE for model in FOLLOWED_EVENTS)
"""Every other record on the topic (most of all intake's own receptions and
routing's ``dossier.routed``, two of the three events of each dossier) is
acknowledged by the consumer without being parsed or written to the inbox."""


async def on_dossier_event(
    ctx: HandlerContext, event: EventEnvelope[EventData]
) -> None:
    if event.producer == ctx.producer:
        return  # our own events: the record was written with them
    if not isinstance(event.data, FOLLOWED_EVENTS):
        return
    record = await ctx.session.get(DossierRecord, event.dossier_code)
    if record is None or event.occurred_at < record.received_at:
        return  # not received here, or about an earlier dossier with this code
    apply_news(record, event)


def apply_news(record: DossierRecord, event: EventEnvelope[EventData]) -> None:
    """Write what routing's ``event`` changes into intake's ``record``."""
    held = DossierStatus(record.status)
    news = follow(held, record.status_changed_at, event)
    if news.due_at is not None:
        record.due_at = news.due_at
    if news.ignored:
        # impossible from the status intake holds (a final one above all)
        log.info(
            "status_event_ignored",
            dossier_code=record.code,
            status=int(held),
            event_type=event.event_type,
        )
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
