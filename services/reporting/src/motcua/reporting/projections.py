"""Read models built from the event log."""

from __future__ import annotations

from motcua.reporting.tables import TimelineEntry
from motcua.shared.contracts import EventData, EventEnvelope
from motcua.shared.contracts import headers as h
from motcua.shared.messaging import HandlerContext
from motcua.shared.telemetry import trace_id_from_traceparent


async def project_event(ctx: HandlerContext, event: EventEnvelope[EventData]) -> None:
    record = ctx.record
    ctx.session.add(
        TimelineEntry(
            event_id=event.event_id,
            dossier_code=event.dossier_code,
            event_type=event.event_type,
            occurred_at=event.occurred_at,
            producer=event.producer,
            agency_code=event.agency_code,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            trace_id=trace_id_from_traceparent(record.headers.get(h.TRACEPARENT)),
        )
    )
