"""Writing to the outbox, inside the caller's transaction.

Events are queued on the session and inserted with one multi-row statement
when the transaction (or savepoint) they were queued in commits: building an
ORM object and flushing it row by row cost more than the rest of a consumer's
work per event. A transaction or savepoint that rolls back drops what was
queued in it, so an event still leaves if and only if its transaction commits.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import sqlalchemy as sa
from opentelemetry import propagate
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from motcua.shared.contracts import headers as h
from motcua.shared.contracts.envelope import EventEnvelope
from motcua.shared.db import utcnow
from motcua.shared.domain.entitlement import CHAINED_EVENT_TYPES
from motcua.shared.messaging.tables import OutboxRecord
from motcua.shared.signing.producer import seal
from motcua.shared.signing.store import (
    ChainNotOpenError,
    chain_state,
    signer_of,
    update_chain,
)

_QUEUE = "motcua.outbox.queued"
"""``session.info`` key: the rows waiting for their transaction to commit."""

_TABLE: sa.Table = OutboxRecord.__table__  # type: ignore[attr-defined]


def envelope_headers(envelope: EventEnvelope[Any]) -> dict[str, str]:
    """The documented headers of a record, plus the current trace context."""
    headers = {
        h.EVENT_ID: str(envelope.event_id),
        h.EVENT_TYPE: envelope.event_type,
        h.SCHEMA_VERSION: str(envelope.schema_version),
        h.CORRELATION_ID: envelope.correlation_id,
        h.PRODUCER: envelope.producer,
        h.CONTENT_TYPE: "application/json",
    }
    propagate.inject(headers)  # traceparent (and tracestate) of the current span
    if h.TRACEPARENT not in headers:
        # Written outside any span (an import, a script): start a trace here so
        # every record still carries one and its consumers join it.
        headers[h.TRACEPARENT] = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"
    return headers


def add_event(
    session: AsyncSession | Session,
    envelope: EventEnvelope[Any],
    *,
    topic: str,
    extra_headers: dict[str, str] | None = None,
) -> bytes:
    """Queue an event for publication; it is published only if the transaction
    commits. The Kafka key is the dossier code. Returns the record body."""
    return add_sealed_event(
        session, envelope, topic=topic, extra_headers=extra_headers
    )[1]


def add_sealed_event(
    session: AsyncSession | Session,
    envelope: EventEnvelope[Any],
    *,
    topic: str,
    extra_headers: dict[str, str] | None = None,
) -> tuple[EventEnvelope[Any], bytes]:
    """:func:`add_event`, returning the envelope as queued and its body.

    An act of a dossier's legal history (ADR 0012) is linked to the dossier's
    chain, opened earlier in this unit of work, and signed with the key of the
    agency entitled to it; imported history leaves unsigned (legacy)."""
    envelope, payload = _sealed(session, envelope)
    headers = envelope_headers(envelope)
    if extra_headers:
        headers.update(extra_headers)
    _queue(
        session,
        event_id=envelope.event_id,
        topic=topic,
        key=envelope.dossier_code,
        payload=payload,
        headers=headers,
    )
    return envelope, payload


def _sealed(
    session: AsyncSession | Session, envelope: EventEnvelope[Any]
) -> tuple[EventEnvelope[Any], bytes]:
    if (
        envelope.event_type not in CHAINED_EVENT_TYPES
        or envelope.imported
        or envelope.signature is not None
    ):
        return envelope, envelope.to_json()
    keys = signer_of(session)
    if keys is None:
        msg = f"no signing keys on this session for {envelope.event_type}"
        raise ChainNotOpenError(msg)
    state = chain_state(session, envelope.dossier_code)
    sealed = seal(envelope, state, keys)
    update_chain(session, envelope.dossier_code, sealed.state)
    return sealed.envelope, sealed.body


def add_raw(
    session: AsyncSession | Session,
    *,
    topic: str,
    key: str | None,
    payload: bytes,
    headers: dict[str, str],
    record_id: uuid.UUID | None = None,
) -> None:
    """Queue bytes as they are (dead letters, operator re-publishing)."""
    _queue(
        session,
        event_id=record_id or uuid.uuid4(),
        topic=topic,
        key=key,
        payload=payload,
        headers=headers,
    )


def _queue(session: AsyncSession | Session, **row: Any) -> None:
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    if not sync.in_transaction():
        sync.begin()  # what the first statement would have done (autobegin)
    row.update(created_at=utcnow(), attempts=0)
    queued: list[tuple[SessionTransaction, dict[str, Any]]]
    queued = sync.info.setdefault(_QUEUE, [])
    queued.append((_innermost(sync), row))


def _innermost(session: Session) -> SessionTransaction:
    transaction = session.get_nested_transaction() or session.get_transaction()
    assert transaction is not None  # _queue began one
    return transaction


async def flush_outbox(session: AsyncSession) -> None:
    """Insert now what the innermost open transaction or savepoint queued, so
    that a row the database refuses fails here, where the caller knows which
    work queued it (rows of enclosing transactions keep waiting)."""
    await session.run_sync(_insert_innermost)


def _insert_innermost(session: Session) -> None:
    queued: list[tuple[SessionTransaction, dict[str, Any]]] | None
    queued = session.info.get(_QUEUE)
    if not queued:
        return
    current = _innermost(session)
    rows = [r for o, r in queued if o is current]
    if rows:
        session.info[_QUEUE] = [(o, r) for o, r in queued if o is not current]
        session.execute(sa.insert(_TABLE), rows)


@event.listens_for(Session, "before_commit")
def _insert_queued(session: Session) -> None:
    """A released savepoint hands its rows to its parent; the outermost
    transaction inserts them all, in the order they were queued.

    Savepoints must be closed before their transaction commits, which
    ``async with session.begin_nested()`` guarantees.
    """
    queued: list[tuple[SessionTransaction, dict[str, Any]]] | None
    queued = session.info.get(_QUEUE)
    if not queued:
        return
    committing = _innermost(session)
    parent = committing.parent
    if parent is not None:
        session.info[_QUEUE] = [
            (parent if o is committing else o, r) for o, r in queued
        ]
        return
    session.info[_QUEUE] = []
    session.execute(sa.insert(_TABLE), [r for _, r in queued])


@event.listens_for(Session, "after_transaction_end")
def _drop_unsent(session: Session, transaction: SessionTransaction) -> None:
    """Rows still queued when their transaction or savepoint ends were rolled
    back (or abandoned with the session): they never existed."""
    queued = session.info.get(_QUEUE)
    if queued:
        session.info[_QUEUE] = [(o, r) for o, r in queued if o is not transaction]
