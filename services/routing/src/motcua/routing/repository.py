"""Rows ↔ domain snapshots, and applying an :class:`Outcome` in one transaction.

Every change of routing state goes through :func:`apply_outcome`: the rows
change, the events go to the outbox (with the ``agency-code`` header) and into
the dossier's event log, all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from motcua.routing.deadlines import next_alarm_at
from motcua.routing.domain import (
    Dossier,
    Emit,
    Handoff,
    HandoffState,
    Outcome,
    Pause,
    PauseKind,
)
from motcua.routing.tables import (
    DossierEventRow,
    HandoffRow,
    PauseRow,
    RoutedDossier,
)
from motcua.shared.contracts import headers as h
from motcua.shared.contracts.common import DossierStatus
from motcua.shared.contracts.envelope import EventEnvelope, new_event, parse_event
from motcua.shared.contracts.handoff import RoutedStep, Timeliness
from motcua.shared.db import utcnow
from motcua.shared.messaging import HandlerContext
from motcua.shared.messaging.consumer import PARKED
from motcua.shared.messaging.outbox import add_sealed_event
from motcua.shared.signing.store import open_chain


class Emitter(Protocol):
    """Turns an :class:`Emit` into an envelope in the outbox (linked to the
    dossier's chain and signed: the envelope returned is the one queued)."""

    def __call__(self, emit: Emit, dossier_code: str) -> EventEnvelope[Any]: ...

    def with_payload(
        self, emit: Emit, dossier_code: str
    ) -> tuple[EventEnvelope[Any], bytes]: ...


def _headers(emit: Emit) -> dict[str, str] | None:
    return {h.AGENCY_CODE: emit.header_agency} if emit.header_agency else None


class ConsumerEmitter:
    """Follow-up events of a consumed event (same transaction, caused by it)."""

    def __init__(self, ctx: HandlerContext, cause: EventEnvelope[Any]) -> None:
        self._ctx = ctx
        self._cause = cause

    @property
    def consumer(self) -> str:
        """The consumer group (whose parking lot holds events for the dossier)."""
        return self._ctx.consumer

    def __call__(self, emit: Emit, dossier_code: str) -> EventEnvelope[Any]:
        return self.with_payload(emit, dossier_code)[0]

    def with_payload(
        self, emit: Emit, dossier_code: str
    ) -> tuple[EventEnvelope[Any], bytes]:
        """``__call__``, also returning the outbox payload, so that the event
        log stores those bytes instead of serialising the envelope again."""
        return self._ctx.emit_with_payload(
            emit.data,
            cause=self._cause,
            dossier_code=dossier_code,
            agency_code=emit.acting_agency,
            occurred_at=emit.occurred_at,
            extra_headers=_headers(emit),
        )


class SessionEmitter:
    """Events of an HTTP action or the scheduler, on the dossier's correlation."""

    def __init__(
        self, session: AsyncSession, producer: str, correlation_id: str | None
    ) -> None:
        self._session = session
        self._producer = producer
        self._correlation_id = correlation_id

    def __call__(self, emit: Emit, dossier_code: str) -> EventEnvelope[Any]:
        return self.with_payload(emit, dossier_code)[0]

    def with_payload(
        self, emit: Emit, dossier_code: str
    ) -> tuple[EventEnvelope[Any], bytes]:
        envelope = new_event(
            emit.data,
            dossier_code=dossier_code,
            producer=self._producer,
            agency_code=emit.acting_agency,
            correlation_id=self._correlation_id,
            occurred_at=emit.occurred_at,
        )
        return add_sealed_event(
            self._session,
            envelope,
            topic=emit.data.TOPIC,
            extra_headers=_headers(emit),
        )


# -- loading ----------------------------------------------------------------------------


def _handoff(row: HandoffRow | sa.Row[Any]) -> Handoff:
    return Handoff(
        seq=row.seq,
        step_no=row.step_no,
        role=row.role,
        step_name=row.step_name,
        from_agency_code=row.from_agency_code,
        to_agency_code=row.to_agency_code,
        state=HandoffState(row.state),
        offered_at=row.offered_at,
        step_hours=row.step_hours,
        step_due_at=row.step_due_at,
        nearly_due_at=row.nearly_due_at,
        escalate_at=row.escalate_at,
        offered_by=row.offered_by,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
        close_reason=row.close_reason,
        timeliness=Timeliness(row.timeliness) if row.timeliness else None,
    )


def to_domain(
    row: RoutedDossier | sa.Row[Any],
    handoff: HandoffRow | sa.Row[Any] | None,
    pauses: Sequence[PauseRow | sa.Row[Any]],
) -> Dossier:
    """The snapshot of a dossier's rows (ORM objects or Core rows)."""
    open_pause = next((p for p in pauses if p.ended_at is None), None)
    return Dossier(
        code=row.code,
        status=DossierStatus(row.status),
        receiving_agency_code=row.receiving_agency_code,
        steps=tuple(RoutedStep.model_validate(s) for s in row.steps),
        due_at=row.due_at,
        nearly_due_at=row.nearly_due_at,
        handoff=_handoff(handoff) if handoff else None,
        pause=Pause(
            PauseKind(open_pause.kind),
            open_pause.agency_code,
            open_pause.step_no,
            open_pause.started_at,
        )
        if open_pause
        else None,
        supplement_agencies=frozenset(
            p.agency_code for p in pauses if p.kind == PauseKind.SUPPLEMENT
        ),
        imported=row.imported,
    )


async def load_dossier(
    session: AsyncSession, code: str, *, lock: bool = False
) -> tuple[RoutedDossier, Dossier] | None:
    """The dossier's row and snapshot; ``lock`` holds the row (PostgreSQL) so
    concurrent actions on one dossier take turns."""
    if lock:
        # about to act: the events it emits extend the dossier's chain. The
        # chain row is locked first, as the consumer core does before a
        # handler, so two units of work never lock the two rows in turn.
        await open_chain(session, code)
    stmt = sa.select(RoutedDossier).where(col(RoutedDossier.code) == code)
    if lock:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        return None
    handoff = await latest_handoff(session, code)
    pauses = (
        (
            await session.execute(
                sa.select(PauseRow).where(col(PauseRow.dossier_code) == code)
            )
        )
        .scalars()
        .all()
    )
    return row, to_domain(row, handoff, pauses)


_DOSSIER_TABLE: sa.Table = RoutedDossier.__table__  # type: ignore[attr-defined]
_HANDOFF_TABLE: sa.Table = HandoffRow.__table__  # type: ignore[attr-defined]
_PAUSE_TABLE: sa.Table = PauseRow.__table__  # type: ignore[attr-defined]


async def load_due_dossiers(
    session: AsyncSession, codes: Sequence[str], now: datetime
) -> dict[str, tuple[sa.Row[Any], Dossier]]:
    """The snapshots of those of ``codes`` still due for an alarm check at
    ``now`` (another scheduler may have looked at them meanwhile), in three
    statements whatever their number (Core rows, no unit of work: the
    scheduler writes with Core too). The dossier rows are locked (PostgreSQL)
    in code order; their chains must be locked first (:func:`prefetch_chains`)."""
    if not codes:
        return {}
    wanted = sorted(set(codes))
    d = _DOSSIER_TABLE
    stmt = (
        sa.select(d)
        .where(
            d.c.code.in_(wanted),
            d.c.next_alarm_at <= now,
            d.c.imported.is_(False),
        )
        .order_by(d.c.code)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    with session.no_autoflush:
        rows = {row.code: row for row in (await session.execute(stmt)).all()}
        if not rows:
            return {}
        found = list(rows)
        ho = _HANDOFF_TABLE
        newest = (
            sa.select(ho.c.dossier_code, sa.func.max(ho.c.seq).label("seq"))
            .where(ho.c.dossier_code.in_(found))
            .group_by(ho.c.dossier_code)
            .subquery()
        )
        handoffs = {
            row.dossier_code: row
            for row in await session.execute(
                sa.select(ho).join(
                    newest,
                    sa.and_(
                        ho.c.dossier_code == newest.c.dossier_code,
                        ho.c.seq == newest.c.seq,
                    ),
                )
            )
        }
        pauses: dict[str, list[sa.Row[Any]]] = {}
        for pause in await session.execute(
            sa.select(_PAUSE_TABLE).where(_PAUSE_TABLE.c.dossier_code.in_(found))
        ):
            pauses.setdefault(pause.dossier_code, []).append(pause)
    return {
        code: (row, to_domain(row, handoffs.get(code), pauses.get(code, ())))
        for code, row in rows.items()
    }


async def latest_handoff(session: AsyncSession, code: str) -> HandoffRow | None:
    stmt = (
        sa.select(HandoffRow)
        .where(col(HandoffRow.dossier_code) == code)
        .order_by(col(HandoffRow.seq).desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def handoffs_of(session: AsyncSession, code: str) -> list[HandoffRow]:
    stmt = (
        sa.select(HandoffRow)
        .where(col(HandoffRow.dossier_code) == code)
        .order_by(col(HandoffRow.seq))
    )
    return list((await session.execute(stmt)).scalars().all())


async def dossier_events(session: AsyncSession, code: str) -> list[EventEnvelope[Any]]:
    stmt = (
        sa.select(col(DossierEventRow.envelope))
        .where(col(DossierEventRow.dossier_code) == code)
        .order_by(col(DossierEventRow.id))
    )
    return [parse_event(text) for text in (await session.execute(stmt)).scalars()]


# -- applying ---------------------------------------------------------------------------


def _handoff_columns(handoff: Handoff) -> dict[str, Any]:
    """The columns of a hand-off row that mirror the domain hand-off."""
    return {
        "step_no": handoff.step_no,
        "role": handoff.role,
        "step_name": handoff.step_name,
        "from_agency_code": handoff.from_agency_code,
        "to_agency_code": handoff.to_agency_code,
        "state": handoff.state.value,
        "offered_at": handoff.offered_at,
        "offered_by": handoff.offered_by,
        "step_hours": handoff.step_hours,
        "step_due_at": handoff.step_due_at,
        "nearly_due_at": handoff.nearly_due_at,
        "escalate_at": handoff.escalate_at,
        "acknowledged_at": handoff.acknowledged_at,
        "acknowledged_by": handoff.acknowledged_by,
        "closed_at": handoff.closed_at,
        "closed_by": handoff.closed_by,
        "close_reason": handoff.close_reason,
        "timeliness": handoff.timeliness.value if handoff.timeliness else None,
    }


def _write_handoff(row: HandoffRow, handoff: Handoff) -> None:
    for name, value in _handoff_columns(handoff).items():
        setattr(row, name, value)


async def _save_handoffs(
    session: AsyncSession, code: str, handoffs: Sequence[Handoff]
) -> None:
    for handoff in handoffs:
        row = None
        # An offered hand-off is always a new one: the protocol only moves
        # forward, so there is no row to look for.
        if handoff.state is not HandoffState.OFFERED:
            stmt = sa.select(HandoffRow).where(
                col(HandoffRow.dossier_code) == code,
                col(HandoffRow.seq) == handoff.seq,
            )
            row = (await session.execute(stmt)).scalar_one_or_none()
        if row is None:
            row = HandoffRow(
                dossier_code=code,
                seq=handoff.seq,
                step_no=handoff.step_no,
                role=handoff.role,
                to_agency_code=handoff.to_agency_code,
                state=handoff.state.value,
                offered_at=handoff.offered_at,
            )
            session.add(row)
        _write_handoff(row, handoff)


async def _save_pauses(session: AsyncSession, code: str, outcome: Outcome) -> None:
    if outcome.pause_ended is not None:
        ended = outcome.pause_ended
        await session.execute(
            sa.update(PauseRow)
            .where(
                col(PauseRow.dossier_code) == code,
                col(PauseRow.ended_at).is_(None),
            )
            .values(ended_at=ended.ended_at, paused_working_hours=ended.working_hours)
        )
    if outcome.pause_started is not None:
        pause = outcome.pause_started
        session.add(
            PauseRow(
                dossier_code=code,
                kind=pause.kind.value,
                agency_code=pause.agency_code,
                step_no=pause.step_no,
                started_at=pause.started_at,
            )
        )


def dossier_columns(dossier: Dossier) -> dict[str, Any]:
    """The columns of a dossier row that follow the domain snapshot."""
    columns: dict[str, Any] = {
        "status": int(dossier.status),
        "due_at": dossier.due_at,
        "nearly_due_at": dossier.nearly_due_at,
        "holder_agency_code": dossier.holder,
        "steps": [s.model_dump(mode="json") for s in dossier.steps],
        "next_alarm_at": next_alarm_at(dossier),
        "updated_at": utcnow(),
    }
    if dossier.handoff is not None:
        columns["current_step"] = dossier.handoff.step_no
    return columns


def write_dossier(row: RoutedDossier, dossier: Dossier) -> None:
    for name, value in dossier_columns(dossier).items():
        setattr(row, name, value)


def event_columns(envelope: EventEnvelope[Any], text: str) -> dict[str, Any]:
    return {
        "dossier_code": envelope.dossier_code,
        "event_id": str(envelope.event_id),
        "event_type": envelope.event_type,
        "occurred_at": envelope.occurred_at,
        "envelope": text,
    }


def record_event(
    session: AsyncSession, envelope: EventEnvelope[Any], body: bytes
) -> None:
    """Append to the dossier's event log (the control sheet's source, and the
    signed history ``motcua verify --source routing`` checks): ``body`` is the
    record exactly as signed."""
    session.add(DossierEventRow(**event_columns(envelope, body.decode())))


_NEW_DOSSIER: dict[str, Any] = {}
"""The insert of :func:`insert_new_dossier`, per dialect."""


async def insert_new_dossier(
    session: AsyncSession, values: dict[str, Any], consumer: str
) -> tuple[bool, bool]:
    """Insert a dossier row unless one with its code exists (Core, at once).

    Returns (inserted, has_parked): whether the row is new, and whether events
    about it are parked, in one statement (the existence check, the insert
    and the parked-events check used to be three).
    """
    dialect = session.get_bind().dialect.name
    stmt = _NEW_DOSSIER.get(dialect)
    if stmt is None:
        t = RoutedDossier.__table__  # type: ignore[attr-defined]
        parked = PARKED
        stmt = _NEW_DOSSIER[dialect] = (
            insert_for(session)(t)
            .on_conflict_do_nothing(index_elements=["code"])
            .returning(
                t.c.code,
                sa.exists()
                .where(
                    parked.c.consumer == sa.bindparam("parked_consumer"),
                    parked.c.dossier_code == sa.bindparam("parked_code"),
                )
                .label("parked"),
            )
        )
    # one statement object, the values as parameters: compiled once, cached
    params = {**values, "parked_code": values["code"], "parked_consumer": consumer}
    found = (await session.execute(stmt, params)).first()
    if found is None:
        return False, False
    return True, bool(found.parked)


async def log_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Append rows (:func:`event_columns`) to the event log with one statement."""
    if rows:
        await session.execute(sa.insert(DossierEventRow.__table__), rows)  # type: ignore[attr-defined]


async def save_started(
    session: AsyncSession,
    code: str,
    outcome: Outcome,
    emit: Emitter,
    *,
    also_log: Sequence[dict[str, Any]] = (),
) -> list[EventEnvelope[Any]]:
    """The one writer of a started workflow (:func:`~motcua.routing.workflow.
    decide_start`): its new hand-off, its events and their event-log rows,
    once the dossier row is written (inserted by :func:`insert_new_dossier`,
    or updated). What :func:`apply_outcome` does, with Core inserts and no
    unit of work: nothing here is read back as ORM objects. ``also_log``: more
    event-log rows, written after the start's in the same statement."""
    if outcome.pause_started is not None or outcome.pause_ended is not None:
        msg = "a workflow starts without a pause"
        raise ValueError(msg)
    handoffs = [
        {"dossier_code": code, "seq": handoff.seq, **_handoff_columns(handoff)}
        for handoff in outcome.handoffs
    ]
    if handoffs:
        await session.execute(sa.insert(HandoffRow.__table__), handoffs)  # type: ignore[attr-defined]
    envelopes = []
    logged = []
    for item in outcome.events:
        envelope, payload = emit.with_payload(item, code)
        envelopes.append(envelope)
        logged.append(event_columns(envelope, payload.decode()))
    await log_events(session, [*logged, *also_log])
    return envelopes


async def apply_outcome(
    session: AsyncSession, row: RoutedDossier, outcome: Outcome, emit: Emitter
) -> list[EventEnvelope[Any]]:
    """Persist ``outcome`` and queue its events; returns the envelopes."""
    write_dossier(row, outcome.dossier)
    await _save_handoffs(session, row.code, outcome.handoffs)
    await _save_pauses(session, row.code, outcome)
    envelopes = []
    for item in outcome.events:
        envelope, body = emit.with_payload(item, row.code)
        record_event(session, envelope, body)
        envelopes.append(envelope)
    await session.flush()
    return envelopes


# -- inserts --------------------------------------------------------------------


def insert_for(session: AsyncSession) -> Callable[..., Any]:
    """The dialect's ``insert`` (with ``on_conflict_do_nothing``)."""
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
