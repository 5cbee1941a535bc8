"""Intake keeps each dossier's status current from routing's events (thin
adapter: parse → ask the shared status table → persist). Nothing is emitted
here."""

from __future__ import annotations

import structlog

from motcua.intake.reception import is_stale
from motcua.intake.tables import DossierRecord
from motcua.shared.contracts import EventData, EventEnvelope
from motcua.shared.contracts.common import DossierStatus
from motcua.shared.contracts.handoff import (
    ApologyIssuedV1,
    FeeRequestedV1,
    HandoffOfferedV1,
    ProcessingResumedV1,
    ProcessingStoppedV1,
    ResultDeliveredV1,
    ResultRecordedV1,
    SupplementRequestedV1,
)
from motcua.shared.domain.status import status_after_event
from motcua.shared.messaging import HandlerContext

log = structlog.get_logger(__name__)

HANDLED_EVENTS: tuple[type[EventData], ...] = (
    HandoffOfferedV1,
    SupplementRequestedV1,
    FeeRequestedV1,
    ProcessingResumedV1,
    ProcessingStoppedV1,
    ResultRecordedV1,
    ResultDeliveredV1,
    ApologyIssuedV1,
)
"""Routing's events that change what intake shows of a dossier (its status,
through the shared status table, or its appointment)."""
HANDLED_EVENT_TYPES = frozenset(model.EVENT_TYPE for model in HANDLED_EVENTS)
"""Every other record on the topic (most of all intake's own receptions and
routing's ``dossier.routed``, two of the three events of each dossier) is
acknowledged by the consumer without being parsed or written to the inbox."""


async def on_dossier_event(
    ctx: HandlerContext, event: EventEnvelope[EventData]
) -> None:
    if event.producer == ctx.producer:
        return  # our own events: the record was written with them
    if not isinstance(event.data, HANDLED_EVENTS):
        return
    record = await ctx.session.get(DossierRecord, event.dossier_code)
    if record is None or event.occurred_at < record.received_at:
        return  # not received here, or about an earlier dossier with this code
    follow_routing_event(record, event)


def follow_routing_event(
    record: DossierRecord, event: EventEnvelope[EventData]
) -> None:
    """Apply one of routing's events to the record intake holds."""
    data = event.data
    if isinstance(data, ProcessingResumedV1 | ApologyIssuedV1):
        new_due = (
            data.due_at if isinstance(data, ProcessingResumedV1) else data.new_due_at
        )
        if new_due is not None:
            record.due_at = new_due
    if is_stale(event.occurred_at, record.status_changed_at):
        return
    current = DossierStatus(record.status)
    status = status_after_event(current, event.event_type)
    if status is None:
        # impossible from the status intake holds (a final one above all)
        log.info(
            "status_event_ignored",
            dossier_code=record.code,
            status=int(current),
            event_type=event.event_type,
        )
        return
    if status is current:
        return  # no move (a hand-over between agencies, an apology, an echo)
    record.status = int(status)
    record.status_changed_at = event.occurred_at
    if isinstance(data, SupplementRequestedV1):
        record.supplement_requested = list(data.requested_components)
    log.info(
        "dossier_status_updated",
        dossier_code=record.code,
        status=int(status),
        event_type=event.event_type,
    )
