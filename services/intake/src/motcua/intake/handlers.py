"""Intake keeps each dossier's status and appointment current from routing's
events (thin adapter: parse → :func:`motcua.intake.followups.follow` →
persist). Nothing is emitted here. What is impossible for the dossier as
intake holds it is refused (dead-lettered with its reason), not applied."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
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


_DOSSIER: sa.Table = DossierRecord.__table__  # type: ignore[attr-defined]
_HELD = sa.select(
    _DOSSIER.c.code,
    _DOSSIER.c.status,
    _DOSSIER.c.status_changed_at,
    _DOSSIER.c.received_at,
)
_WRITE = sa.update(_DOSSIER).where(_DOSSIER.c.code == sa.bindparam("_code"))


async def on_dossier_event(
    ctx: HandlerContext, event: EventEnvelope[EventData]
) -> None:
    """Core statements, no unit of work: the few columns the news depends on
    are read (not the dossier's details and people), what changes written."""
    if event.producer == ctx.producer:
        return  # our own events: the record was written with them
    if not isinstance(event.data, FOLLOWED_EVENTS):
        return
    held = (
        await ctx.session.execute(
            _HELD.where(_DOSSIER.c.code == sa.bindparam("_code")),
            {"_code": event.dossier_code},
        )
    ).first()
    if held is None:  # every code is issued here, before any event about it
        raise EventRefused(
            "unknown_dossier",
            f"{event.event_type} for dossier {event.dossier_code}, never received here",
        )
    if event.occurred_at < held.received_at:
        return  # about an earlier dossier with this code
    changes = news_columns(
        held.code, DossierStatus(held.status), held.status_changed_at, event
    )
    if changes:
        await ctx.session.execute(_WRITE, {"_code": held.code, **changes})


def news_columns(
    code: str,
    held: DossierStatus,
    status_changed_at: datetime | None,
    event: EventEnvelope[EventData],
) -> dict[str, Any]:
    """The columns of intake's dossier row that routing's ``event`` changes;
    raises :class:`EventRefused` (``illegal_transition``) if its act is
    impossible from the status intake holds."""
    news = follow(held, status_changed_at, event)
    if news.ignored:
        raise EventRefused(
            "illegal_transition",
            f"{event.event_type} for dossier {code} at status "
            f"{int(held)} ({held.name.lower()})",
        )
    changes: dict[str, Any] = {}
    if news.due_at is not None:
        changes["due_at"] = news.due_at
    if news.status is None:
        return changes
    changes["status"] = int(news.status)
    changes["status_changed_at"] = event.occurred_at
    if news.supplement_requested is not None:
        changes["supplement_requested"] = news.supplement_requested
    log.info(
        "dossier_status_updated",
        dossier_code=code,
        status=int(news.status),
        event_type=event.event_type,
    )
    return changes
