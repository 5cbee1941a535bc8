"""The projection consumer: every event into the read model, in the inbox's
transaction (so a redelivered event changes nothing) and from business time.

A thin adapter: the fold itself is :func:`motcua.reporting.facts.apply_event`.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from motcua.reporting.facts import DossierFacts, IdHasher, Projected, apply_event
from motcua.reporting.periods import OPEN_DAY, day_number
from motcua.reporting.tables import (
    DossierRow,
    LabelRow,
    OccurrenceRow,
    ScheduleChangeRow,
    TimelineEntry,
)
from motcua.shared.contracts import EventData, EventEnvelope
from motcua.shared.contracts import headers as h
from motcua.shared.contracts.dossier import DossierReceivedV1
from motcua.shared.db import utcnow
from motcua.shared.messaging import HandlerContext
from motcua.shared.telemetry import trace_id_from_traceparent

_FACT_FIELDS = tuple(f.name for f in dataclasses.fields(DossierFacts))


def facts_of(row: DossierRow) -> DossierFacts:
    return DossierFacts(**{name: getattr(row, name) for name in _FACT_FIELDS})


def store_facts(row: DossierRow, facts: DossierFacts) -> None:
    for name in _FACT_FIELDS:
        setattr(row, name, getattr(facts, name))
    row.agency_code = facts.agency_code
    for name, value in facts.day_columns().items():
        setattr(row, name, value)


def new_row(dossier_code: str) -> DossierRow:
    return DossierRow(dossier_code=dossier_code, open_until_day=OPEN_DAY)


class Projector:
    """The reporting consumer's handler."""

    def __init__(self, hash_id: IdHasher) -> None:
        self._hash_id = hash_id

    async def __call__(
        self, ctx: HandlerContext, event: EventEnvelope[EventData]
    ) -> None:
        self._add_timeline(ctx, event)
        session = ctx.session
        row = await session.get(DossierRow, event.dossier_code)
        before = facts_of(row) if row is not None else DossierFacts(event.dossier_code)
        projected = apply_event(before, event, self._hash_id)
        if projected.facts != before or projected.occurrences:
            if row is None:
                row = new_row(event.dossier_code)
                session.add(row)
            store_facts(row, projected.facts)
        self._add_side_rows(ctx, event, projected)
        if isinstance(event.data, DossierReceivedV1):
            await self._remember_labels(ctx, event.data)

    @staticmethod
    def _add_timeline(ctx: HandlerContext, event: EventEnvelope[EventData]) -> None:
        record = ctx.record
        published = (
            datetime.fromtimestamp(record.timestamp_ms / 1000, UTC)
            if record.timestamp_ms > 0
            else utcnow()
        )
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
                imported=event.imported,
                published_at=published,
            )
        )

    @staticmethod
    def _add_side_rows(
        ctx: HandlerContext, event: EventEnvelope[EventData], projected: Projected
    ) -> None:
        for kind, at in projected.occurrences:
            ctx.session.add(
                OccurrenceRow(
                    event_id=event.event_id,
                    dossier_code=event.dossier_code,
                    kind=kind.value,
                    occurred_day=day_number(at),
                )
            )
        change = projected.change
        if change is not None:
            ctx.session.add(
                ScheduleChangeRow(
                    event_id=event.event_id,
                    dossier_code=event.dossier_code,
                    seq=change.seq,
                    changed_at=change.changed_at,
                    due_at=change.due_at,
                    paused=change.paused,
                )
            )

    @staticmethod
    async def _remember_labels(
        ctx: HandlerContext, received: DossierReceivedV1
    ) -> None:
        pairs = [("procedure", received.procedure_code, received.procedure_name)]
        if received.field_code and received.field_name:
            pairs.append(("field", received.field_code, received.field_name))
        for kind, code, name in pairs:
            label = await ctx.session.get(LabelRow, (kind, code))
            if label is None:
                ctx.session.add(LabelRow(kind=kind, code=code, name=name))
            elif label.name != name:
                label.name = name
