"""The projection consumer: every event into the read model, in the inbox's
transaction (so a redelivered event changes nothing) and from business time.

A thin adapter: the fold itself is :func:`motcua.reporting.facts.apply_event`;
the row builders here are shared with the bulk replay of a rebuild, so both
write exactly the same rows.

The consumer core first hands the projector the batch's events
(:meth:`Projector.prepare`): the dossiers they fold are read with one
statement. It then calls the handler once per record, and flushes the session
at the end of the batch (and, when it applies a batch record by record, at the
end of each record's savepoint). The handler folds each event at once (so a
record the fold cannot take fails in its own call and is dead-lettered as
before), but keeps the rows it produces in memory, with the facts of the
dossiers it has read, and writes them all at the next flush with one
multi-row statement per table. A rollback (of the batch or of a record's
savepoint) forgets them. Should those writes ever fail at the batch's flush,
the batch is rewound as any failed batch is, and the next batches write
record by record (each record flushed in its own handler call) until one
commits, so a record the database refuses is still dead-lettered.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, registry

from motcua.reporting.facts import (
    CreationRepeatedError,
    DossierFacts,
    IllegalEventError,
    Projected,
    apply_event,
    check_act,
    folds,
)
from motcua.reporting.monthly import GROUP_COLUMNS, MEASURES, Figures, difference
from motcua.reporting.periods import day_number
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
from motcua.shared.contracts.dossier import DossierReceivedV2, DossierRefusedV2
from motcua.shared.db import utcnow
from motcua.shared.messaging import ConsumedRecord, EventRefused, HandlerContext
from motcua.shared.messaging.consumer import INFRASTRUCTURE_ERRORS
from motcua.shared.personal_data import PersonalDataAccess, SealBrokenError
from motcua.shared.signing.guard import Checked
from motcua.shared.telemetry import trace_id_from_traceparent

FACT_FIELDS = tuple(f.name for f in dataclasses.fields(DossierFacts))
DOSSIER = DossierRow.__table__  # type: ignore[attr-defined]
TIMELINE = TimelineEntry.__table__  # type: ignore[attr-defined]
OCCURRENCE = OccurrenceRow.__table__  # type: ignore[attr-defined]
CHANGE = ScheduleChangeRow.__table__  # type: ignore[attr-defined]
FIGURE = MonthFigureRow.__table__  # type: ignore[attr-defined]
LABEL = LabelRow.__table__  # type: ignore[attr-defined]


def facts_of(row: Any) -> DossierFacts:
    """Facts from a ``reporting_dossier`` row (ORM object or mapping row)."""
    values = {name: getattr(row, name) for name in FACT_FIELDS}
    values["occurrence_days"] = tuple(
        (str(kind), int(day)) for kind, day in values["occurrence_days"] or ()
    )
    return DossierFacts(**values)


def timeline_values(
    record: ConsumedRecord,
    event: EventEnvelope[EventData],
    checked: Checked | None = None,
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
        # a legal act keeps its signed bytes: `motcua verify` checks them here
        "body": record.value.decode() if checked is not None else None,
        "seq": checked.seq if checked is not None else None,
        "signing": checked.signing if checked is not None else None,
        "signer": checked.signer if checked is not None else None,
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
    if not isinstance(data, DossierReceivedV2):
        return []
    labels = [("procedure", data.procedure_code, data.procedure_name)]
    if data.field_code and data.field_name:
        labels.append(("field", data.field_code, data.field_name))
    return labels


@functools.cache
def _upserts(dialect_name: str) -> tuple[Any, Any]:
    """The figure and label upserts of a dialect, built once (building one
    costs more than running it)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    figures = dialect.insert(FIGURE)
    figures = figures.on_conflict_do_update(
        index_elements=["month", *GROUP_COLUMNS],
        set_={m: FIGURE.c[m] + figures.excluded[m] for m in MEASURES},
    )
    labels = dialect.insert(LABEL)
    labels = labels.on_conflict_do_update(
        index_elements=["kind", "code"], set_={"name": labels.excluded.name}
    )
    return figures, labels


_INSERTS = {t.name: sa.insert(t) for t in (TIMELINE, OCCURRENCE, CHANGE, DOSSIER)}
"""Built once (an insert per flush and table cost its building again)."""

DOSSIER_UPDATE = sa.update(DOSSIER).where(
    DOSSIER.c.dossier_code == sa.bindparam("_code")
)


def figures_upsert(
    session: AsyncSession | Session, figures: Figures
) -> tuple[Any, list[dict[str, Any]]] | None:
    """The upsert adding a difference to the monthly figures, with its rows."""
    changed = figures.changed()
    if not changed:
        return None
    return _upserts(session.get_bind().dialect.name)[0], [
        {**dict(zip(("month", *GROUP_COLUMNS), key, strict=True)), **measures}
        for key, measures in sorted(changed.items())
    ]


def labels_upsert(
    session: AsyncSession | Session, labels: dict[tuple[str, str], str]
) -> tuple[Any, list[dict[str, Any]]] | None:
    """The upsert keeping the latest name of each procedure and field."""
    if not labels:
        return None
    return _upserts(session.get_bind().dialect.name)[1], [
        {"kind": kind, "code": code, "name": name}
        for (kind, code), name in sorted(labels.items())
    ]


async def add_figures(session: AsyncSession, figures: Figures) -> None:
    """Add a difference to the monthly figures (upsert, increments)."""
    upsert = figures_upsert(session, figures)
    if upsert is not None:
        await session.execute(*upsert)


async def remember_labels(
    session: AsyncSession, labels: list[tuple[str, str, str]]
) -> None:
    upsert = labels_upsert(session, {(k, c): n for k, c, n in labels})
    if upsert is not None:
        await session.execute(*upsert)


# -- the live projection -------------------------------------------------------------

_marker_registry = registry()


class _PendingWrites:
    """A placeholder in the session while rows wait to be written: a session
    with nothing new or dirty skips its flush (and the ``before_flush`` hook
    that writes the rows). The hook removes it before the unit of work runs;
    its table exists nowhere, so it could never be written by mistake."""


_marker_registry.map_imperatively(
    _PendingWrites,
    sa.Table(
        "reporting_pending_writes",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
    ),
)


@dataclass
class _Dossier:
    facts: DossierFacts
    stored: dict[str, Any] | None
    """The row as the database has it (``None``: no row yet)."""


@dataclass
class _Batch:
    """The projection's state in one session (kept in ``session.info``)."""

    projector: Projector
    eager: bool
    """Flush at the end of every record (after writes failed at a batch flush)."""
    dossiers: dict[str, _Dossier] = field(default_factory=dict)
    touched: dict[str, None] = field(default_factory=dict)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    occurrences: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[tuple[str, str], str] = field(default_factory=dict)
    marker: _PendingWrites | None = None

    def pending(self, session: AsyncSession) -> None:
        if self.marker is None:
            self.marker = _PendingWrites()
            session.add(self.marker)

    def forget(self, *_: Any) -> None:
        """A rollback: what the database had may be gone, what waited is."""
        self.dossiers.clear()
        self.touched.clear()
        self.timeline.clear()
        self.occurrences.clear()
        self.changes.clear()
        self.labels.clear()
        self.marker = None

    def write(self, session: Session, *_: Any) -> None:
        """``before_flush``: everything that waits, one statement per table."""
        if self.marker is not None:
            if self.marker in session:
                session.expunge(self.marker)
            self.marker = None
        try:
            self._write(session)
        except INFRASTRUCTURE_ERRORS:
            raise
        except Exception:
            self.projector.eager = True
            raise

    def _write(self, session: Session) -> None:
        for table, rows in (
            (TIMELINE, self.timeline),
            (OCCURRENCE, self.occurrences),
            (CHANGE, self.changes),
        ):
            if rows:
                session.execute(_INSERTS[table.name], rows)
        figures = Figures()
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        written: list[tuple[_Dossier, dict[str, Any]]] = []
        for code in self.touched:
            dossier = self.dossiers[code]
            values = dossier.facts.row_values()
            figures.merge(difference(dossier.stored, values))
            if dossier.stored is None:
                inserts.append(values)
            else:
                updates.append({"_code": code, **values})
            written.append((dossier, values))
        if inserts:
            session.execute(_INSERTS[DOSSIER.name], inserts)
        if updates:
            session.execute(DOSSIER_UPDATE, updates)
        for upsert in (
            figures_upsert(session, figures),
            labels_upsert(session, self.labels),
        ):
            if upsert is not None:
                session.execute(*upsert)
        for dossier, values in written:  # what the database has now
            dossier.stored = values
        self.touched.clear()
        self.timeline.clear()
        self.occurrences.clear()
        self.changes.clear()
        self.labels.clear()

    def committed(self, *_: Any) -> None:
        self.projector.eager = False


_BATCH = "reporting_projection"


def _batch(session: AsyncSession, projector: Projector) -> _Batch:
    batch: _Batch | None = session.info.get(_BATCH)
    if batch is None:
        batch = _Batch(projector, eager=projector.eager)
        session.info[_BATCH] = batch
        sync = session.sync_session
        sa_event.listen(sync, "before_flush", batch.write)
        sa_event.listen(sync, "after_soft_rollback", batch.forget)
        if batch.eager:
            sa_event.listen(sync, "after_commit", batch.committed)
    return batch


_DOSSIER_BY_CODE = sa.select(DOSSIER).where(
    DOSSIER.c.dossier_code == sa.bindparam("code")
)
_DOSSIERS_BY_CODES = sa.select(DOSSIER).where(
    DOSSIER.c.dossier_code.in_(sa.bindparam("codes", expanding=True))
)
"""Built once: building a statement per record cost more than running it."""
_CODES_PER_READ = 500
"""Dossiers read per statement (well under any backend's parameter limit)."""


def _dossier(code: str, row: Any) -> _Dossier:
    if row is None:
        return _Dossier(DossierFacts(code), None)
    facts = facts_of(row)
    return _Dossier(facts, facts.row_values())


async def _load(session: AsyncSession, code: str) -> _Dossier:
    with session.no_autoflush:  # the rows waiting stay waiting
        row = (await session.execute(_DOSSIER_BY_CODE, {"code": code})).first()
    return _dossier(code, row)


async def _load_all(session: AsyncSession, batch: _Batch, codes: list[str]) -> None:
    """The dossiers of ``codes`` not read yet in this session, read at once."""
    wanted = list(dict.fromkeys(c for c in codes if c not in batch.dossiers))
    for start in range(0, len(wanted), _CODES_PER_READ):
        chunk = wanted[start : start + _CODES_PER_READ]
        with session.no_autoflush:
            rows = (await session.execute(_DOSSIERS_BY_CODES, {"codes": chunk})).all()
        found = {row.dossier_code: row for row in rows}
        for code in chunk:
            batch.dossiers[code] = _dossier(code, found.get(code))


def fold(
    facts: DossierFacts, event: EventEnvelope[EventData], access: PersonalDataAccess
) -> Projected:
    """:func:`apply_event` as the consumer applies it: a reception's lookup
    digest taken from the block sealed for reporting (ADR 0007), and what must
    not be applied refused. Shared by the live projection and the rebuild."""
    digest = None
    if isinstance(event.data, DossierReceivedV2 | DossierRefusedV2):
        try:  # opening also proves intake sealed it: a forgery is refused
            digest = access.open_event(event, purpose="lookup").id_digest
        except SealBrokenError as exc:
            raise EventRefused("invalid_payload", str(exc)) from None
    try:
        check_act(facts, event)
        return apply_event(facts, event, digest)
    except CreationRepeatedError as exc:
        raise EventRefused("duplicate_creation", str(exc)) from None
    except IllegalEventError as exc:
        raise EventRefused("illegal_transition", str(exc)) from None


class Projector:
    """The reporting consumer's handler."""

    def __init__(self, access: PersonalDataAccess) -> None:
        self.access = access
        self.eager = False
        """Set when rows failed to be written at a batch's flush: batches then
        write record by record until one commits."""

    async def prepare(
        self, session: AsyncSession, events: Sequence[EventEnvelope[EventData]]
    ) -> None:
        """The consumer core's batch hook: the dossiers the batch folds, read
        with one statement instead of one per dossier in :meth:`__call__`
        (which still reads any it does not find: a batch applied record by
        record comes without this call)."""
        await _load_all(
            session,
            _batch(session, self),
            [event.dossier_code for event in events if folds(event)],
        )

    async def __call__(
        self, ctx: HandlerContext, event: EventEnvelope[EventData]
    ) -> None:
        session = ctx.session
        batch = _batch(session, self)
        timeline = timeline_values(ctx.record, event, ctx.checked)
        if folds(event):
            code = event.dossier_code
            dossier = batch.dossiers.get(code)
            if dossier is None:
                dossier = batch.dossiers[code] = await _load(session, code)
            before = dossier.facts
            projected = fold(before, event, self.access)
            occurrences, changes = side_values(event, projected)
            labels = labels_of(event)
            if projected.facts != before or projected.occurrences:
                dossier.facts = projected.facts
                batch.touched[code] = None
            batch.occurrences += occurrences
            batch.changes += changes
            batch.labels.update({(k, c): n for k, c, n in labels})
        batch.timeline.append(timeline)
        batch.pending(session)
        if batch.eager:
            await session.flush()
