"""Intake keeps each dossier's status current from the other services' events
(thin adapter: parse → decide → persist). Nothing is emitted here."""

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
from motcua.shared.messaging import HandlerContext

log = structlog.get_logger(__name__)

_STATUS_OF: dict[type[EventData], DossierStatus] = {
    HandoffOfferedV1: DossierStatus.IN_PROGRESS,
    SupplementRequestedV1: DossierStatus.AWAITING_SUPPLEMENT,
    FeeRequestedV1: DossierStatus.AWAITING_FEE,
    ProcessingResumedV1: DossierStatus.IN_PROGRESS,
    ProcessingStoppedV1: DossierStatus.STOPPED,
    ResultRecordedV1: DossierStatus.RESOLVED,
    ResultDeliveredV1: DossierStatus.RESULT_DELIVERED,
}
HANDLED_EVENTS: tuple[type[EventData], ...] = (*_STATUS_OF, ApologyIssuedV1)
HANDLED_EVENT_TYPES = frozenset(model.EVENT_TYPE for model in HANDLED_EVENTS)
"""Every other record on the topic (most of all intake's own receptions and
routing's ``dossier.routed``, two of the three events of each dossier) is
acknowledged by the consumer without being parsed or written to the inbox."""
_FINAL = frozenset(
    {DossierStatus.REFUSED, DossierStatus.WITHDRAWN, DossierStatus.RESULT_DELIVERED}
)


async def on_dossier_event(
    ctx: HandlerContext, event: EventEnvelope[EventData]
) -> None:
    if event.producer == ctx.producer:
        return  # our own events: the record was written with them
    status = _STATUS_OF.get(type(event.data))
    if status is None and not isinstance(event.data, ApologyIssuedV1):
        return
    record = await ctx.session.get(DossierRecord, event.dossier_code)
    if record is None or event.occurred_at < record.received_at:
        return  # not received here, or about an earlier dossier with this code
    _apply(record, event, status)


def _apply(
    record: DossierRecord, event: EventEnvelope[EventData], status: DossierStatus | None
) -> None:
    data = event.data
    if isinstance(data, ProcessingResumedV1 | ApologyIssuedV1):
        new_due = (
            data.due_at if isinstance(data, ProcessingResumedV1) else data.new_due_at
        )
        if new_due is not None:
            record.due_at = new_due
    if status is None:
        return
    current = DossierStatus(record.status)
    if current in _FINAL or is_stale(event.occurred_at, record.status_changed_at):
        return
    if isinstance(data, HandoffOfferedV1) and current is not DossierStatus.RECEIVED:
        return  # a later hand-off does not undo a pause
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
