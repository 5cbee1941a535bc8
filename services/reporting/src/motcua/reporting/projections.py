"""The projection consumer: every event into the read model, in the inbox's
transaction (so a redelivered event changes nothing) and from business time.

A thin adapter: the fold itself is :func:`motcua.reporting.facts.apply_event`;
the row builders here are shared with the bulk replay of a rebuild, so both
write exactly the same rows.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.reporting.facts import DossierFacts, IdHasher, Projected, apply_event
from motcua.reporting.monthly import GROUP_COLUMNS, MEASURES, Figures, difference
from motcua.reporting.periods import OPEN_DAY, day_number
from motcua.reporting.tables import (
    DossierRow,
    LabelRow,
    MonthFigureRow,
    OccurrenceRow,
    ScheduleChangeRow,
    TimelineEntry,
)
from motcua.shared.contracts import EventData, EventEnvelope
from motcua.shared.contracts import headers as h
from motcua.shared.contracts.dossier import DossierReceivedV1
from motcua.shared.db import utcnow
from motcua.shared.messaging import ConsumedRecord, HandlerContext
from motcua.shared.telemetry import trace_id_from_traceparent

FACT_FIELDS = tuple(f.name for f in dataclasses.fields(DossierFacts))


def facts_of(row: Any) -> DossierFacts:
    """Facts from a ``reporting_dossier`` row (ORM object or mapping row)."""
    values = {name: getattr(row, name) for name in FACT_FIELDS}
    values["occurrence_days"] = tuple(
        (str(kind), int(day)) for kind, day in values["occurrence_days"] or ()
    )
    return DossierFacts(**values)


def store_facts(row: DossierRow, facts: DossierFacts) -> None:
    for name, value in facts.row_values().items():
        setattr(row, name, value)


def new_row(dossier_code: str) -> DossierRow:
    return DossierRow(dossier_code=dossier_code, open_until_day=OPEN_DAY)


def timeline_values(
    record: ConsumedRecord, event: EventEnvelope[EventData]
) -> dict[str, Any]:
    published = (
        datetime.fromtimestamp(record.timestamp_ms / 1000, UTC)
        if record.timestamp_ms > 0
        else utcnow()
    )
    return {
        "event_id": event.event_id,
        "dossier_code": event.dossier_code,
        "event_type": event.event_type,
        "occurred_at": event.occurred_at,
        "producer": event.producer,
        "agency_code": event.agency_code,
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "trace_id": trace_id_from_traceparent(record.headers.get(h.TRACEPARENT)),
        "imported": event.imported,
        "published_at": published,
        "projected_at": utcnow(),
    }


def side_values(
    event: EventEnvelope[EventData], projected: Projected
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows of ``reporting_occurrence`` and ``reporting_schedule_change``."""
    occurrences = [
        {
            "event_id": event.event_id,
            "dossier_code": event.dossier_code,
            "kind": kind.value,
            "occurred_day": day_number(at),
        }
        for kind, at in projected.occurrences
    ]
    change = projected.change
    changes = (
        []
        if change is None
        else [
            {
                "event_id": event.event_id,
                "dossier_code": event.dossier_code,
                "seq": change.seq,
                "changed_at": change.changed_at,
                "due_at": change.due_at,
                "paused": change.paused,
            }
        ]
    )
    return occurrences, changes


def labels_of(event: EventEnvelope[EventData]) -> list[tuple[str, str, str]]:
    """(kind, code, name) of the procedure and field a reception names."""
    data = event.data
    if not isinstance(data, DossierReceivedV1):
        return []
    labels = [("procedure", data.procedure_code, data.procedure_name)]
    if data.field_code and data.field_name:
        labels.append(("field", data.field_code, data.field_name))
    return labels


async def add_figures(session: AsyncSession, figures: Figures) -> None:
    """Add a difference to the monthly figures (upsert, increments)."""
    changed = figures.changed()
    if not changed:
        return
    table = MonthFigureRow.__table__  # type: ignore[attr-defined]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["month", *GROUP_COLUMNS],
        set_={m: table.c[m] + stmt.excluded[m] for m in MEASURES},
    )
    await session.execute(
        stmt,
        [
            {**dict(zip(("month", *GROUP_COLUMNS), key, strict=True)), **measures}
            for key, measures in sorted(changed.items())
        ],
    )


async def remember_labels(
    session: AsyncSession, labels: list[tuple[str, str, str]]
) -> None:
    for kind, code, name in labels:
        label = await session.get(LabelRow, (kind, code))
        if label is None:
            session.add(LabelRow(kind=kind, code=code, name=name))
        elif label.name != name:
            label.name = name


_NEW_ROWS = "reporting_new_dossier_rows"


async def _dossier_row(session: AsyncSession, code: str) -> DossierRow | None:
    """The dossier's row: one added earlier in this batch (not flushed yet, so
    not in the identity map), else the stored one."""
    new: DossierRow | None = session.info.get(_NEW_ROWS, {}).get(code)
    if new is not None and new in session:  # gone if its savepoint rolled back
        return new
    with session.no_autoflush:
        return await session.get(DossierRow, code)


class Projector:
    """The reporting consumer's handler."""

    def __init__(self, hash_id: IdHasher) -> None:
        self.hash_id = hash_id

    async def __call__(
        self, ctx: HandlerContext, event: EventEnvelope[EventData]
    ) -> None:
        session = ctx.session
        session.add(TimelineEntry(**timeline_values(ctx.record, event)))
        row = await _dossier_row(session, event.dossier_code)
        before = facts_of(row) if row is not None else DossierFacts(event.dossier_code)
        projected = apply_event(before, event, self.hash_id)
        if projected.facts != before or projected.occurrences:
            if row is None:
                row = new_row(event.dossier_code)
                session.add(row)
                session.info.setdefault(_NEW_ROWS, {})[event.dossier_code] = row
            store_facts(row, projected.facts)
            await add_figures(
                session, difference(before.row_values(), projected.facts.row_values())
            )
        occurrences, changes = side_values(event, projected)
        session.add_all([OccurrenceRow(**o) for o in occurrences])
        session.add_all([ScheduleChangeRow(**c) for c in changes])
        await remember_labels(session, labels_of(event))
