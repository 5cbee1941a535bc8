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
import functools
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Tracer
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from motcua.shared.contracts import headers as h
from motcua.shared.contracts.envelope import (
    EventData,
    EventEnvelope,
    new_event,
    now_vn,
)
from motcua.shared.contracts.topics import MAX_EVENT_BYTES, dead_letter_topic
from motcua.shared.db import insert_ignoring_duplicates, utcnow
from motcua.shared.logging import safe_error_text
from motcua.shared.messaging.admission import Admission, Admitted, Check
from motcua.shared.messaging.continuity import OffsetContinuity, contiguous
from motcua.shared.messaging.outbox import add_raw, add_sealed_event, flush_outbox
from motcua.shared.messaging.refusal import EventRefused
from motcua.shared.messaging.tables import InboxRecord, ParkedRecord
from motcua.shared.metrics import ServiceMetrics
from motcua.shared.signing.guard import ChainGuard, Checked
from motcua.shared.signing.store import flush_chains, prefetch_chains
from motcua.shared.telemetry import ContextTracer

log = structlog.get_logger(__name__)

PARKED: sa.Table = ParkedRecord.__table__  # type: ignore[attr-defined]

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
    """What a handler may touch: the transaction, the record, ``emit``, and
    the consumer's parking lot (:meth:`park`, :meth:`take_parked`)."""

    session: AsyncSession
    record: ConsumedRecord
    producer: str
    consumer: str = ""
    """The consumer group (whose parking lot this is)."""
    admission: Admission | None = None
    refuse_record: Callable[[ConsumedRecord, EventRefused], Awaitable[None]] | None = (
        None
    )
    emitted: list[EventEnvelope[Any]] = field(default_factory=list)
    checked: Checked | None = None
    """What the chain guard verified (signature, link, signer) for a chained
    event; None for events outside the chain."""

    async def refuse_parked(
        self, record: ConsumedRecord, refusal: EventRefused
    ) -> None:
        """Dead-letter a record taken from the parking lot that must not be
        applied, without failing the record being handled (the reception that
        brought it back)."""
        assert self.refuse_record is not None
        await self.refuse_record(record, refusal)

    async def park(self, dossier_code: str) -> bool:
        """Set this record aside until :meth:`take_parked` for its dossier (it
        came before what it is about); False if it was parked already. Not
        taken back within the consumer's ``parked_ttl``, it is dead-lettered
        (``parked_expired``)."""
        r = self.record
        return await insert_ignoring_duplicates(
            self.session,
            PARKED,
            {
                "consumer": self.consumer,
                "message_id": r.message_id,
                "dossier_code": dossier_code,
                "topic": r.topic,
                "partition": r.partition,
                "offset": r.offset,
                "key": r.key,
                "value": r.value,
                "headers": r.headers,
                "timestamp_ms": r.timestamp_ms,
                "parked_at": utcnow(),
            },
        )

    async def take_parked(
        self, dossier_code: str
    ) -> list[tuple[ConsumedRecord, EventEnvelope[EventData]]]:
        """The records parked for a dossier, oldest first, with their events;
        they leave the lot (in this transaction)."""
        assert self.admission is not None
        with self.session.no_autoflush:
            rows = (
                await self.session.execute(
                    sa.select(PARKED)
                    .where(
                        PARKED.c.consumer == self.consumer,
                        PARKED.c.dossier_code == dossier_code,
                    )
                    .order_by(PARKED.c.id)
                )
            ).all()
        if not rows:
            return []
        await self.session.execute(
            sa.delete(PARKED).where(PARKED.c.id.in_([row.id for row in rows]))
        )
        taken = []
        for row in rows:
            record = _parked_record(row)
            admitted = self.admission.admit(record)  # admitted once already
            if admitted is not None and admitted.handled:
                taken.append((record, admitted.envelope))
        return taken

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

BatchPreparer = Callable[
    [AsyncSession, Sequence[EventEnvelope[EventData]]], Awaitable[None]
]
"""``prepare(session, events)``: called once per batch applied in one pass,
in its transaction, with the events the handler is about to be called with
(admitted, new to the inbox, of types it handles), in order, before the
first call; e.g. to read at once the rows those calls would each read. It
must only read or prime what the calls would find anyway: a batch applied
record by record (after a bad record) calls the handler without it, and
the handler must then give the same result."""


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
        handles: Iterable[type[EventData]] | None = None,
        checks: Sequence[Check] = (),
        guard: ChainGuard | None = None,
        prepare: BatchPreparer | None = None,
    ) -> None:
        self.group_id = group_id
        self.admission = Admission(
            handles,
            checks=list(checks),
            reads=guard.wants if guard is not None else None,
        )
        """Every record passes it before the handler sees it (``handles``: the
        payload classes the handler acts on, ``None``: every registered one;
        the chained acts the guard verifies are read whoever handles them)."""
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
        self._prepare: BatchPreparer | None = prepare or getattr(
            handler, "prepare", None
        )
        """``prepare``, else the handler's own ``prepare`` method if it has one."""
        self._counters: dict[tuple[str | None, str], Any] = {}
        self.continuity = OffsetContinuity()
        """The next offset of each partition: a hole is read again."""

    def _context(self, session: AsyncSession, record: ConsumedRecord) -> HandlerContext:
        async def refuse(parked: ConsumedRecord, refusal: EventRefused) -> None:
            with self._record_scope(parked, parked.headers.get(h.EVENT_TYPE)):
                await self._dead_letter(
                    session, parked, refusal, attempts=1, reason=refusal.reason
                )
            self._count(parked.headers.get(h.EVENT_TYPE), "refused")

        return HandlerContext(
            session=session,
            record=record,
            producer=self._producer,
            consumer=self.group_id,
            admission=self.admission,
            refuse_record=refuse,
        )

    # -- the parking lot ----------------------------------------------------

    async def expire_parked(self, older_than: timedelta, *, limit: int = 500) -> int:
        """Dead-letter the records parked longer than ``older_than`` (reason
        ``parked_expired``); returns how many."""
        cutoff = utcnow() - older_than
        async with self._sessions() as session, session.begin():
            rows = (
                await session.execute(
                    sa.select(PARKED)
                    .where(
                        PARKED.c.consumer == self.group_id,
                        PARKED.c.parked_at < cutoff,
                    )
                    .order_by(PARKED.c.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in rows:
                record = _parked_record(row)
                with self._record_scope(record, record.headers.get(h.EVENT_TYPE)):
                    refusal = EventRefused(
                        "parked_expired",
                        f"parked {row.parked_at:%Y-%m-%d %H:%M:%S} UTC for dossier "
                        f"{row.dossier_code[:64]}, which never arrived",
                    )
                    await self._dead_letter(
                        session, record, refusal, attempts=1, reason=refusal.reason
                    )
            if rows:
                await session.execute(
                    sa.delete(PARKED).where(PARKED.c.id.in_([r.id for r in rows]))
                )
        if rows and self._on_committed is not None:
            self._on_committed()
        return len(rows)

    # -- transport adapter -------------------------------------------------

    async def on_kafka_batch(self, message: Any) -> None:
        """FastStream batch handler (manual ack): apply, commit, then ack."""
        kept, pause = await self._contiguous(message)
        records = []
        for raws in kept.values():
            for raw in raws:
                # a type nobody here reads is acknowledged without decoding the
                # rest of the record (its other headers, its key)
                event_type = _event_type_header(raw)
                if self.admission.wants(event_type):
                    records.append(ConsumedRecord.from_kafka(raw))
                else:
                    self._unhandled(event_type)
        if records:
            try:
                await self.apply_batch(records)
            except Exception:  # rewind: the batch comes again after a pause
                self._failures += 1
                if self._metrics is not None:
                    self._metrics.batch_failures.labels(self.group_id).inc()
                log.exception(
                    "consumer_batch_failed",
                    consumer=self.group_id,
                    records=len(records),
                )
                await message.nack()
                await asyncio.sleep(min(0.2 * 2**self._failures, 10.0))
                return
            self._failures = 0
        if message.raw_message:
            await message.ack()
        for tp, raws in kept.items():
            self.continuity.advance(tp, raws)
        if pause:
            await asyncio.sleep(pause)

    async def _contiguous(self, message: Any) -> tuple[dict[Any, Sequence[Any]], float]:
        """The batch per partition, cut at any offset hole (``continuity``)."""
        by_partition: dict[Any, list[Any]] = {}
        for raw in message.raw_message:
            by_partition.setdefault(
                TopicPartition(raw.topic, raw.partition), []
            ).append(raw)
        consumer = getattr(message, "consumer", None)
        if not isinstance(consumer, AIOKafkaConsumer):  # the in-memory test broker
            return dict(by_partition), 0.0
        return await contiguous(
            consumer,
            self.continuity,
            by_partition,
            grouped=True,
            reader=self.group_id,
            count=self._count_gap,
        )

    def _count_gap(self, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.offset_gaps.labels(self.group_id, outcome).inc()

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
            if self.admission.wants(record.headers.get(h.EVENT_TYPE)):
                wanted.append(record)
            else:
                self._unhandled(record.headers.get(h.EVENT_TYPE))
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

    async def _verify_and_handle(
        self,
        ctx: HandlerContext,
        admitted: Admitted,
        *,
        keep_link: bool = False,
        last: bool = False,
    ) -> Exception | None:
        """The chain guard first (every chained event, whoever handles it), then
        the handler if it acts on this type.

        ``keep_link`` (record by record, in a savepoint): a handler's refusal
        of an event the guard linked, or its failure at the ``last`` attempt,
        is returned, not raised. The link is written first and stays: the
        event is authentic and in order, this service only did not apply it,
        and the dossier's later acts must still link (else one dead letter
        would take all of them with it, chain_broken). An operator's replay
        of the record is then checked by its signature (see the guard)."""
        record = ctx.record
        if self._guard is not None:
            ctx.checked = await self._guard.check(
                ctx.session,
                admitted.obj,
                record.headers.get(h.EVENT_ID),
                replay=h.REPLAY_OF in record.headers,
            )
        if not admitted.handled:
            return None
        if ctx.checked is None or not keep_link:
            await self._handler(ctx, admitted.envelope)
            return None
        await flush_chains(ctx.session)
        try:
            async with ctx.session.begin_nested():
                await self._handler(ctx, admitted.envelope)
                await flush_outbox(ctx.session)
                await flush_chains(ctx.session)
                await ctx.session.flush()
        except INFRASTRUCTURE_ERRORS:
            raise
        except EventRefused as refusal:
            ctx.emitted.clear()
            return refusal
        except Exception as exc:
            if not last:
                raise
            ctx.emitted.clear()
            return exc
        return None

    async def _apply_optimistically(self, records: Sequence[ConsumedRecord]) -> bool:
        dirty = False
        async with self._sessions() as session, session.begin():
            fresh = await self._claim_inbox_batch(session, records)
            if self._guard is not None:  # the chains the guard will open
                await prefetch_chains(
                    session,
                    (
                        r.key
                        for r in records
                        if r.key and self._guard.wants(r.headers.get(h.EVENT_TYPE))
                    ),
                )
            # admitted up front, so the handler may see its batch (prepare);
            # a record refused here sends the batch record by record anyway
            admitted_records: list[tuple[ConsumedRecord, Admitted]] = []
            for record in records:
                event_type = record.headers.get(h.EVENT_TYPE)
                if record.message_id not in fresh:
                    self._count(event_type, "duplicate")
                    continue
                fresh.discard(
                    record.message_id
                )  # a repeat later in the batch is a duplicate
                try:
                    admitted = self.admission.admit(record)
                except INFRASTRUCTURE_ERRORS:
                    raise
                except Exception as exc:
                    raise _NeedsCareful from exc
                if admitted is None:
                    self._unhandled(event_type)
                    continue
                admitted_records.append((record, admitted))
            if self._prepare is not None:
                handled = [a.envelope for _, a in admitted_records if a.handled]
                if handled:
                    try:
                        await self._prepare(session, handled)
                    except INFRASTRUCTURE_ERRORS:
                        raise
                    except Exception as exc:
                        raise _NeedsCareful from exc
            for record, admitted in admitted_records:
                event_type = admitted.envelope.event_type
                with self._record_scope(record, event_type):
                    ctx = self._context(session, record)
                    try:
                        await self._verify_and_handle(ctx, admitted)
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
        stmt = _claim_inbox_rows(session.get_bind().dialect.name)
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
    def _record_scope(
        self, record: ConsumedRecord, event_type: str | None
    ) -> Iterator[None]:
        """A consumer span joined to the producer's trace, and log context."""
        label = self.admission.type_label(event_type)
        attributes: dict[str, Any] | None = (
            None  # nobody records them (no exporter): not worth building
            if isinstance(self._tracer, ContextTracer)
            else {
                "messaging.system": "kafka",
                "messaging.destination.name": record.topic,
                "messaging.consumer.group.name": self.group_id,
                "messaging.kafka.offset": record.offset,
                "messaging.destination.partition.id": str(record.partition),
                "messaging.message.id": record.message_id,
                "motcua.event_type": label,
            }
        )
        with self._tracer.start_as_current_span(
            f"{record.topic} process",
            context=propagate.extract(record.headers),
            kind=SpanKind.CONSUMER,
            attributes=attributes,
        ):
            # bind and reset by token: structlog's bound_contextvars copies
            # the whole context to save what it overwrites, per record
            tokens = structlog.contextvars.bind_contextvars(
                event_id=record.message_id[:64],
                event_type=label,
                correlation_id=record.headers.get(h.CORRELATION_ID),
                dossier_code=(record.key or "")[:64] or None,
            )
            try:
                yield
            finally:
                structlog.contextvars.reset_contextvars(**tokens)

    async def _apply_record(
        self, session: AsyncSession, record: ConsumedRecord
    ) -> bool:
        """Apply one record in savepoints; returns True if it queued outbox rows."""
        event_type = record.headers.get(h.EVENT_TYPE)
        with self._record_scope(record, event_type):
            try:
                admitted = self.admission.admit(record)
            except EventRefused as refusal:
                if await self._seen(session, record):
                    self._count(event_type, "duplicate")
                    return False
                await self._dead_letter(
                    session, record, refusal, attempts=1, reason=refusal.reason
                )
                self._count(event_type, "refused")
                return True
            if admitted is None:
                self._unhandled(event_type)
                return False
            outcome, dirty = await self._apply_with_retries(session, record, admitted)
            self._count(event_type, outcome)
            return dirty

    async def _apply_with_retries(
        self,
        session: AsyncSession,
        record: ConsumedRecord,
        admitted: Admitted,
    ) -> tuple[str, bool]:
        for attempt in range(1, self._max_attempts + 1):
            ctx = self._context(session, record)
            try:
                async with session.begin_nested():
                    if not await self._claim_inbox(session, record):
                        raise _Skip
                    failed = await self._verify_and_handle(
                        ctx,
                        admitted,
                        keep_link=True,
                        last=attempt >= self._max_attempts,
                    )
                    await flush_outbox(session)
                    await flush_chains(session)
                    await session.flush()
                if failed is not None:  # linked, not applied
                    raise failed
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
            **_kept_headers(record.headers),
            h.DLT_CONSUMER: self.group_id,
            h.DLT_ORIGINAL_TOPIC: record.topic,
            h.DLT_ORIGINAL_PARTITION: str(record.partition),
            h.DLT_ORIGINAL_OFFSET: str(record.offset),
            h.DLT_ORIGINAL_KEY: (record.key or "")[:255],
            h.DLT_ERROR: error_text[:4000],
            h.DLT_ERROR_TYPE: type(error).__name__,
            h.DLT_REASON: reason,
            h.DLT_ATTEMPTS: str(attempts),
            h.DLT_FAILED_AT: now_vn().isoformat(),
        }
        headers.pop(h.REPLAY_OF, None)
        payload = record.value
        if len(payload) > MAX_EVENT_BYTES:  # a dead letter must fit its topic
            payload = payload[:MAX_EVENT_BYTES]
            headers[h.DLT_BODY_BYTES] = str(len(record.value))
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
                key=(record.key or "")[:255] or None,
                payload=payload,
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

    def _count(self, event_type: str | None, outcome: str) -> None:
        if self._metrics is not None:
            self._counter(event_type, outcome).inc()

    def _counter(self, event_type: str | None, outcome: str) -> Any:
        """The labelled counter of a type and outcome, looked up once (a
        ``labels`` call per record cost more than the increment)."""
        counter = self._counters.get((event_type, outcome))
        if counter is None:
            assert self._metrics is not None
            label = self.admission.type_label(event_type)
            if outcome == _UNHANDLED_TOTAL:
                counter = self._metrics.unhandled.labels(self.group_id, label)
            else:
                counter = self._metrics.consumed.labels(self.group_id, label, outcome)
            if len(self._counters) < _MAX_COUNTERS:  # types are bounded by labels
                self._counters[(event_type, outcome)] = counter
        return counter

    def _unhandled(self, event_type: str | None) -> None:
        """A type this consumer does not act on: skipped, and counted, so a type
        nobody handles shows (``motcua_events_unhandled_total``)."""
        self._count(event_type, "unhandled")
        if self._metrics is not None:
            self._counter(event_type, _UNHANDLED_TOTAL).inc()


_UNHANDLED_TOTAL = "<unhandled_total>"
"""The :meth:`EventConsumer._counter` key of ``motcua_events_unhandled_total``."""
_MAX_COUNTERS = 4096
"""Counters kept per consumer: unregistered types share one label, but their
names would each take a key (a producer inventing types must not grow it)."""


def _event_type_header(raw: Any) -> str | None:
    """The ``event-type`` header of a Kafka record, decoded as
    :meth:`ConsumedRecord.from_kafka` decodes it (the last one wins)."""
    found = None
    for name, value in raw.headers or ():
        if name == h.EVENT_TYPE:
            found = value
    return None if found is None else found.decode(errors="replace")


@functools.cache
def _claim_inbox_rows(dialect_name: str) -> Any:
    """The batch's inbox INSERT … ON CONFLICT DO NOTHING RETURNING, built once
    per dialect (building it cost more than executing it)."""
    t = InboxRecord.__table__  # type: ignore[attr-defined]
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return (
        dialect.insert(t)
        .on_conflict_do_nothing(index_elements=["consumer", "message_id"])
        .returning(t.c.message_id)
    )


def _parked_record(row: Any) -> ConsumedRecord:
    return ConsumedRecord(
        topic=row.topic,
        partition=row.partition,
        offset=row.offset,
        key=row.key,
        value=bytes(row.value),
        headers=dict(row.headers),
        timestamp_ms=row.timestamp_ms,
    )


_MAX_KEPT_HEADERS = 32
_MAX_HEADER_CHARS = 1024


def _kept_headers(headers: dict[str, str]) -> dict[str, str]:
    """The original headers a dead letter keeps: bounded, so a record with
    thousands of headers cannot make a dead letter too large for its topic."""
    kept = list(headers.items())[:_MAX_KEPT_HEADERS]
    return {k[:128]: v[:_MAX_HEADER_CHARS] for k, v in kept}
