"""The idempotent consumer: applies each event once, commits offsets after.

A batch of records is applied in one database transaction, each record in its
own savepoint together with its inbox row (the dedup key). A record that keeps
failing is written to the consumer's dead-letter topic through the outbox, in
the same transaction, so it can neither be lost nor block its partition. Offsets
are committed only after the transaction commits; if the database or the broker
is unavailable the whole batch is rewound and tried again.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import structlog
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Tracer
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from motcua.shared.contracts import headers as h
from motcua.shared.contracts.envelope import (
    EventData,
    EventEnvelope,
    EventParseError,
    new_event,
    now_vn,
    parse_envelope,
)
from motcua.shared.contracts.topics import dead_letter_topic
from motcua.shared.db import utcnow
from motcua.shared.logging import safe_error_text
from motcua.shared.messaging.outbox import add_raw, add_sealed_event, flush_outbox
from motcua.shared.messaging.refusal import EventRefused
from motcua.shared.messaging.tables import InboxRecord
from motcua.shared.metrics import ServiceMetrics
from motcua.shared.signing.guard import ChainGuard, Checked
from motcua.shared.signing.store import flush_chains

log = structlog.get_logger(__name__)

# Errors that say "the infrastructure is unavailable", not "this record is bad":
# the batch is rewound and retried instead of dead-lettering a good record.
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.DisconnectionError,
    sa.exc.TimeoutError,
    ConnectionError,
    TimeoutError,
    OSError,
)


@dataclass(frozen=True)
class ConsumedRecord:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    headers: dict[str, str]
    timestamp_ms: int = 0

    @property
    def message_id(self) -> str:
        """The dedup key: the event id, or the record's position if it has none."""
        return (
            self.headers.get(h.EVENT_ID)
            or f"{self.topic}:{self.partition}:{self.offset}"
        )

    @classmethod
    def from_kafka(cls, record: Any) -> ConsumedRecord:
        return cls(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key.decode(errors="replace") if record.key else None,
            value=record.value or b"",
            headers={k: v.decode(errors="replace") for k, v in record.headers or ()},
            timestamp_ms=record.timestamp or 0,
        )


@dataclass
class HandlerContext:
    """What a handler may touch: the transaction, the record, and ``emit``."""

    session: AsyncSession
    record: ConsumedRecord
    producer: str
    emitted: list[EventEnvelope[Any]] = field(default_factory=list)
    checked: Checked | None = None
    """What the chain guard verified (signature, link, signer) for a chained
    event; None for events outside the chain."""

    def emit(
        self,
        data: EventData,
        *,
        cause: EventEnvelope[Any],
        topic: str | None = None,
        dossier_code: str | None = None,
        agency_code: str | None = None,
        occurred_at: datetime | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> EventEnvelope[Any]:
        """Queue a follow-up event in this record's transaction (outbox)."""
        envelope, _payload = self.emit_with_payload(
            data,
            cause=cause,
            topic=topic,
            dossier_code=dossier_code,
            agency_code=agency_code,
            occurred_at=occurred_at,
            extra_headers=extra_headers,
        )
        return envelope

    def emit_with_payload(
        self,
        data: EventData,
        *,
        cause: EventEnvelope[Any],
        topic: str | None = None,
        dossier_code: str | None = None,
        agency_code: str | None = None,
        occurred_at: datetime | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> tuple[EventEnvelope[Any], bytes]:
        """:meth:`emit`, also returning the record body queued (for a handler
        that keeps it, e.g. an event log, without serialising it again)."""
        envelope = new_event(
            data,
            dossier_code=dossier_code or cause.dossier_code,
            producer=self.producer,
            agency_code=agency_code,
            causation=cause,
            occurred_at=occurred_at,
        )
        envelope, payload = add_sealed_event(
            self.session,
            envelope,
            topic=topic or data.TOPIC,
            extra_headers=extra_headers,
        )
        self.emitted.append(envelope)
        return envelope, payload


EventHandler = Callable[[HandlerContext, EventEnvelope[EventData]], Awaitable[None]]


def _parse(record: ConsumedRecord) -> tuple[EventEnvelope[EventData], dict[str, Any]]:
    """The typed envelope and the decoded body (the chain guard reads the
    latter: it checks the bytes as signed, not the model)."""
    try:
        obj = json.loads(record.value)
    except ValueError as exc:
        msg = f"not a motcua event envelope: {exc}"
        raise EventParseError(msg) from exc
    envelope = parse_envelope(obj)
    return envelope, obj


class _Skip(Exception):  # noqa: N818
    """Raised inside a savepoint to undo the inbox row of a skipped record."""


class _NeedsCareful(Exception):  # noqa: N818
    """The optimistic pass met a bad record: redo the batch record by record."""


class EventConsumer:
    """One consumer group applying one handler to records of some topics."""

    def __init__(
        self,
        *,
        group_id: str,
        topics: Sequence[str],
        handler: EventHandler,
        sessions: async_sessionmaker[AsyncSession],
        producer: str,
        tracer: Tracer | None = None,
        metrics: ServiceMetrics | None = None,
        max_attempts: int = 3,
        retry_backoff_s: float = 0.05,
        on_committed: Callable[[], None] | None = None,
        event_types: Iterable[str] | None = None,
        guard: ChainGuard | None = None,
    ) -> None:
        self.group_id = group_id
        self.event_types = frozenset(event_types) if event_types is not None else None
        self.topics = tuple(topics)
        self.dead_letter_topic = dead_letter_topic(group_id)
        self._handler = handler
        self._sessions = sessions
        self._producer = producer
        self._tracer = tracer or trace.get_tracer(__name__)
        self._metrics = metrics
        self._max_attempts = max_attempts
        self._retry_backoff_s = retry_backoff_s
        self._on_committed = on_committed
        self._failures = 0
        self._guard = guard

    # -- transport adapter -------------------------------------------------

    async def on_kafka_batch(self, message: Any) -> None:
        """FastStream batch handler (manual ack): apply, commit, then ack."""
        records = [ConsumedRecord.from_kafka(r) for r in message.raw_message]
        if not records:
            return
        try:
            await self.apply_batch(records)
        except Exception:  # rewind: the batch comes again after a pause
            self._failures += 1
            if self._metrics is not None:
                self._metrics.batch_failures.labels(self.group_id).inc()
            log.exception(
                "consumer_batch_failed", consumer=self.group_id, records=len(records)
            )
            await message.nack()
            await asyncio.sleep(min(0.2 * 2**self._failures, 10.0))
            return
        self._failures = 0
        await message.ack()

    # -- the core, transport-free (tests call it directly) ------------------

    async def apply_batch(self, records: Sequence[ConsumedRecord]) -> None:
        """Apply a batch in one transaction.

        First optimistically: one inbox insert for the whole batch, handlers
        run straight through. If any record is malformed or its handler fails,
        that transaction is rolled back and the batch is applied again record
        by record, each in a savepoint with retries and dead-lettering.
        """
        started = time.perf_counter()
        wanted = []
        for record in records:
            if self._wants(record):
                wanted.append(record)
            else:
                self._count(record.headers.get(h.EVENT_TYPE, "?"), "ignored")
        if not wanted:
            return
        try:
            dirty = await self._apply_optimistically(wanted)
        except _NeedsCareful:
            dirty = await self._apply_carefully(wanted)
        if self._metrics is not None:
            self._metrics.batch_seconds.labels(self.group_id).observe(
                time.perf_counter() - started
            )
        if dirty and self._on_committed is not None:
            self._on_committed()

    def _wants(self, record: ConsumedRecord) -> bool:
        """Records of types the handler ignores are acknowledged without work
        (a record without a type header is parsed: it may be poison)."""
        if self.event_types is None:
            return True
        event_type = record.headers.get(h.EVENT_TYPE)
        return (
            event_type is None
            or event_type in self.event_types
            or (self._guard is not None and self._guard.wants(event_type))
        )

    async def _verify_and_handle(
        self,
        ctx: HandlerContext,
        envelope: EventEnvelope[EventData],
        obj: dict[str, Any],
    ) -> None:
        """The chain guard first (every chained event, whoever handles it), then
        the handler if it wants this type."""
        if self._guard is not None:
            ctx.checked = await self._guard.check(
                ctx.session, obj, ctx.record.headers.get(h.EVENT_ID)
            )
        if self.event_types is None or envelope.event_type in self.event_types:
            await self._handler(ctx, envelope)

    async def _apply_optimistically(self, records: Sequence[ConsumedRecord]) -> bool:
        dirty = False
        async with self._sessions() as session, session.begin():
            fresh = await self._claim_inbox_batch(session, records)
            for record in records:
                event_type = record.headers.get(h.EVENT_TYPE, "?")
                if record.message_id not in fresh:
                    self._count(event_type, "duplicate")
                    continue
                fresh.discard(
                    record.message_id
                )  # a repeat later in the batch is a duplicate
                with self._record_scope(record, event_type):
                    try:
                        envelope, obj = _parse(record)
                        ctx = HandlerContext(
                            session=session, record=record, producer=self._producer
                        )
                        await self._verify_and_handle(ctx, envelope, obj)
                    except INFRASTRUCTURE_ERRORS:
                        raise
                    except Exception as exc:
                        raise _NeedsCareful from exc
                dirty |= bool(ctx.emitted)
                self._count(event_type, "applied")
            try:
                await flush_outbox(session)
                await flush_chains(session)
                await session.flush()
            except INFRASTRUCTURE_ERRORS:
                raise
            except Exception as exc:  # a row the database refuses (a constraint)
                raise _NeedsCareful from exc
        return dirty

    async def _claim_inbox_batch(
        self, session: AsyncSession, records: Sequence[ConsumedRecord]
    ) -> set[str]:
        """Insert the inbox rows of a batch at once; returns the ids that were new
        (or are operator replays of records dead-lettered here)."""
        ids = list(dict.fromkeys(r.message_id for r in records))
        now = utcnow()
        t = InboxRecord.__table__  # type: ignore[attr-defined]
        dialect = (
            postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        )
        stmt = (
            dialect.insert(t)
            .on_conflict_do_nothing(index_elements=["consumer", "message_id"])
            .returning(t.c.message_id)
        )
        # executemany, not one VALUES list: the statement compiles once, not
        # once per batch size (SQLAlchemy still sends multi-row INSERTs).
        rows = [
            {
                "consumer": self.group_id,
                "message_id": i,
                "status": "processed",
                "processed_at": now,
            }
            for i in ids
        ]
        fresh = set((await session.execute(stmt, rows)).scalars())
        for record in records:
            if (
                record.message_id not in fresh
                and h.REPLAY_OF in record.headers
                and await self._revive_dead_letter(session, record)
            ):
                fresh.add(record.message_id)
        return fresh

    async def _apply_carefully(self, records: Sequence[ConsumedRecord]) -> bool:
        async with self._sessions() as session, session.begin():
            dirty = False
            for record in records:
                dirty |= await self._apply_record(session, record)
        return dirty

    @contextmanager
    def _record_scope(self, record: ConsumedRecord, event_type: str) -> Iterator[None]:
        """A consumer span joined to the producer's trace, and log context."""
        with (
            self._tracer.start_as_current_span(
                f"{record.topic} process",
                context=propagate.extract(record.headers),
                kind=SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": record.topic,
                    "messaging.consumer.group.name": self.group_id,
                    "messaging.kafka.offset": record.offset,
                    "messaging.destination.partition.id": str(record.partition),
                    "messaging.message.id": record.message_id,
                    "motcua.event_type": event_type,
                },
            ),
            structlog.contextvars.bound_contextvars(
                event_id=record.message_id,
                event_type=event_type,
                correlation_id=record.headers.get(h.CORRELATION_ID),
                dossier_code=record.key,
            ),
        ):
            yield

    async def _apply_record(
        self, session: AsyncSession, record: ConsumedRecord
    ) -> bool:
        """Apply one record in savepoints; returns True if it queued outbox rows."""
        event_type = record.headers.get(h.EVENT_TYPE, "?")
        with self._record_scope(record, event_type):
            try:
                envelope, obj = _parse(record)
            except EventParseError as exc:
                if await self._seen(session, record):
                    self._count(event_type, "duplicate")
                    return False
                await self._dead_letter(
                    session, record, exc, attempts=1, reason="malformed"
                )
                self._count(event_type, "dead_lettered")
                return True
            outcome, dirty = await self._apply_with_retries(
                session, record, envelope, obj
            )
            self._count(event_type, outcome)
            return dirty

    async def _apply_with_retries(
        self,
        session: AsyncSession,
        record: ConsumedRecord,
        envelope: EventEnvelope[EventData],
        obj: dict[str, Any],
    ) -> tuple[str, bool]:
        for attempt in range(1, self._max_attempts + 1):
            ctx = HandlerContext(
                session=session, record=record, producer=self._producer
            )
            try:
                async with session.begin_nested():
                    if not await self._claim_inbox(session, record):
                        raise _Skip
                    await self._verify_and_handle(ctx, envelope, obj)
                    await flush_outbox(session)
                    await flush_chains(session)
                    await session.flush()
            except _Skip:
                return "duplicate", False
            except EventRefused as refusal:  # retrying cannot make it valid
                await self._dead_letter(
                    session, record, refusal, attempts=attempt, reason=refusal.reason
                )
                return "refused", True
            except INFRASTRUCTURE_ERRORS:
                raise
            except Exception as exc:
                if attempt >= self._max_attempts:
                    await self._dead_letter(
                        session,
                        record,
                        exc,
                        attempts=attempt,
                        reason="handler_failed",
                    )
                    return "dead_lettered", True
                log.warning(
                    "event_apply_retrying",
                    attempt=attempt,
                    error=safe_error_text(exc),
                )
                await asyncio.sleep(self._retry_backoff_s * attempt)
                continue
            return "applied", bool(ctx.emitted)
        raise AssertionError("unreachable")  # the loop always returns

    async def _claim_inbox(self, session: AsyncSession, record: ConsumedRecord) -> bool:
        """Insert the inbox row; False if this consumer already applied the record.

        A record re-published by an operator after being dead-lettered here is
        applied again (its inbox row says ``dead_lettered``).
        """
        values = {
            "consumer": self.group_id,
            "message_id": record.message_id,
            "status": "processed",
            "processed_at": utcnow(),
        }
        insert = (
            postgresql.insert
            if session.get_bind().dialect.name == "postgresql"
            else sqlite.insert
        )
        stmt = (
            insert(InboxRecord)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["consumer", "message_id"])
        )
        result = await session.execute(stmt)
        if result.rowcount:  # type: ignore[attr-defined]
            return True
        if h.REPLAY_OF not in record.headers:
            return False
        return await self._revive_dead_letter(session, record)

    async def _revive_dead_letter(
        self, session: AsyncSession, record: ConsumedRecord
    ) -> bool:
        """An operator re-published a record this consumer dead-lettered: apply it."""
        t = InboxRecord.__table__  # type: ignore[attr-defined]
        revived = await session.execute(
            sa.update(t)
            .where(
                t.c.consumer == self.group_id,
                t.c.message_id == record.message_id,
                t.c.status == "dead_lettered",
            )
            .values(status="processed", processed_at=utcnow())
        )
        return bool(revived.rowcount)  # type: ignore[attr-defined]

    async def _dead_letter(
        self,
        session: AsyncSession,
        record: ConsumedRecord,
        error: BaseException,
        *,
        attempts: int,
        reason: str,
    ) -> None:
        """Write the record to the dead-letter topic (via the outbox) and mark it
        in the inbox, in one savepoint of the batch transaction."""
        refused = isinstance(error, EventRefused)
        error_text = (
            error.detail if isinstance(error, EventRefused) else safe_error_text(error)
        )
        log.error(
            "event_refused" if refused else "event_dead_lettered",
            consumer=self.group_id,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=reason,
            error=error_text,
            attempts=attempts,
        )
        if self._metrics is not None:
            self._metrics.dead_lettered.labels(self.group_id, reason).inc()
        headers = {
            **record.headers,
            h.DLT_CONSUMER: self.group_id,
            h.DLT_ORIGINAL_TOPIC: record.topic,
            h.DLT_ORIGINAL_PARTITION: str(record.partition),
            h.DLT_ORIGINAL_OFFSET: str(record.offset),
            h.DLT_ORIGINAL_KEY: record.key or "",
            h.DLT_ERROR: error_text[:4000],
            h.DLT_ERROR_TYPE: type(error).__name__,
            h.DLT_REASON: reason,
            h.DLT_ATTEMPTS: str(attempts),
            h.DLT_FAILED_AT: now_vn().isoformat(),
        }
        headers.pop(h.REPLAY_OF, None)
        async with session.begin_nested():
            t = InboxRecord.__table__  # type: ignore[attr-defined]
            await session.execute(
                sa.delete(t).where(
                    t.c.consumer == self.group_id, t.c.message_id == record.message_id
                )
            )
            session.add(
                InboxRecord(
                    consumer=self.group_id,
                    message_id=record.message_id,
                    status="dead_lettered",
                )
            )
            add_raw(
                session,
                topic=self.dead_letter_topic,
                key=record.key,
                payload=record.value,
                headers=headers,
            )

    async def _seen(self, session: AsyncSession, record: ConsumedRecord) -> bool:
        if h.REPLAY_OF in record.headers:
            return False
        t = InboxRecord.__table__  # type: ignore[attr-defined]
        found = await session.scalar(
            sa.select(t.c.status).where(
                t.c.consumer == self.group_id, t.c.message_id == record.message_id
            )
        )
        return found is not None

    def _count(self, event_type: str, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.consumed.labels(self.group_id, event_type, outcome).inc()
