"""Emitting ``notification.*`` events for a notice, through the outbox.

Only a notice's outcomes and the postal order's life are published (ADR
0017): what routing and reporting read. Being recorded, claimed for sending or
retried later changes the notice's row only. Each event is keyed by the
dossier code, caused by the dossier event that asked for the notice, and
carries that event's trace context, so the dossier's timeline shows the whole
story in one trace. Events carry the channel and the provider's references,
never a phone, email or address.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from opentelemetry import context, propagate
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.shared.contracts import EventData, new_event
from motcua.shared.contracts import headers as h
from motcua.shared.contracts.common import NotificationChannel
from motcua.shared.contracts.notification import (
    NotificationDeadLetteredV1,
    NotificationDeliveredV1,
    NotificationPermanentFailureV1,
    NotificationSkippedV1,
    PostalOrderCreatedV1,
    PostalStatusChangedV1,
    _NotificationState,
)
from motcua.shared.messaging import add_event

PRODUCER = "notification"

PUBLISHED: tuple[type[EventData], ...] = (
    NotificationDeliveredV1,
    NotificationPermanentFailureV1,
    NotificationSkippedV1,
    NotificationDeadLetteredV1,
    PostalOrderCreatedV1,
    PostalStatusChangedV1,
)
"""Every event type this service publishes (``notification.created``,
``sending`` and ``temporary_failure`` are no longer among them: ADR 0017)."""


E = TypeVar("E", bound=_NotificationState)


@contextmanager
def trace_of(traceparent: str | None) -> Iterator[None]:
    """Continue the trace of the dossier event that caused a notice."""
    if not traceparent:
        yield
        return
    token = context.attach(propagate.extract({h.TRACEPARENT: traceparent}))
    try:
        yield
    finally:
        context.detach(token)


class NoticeFacts(Protocol):
    """What a notice's events carry: its row (:class:`Notice`), or the columns
    a hot path read of it."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def dossier_code(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def template(self) -> str: ...
    @property
    def trigger_event_id(self) -> uuid.UUID: ...
    @property
    def trigger_event_type(self) -> str: ...
    @property
    def attempt(self) -> int: ...
    @property
    def provider(self) -> str | None: ...
    @property
    def provider_reference(self) -> str | None: ...
    @property
    def correlation_id(self) -> str: ...
    @property
    def traceparent(self) -> str | None: ...


def emit(
    session: AsyncSession, notice: NoticeFacts, event_type: type[E], **fields: Any
) -> None:
    """Queue one state event of ``notice`` in the caller's transaction."""
    assert event_type in PUBLISHED, f"{event_type.EVENT_TYPE} is not published"
    data = event_type(
        notification_id=notice.id,
        channel=NotificationChannel(notice.channel),
        template=notice.template,
        trigger_event_id=notice.trigger_event_id,
        trigger_event_type=notice.trigger_event_type,
        attempt=notice.attempt,
        provider=notice.provider,
        provider_reference=notice.provider_reference,
        **fields,
    )
    envelope = new_event(
        data,
        dossier_code=notice.dossier_code,
        producer=PRODUCER,
        correlation_id=notice.correlation_id or None,
        causation_id=notice.trigger_event_id,
    )
    with trace_of(notice.traceparent):
        add_event(session, envelope, topic=data.TOPIC)
