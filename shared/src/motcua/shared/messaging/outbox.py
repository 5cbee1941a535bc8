"""Writing to the outbox, inside the caller's transaction."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from opentelemetry import propagate
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.shared.contracts import headers as h
from motcua.shared.contracts.envelope import EventEnvelope
from motcua.shared.messaging.tables import OutboxRecord


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
    session: AsyncSession,
    envelope: EventEnvelope[Any],
    *,
    topic: str,
    extra_headers: dict[str, str] | None = None,
) -> OutboxRecord:
    """Queue an event for publication; it is published only if the transaction
    commits. The Kafka key is the dossier code."""
    headers = envelope_headers(envelope)
    if extra_headers:
        headers.update(extra_headers)
    record = OutboxRecord(
        event_id=envelope.event_id,
        topic=topic,
        key=envelope.dossier_code,
        payload=envelope.to_json(),
        headers=headers,
    )
    session.add(record)
    return record


def add_raw(
    session: AsyncSession,
    *,
    topic: str,
    key: str | None,
    payload: bytes,
    headers: dict[str, str],
    record_id: uuid.UUID | None = None,
) -> OutboxRecord:
    """Queue bytes as they are (dead letters, operator re-publishing)."""
    record = OutboxRecord(
        event_id=record_id or uuid.uuid4(),
        topic=topic,
        key=key,
        payload=payload,
        headers=headers,
    )
    session.add(record)
    return record
