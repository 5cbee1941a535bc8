"""Rebuilding the read model: replay both topics from the beginning.

The projection tables and the consumer's inbox are emptied, then every record
of ``motcua.dossier.events`` and ``motcua.notification.events`` up to their
current ends is applied again through the same idempotent consumer core the
service runs, partition by partition in order. The service must be stopped
meanwhile; when it starts again it resumes from its committed offsets, and the
inbox skips whatever the replay already applied.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from motcua.reporting.broker_view import active_members
from motcua.reporting.facts import DossierFacts
from motcua.reporting.monthly import Figures, difference
from motcua.reporting.projections import (
    Projector,
    add_figures,
    facts_of,
    fold,
    labels_of,
    remember_labels,
    side_values,
    timeline_values,
)
from motcua.reporting.settings import ReportingSettings
from motcua.reporting.tables import (
    PROJECTION_TABLES,
    DossierRow,
    OccurrenceRow,
    ScheduleChangeRow,
    TimelineEntry,
)
from motcua.shared.contracts import EventData, EventEnvelope
from motcua.shared.contracts.topics import BUSINESS_TOPICS
from motcua.shared.db import create_engine, create_session_factory, migrate, utcnow
from motcua.shared.kafka import _admin_kwargs
from motcua.shared.messaging import (
    ConsumedRecord,
    EventConsumer,
    EventRefused,
    InboxRecord,
)
from motcua.shared.messaging.consumer import INFRASTRUCTURE_ERRORS
from motcua.shared.messaging.continuity import OffsetContinuity, contiguous
from motcua.shared.offsets import high_watermarks
from motcua.shared.personal_data import PersonalDataAccess, load_keys
from motcua.shared.signing.canonical import split_body
from motcua.shared.signing.chain import ChainState
from motcua.shared.signing.guard import ChainGuard, Checked
from motcua.shared.signing.keystore import KeyMaterial
from motcua.shared.signing.local import key_material
from motcua.shared.signing.tables import ChainRow
from motcua.shared.signing.verifier import check_event

log = structlog.get_logger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
DOSSIER = DossierRow.__table__  # type: ignore[attr-defined]
TIMELINE = TimelineEntry.__table__  # type: ignore[attr-defined]
OCCURRENCE = OccurrenceRow.__table__  # type: ignore[attr-defined]
CHANGE = ScheduleChangeRow.__table__  # type: ignore[attr-defined]
INBOX = InboxRecord.__table__  # type: ignore[attr-defined]
CHAIN = ChainRow.__table__  # type: ignore[attr-defined]


class RefusedInReplayError(Exception):
    """An event the chain guard refuses: the batch goes through the consumer core."""


def _chain_upsert(session: AsyncSession) -> Any:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(CHAIN)
    return stmt.on_conflict_do_update(
        index_elements=["dossier_code"],
        set_={"state": stmt.excluded.state, "version": CHAIN.c.version + 1},
    )


class GroupStillRunningError(RuntimeError):
    """The reporting service is consuming: stop it before rebuilding."""


@dataclass
class RebuildResult:
    records: int = 0
    per_topic: dict[str, int] = field(default_factory=dict)


async def rebuild(
    settings: ReportingSettings,
    *,
    batch_size: int = 1000,
    on_progress: Callable[[int], None] | None = None,
) -> RebuildResult:
    group = settings.service_name
    await _ensure_stopped(settings, group)
    url = settings.resolved_database_url
    await migrate(MIGRATIONS, url, version_table=f"alembic_version_{group}")
    engine = create_engine(url)
    try:
        sessions = create_session_factory(engine)
        await _empty(sessions, group)
        replay = bulk_replay(settings, sessions)
        ends = await high_watermarks(settings.kafka, BUSINESS_TOPICS)
        result = await _replay(settings, replay, ends, batch_size, on_progress)
    finally:
        await engine.dispose()
    log.info("reporting_rebuilt", records=result.records, per_topic=result.per_topic)
    return result


def bulk_replay(
    settings: ReportingSettings, sessions: async_sessionmaker[AsyncSession]
) -> BulkReplay:
    """The rebuild's applier, with the live consumer core as its fallback."""
    group = settings.service_name
    projector = Projector(
        PersonalDataAccess(settings.service_name, load_keys(settings.common))
    )
    keys = key_material(settings.common, settings.signing)
    guard = ChainGuard(lambda: keys, settings.signing)
    consumer = EventConsumer(
        group_id=group,
        topics=BUSINESS_TOPICS,
        handler=projector,
        sessions=sessions,
        producer=group,
        max_attempts=settings.consumer_max_attempts,
        guard=guard,
    )
    return BulkReplay(
        sessions, group, projector.access, fallback=consumer, keys=keys, guard=guard
    )


async def _ensure_stopped(settings: ReportingSettings, group: str) -> None:
    """Refuse while the service consumes. tansu keeps departed members in its
    DescribeGroups answer forever, so there the operator's word is taken."""
    if settings.kafka.profile == "tansu":
        log.warning("rebuild_unchecked_group", group=group, reason="tansu")
        return
    if await active_members(settings.kafka, group):
        msg = f"consumer group {group!r} has members: stop the reporting service first"
        raise GroupStillRunningError(msg)


async def _empty(sessions: async_sessionmaker[AsyncSession], group: str) -> None:
    inbox = INBOX
    async with sessions() as session, session.begin():
        for name in PROJECTION_TABLES:
            await session.execute(sa.text(f"DELETE FROM {name}"))  # our own table names
        await session.execute(sa.delete(inbox).where(inbox.c.consumer == group))
        # the chains are rebuilt from the events too (the checkpoints stay: they
        # are what the rebuilt history is checked against)
        await session.execute(sa.delete(CHAIN))


async def _replay(
    settings: ReportingSettings,
    replay: BulkReplay,
    ends: dict[TopicPartition, int],
    batch_size: int,
    on_progress: Callable[[int], None] | None,
) -> RebuildResult:
    result = RebuildResult()
    pending = {tp: end for tp, end in ends.items() if end > 0}
    if not pending:
        return result
    reader = AIOKafkaConsumer(
        **_admin_kwargs(settings.kafka),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await reader.start()
    try:
        reader.assign(list(pending))
        await reader.seek_to_beginning(*pending)
        continuity = OffsetContinuity()
        while pending:
            batch = await reader.getmany(timeout_ms=500, max_records=batch_size)
            kept, pause = await contiguous(
                reader, continuity, batch, grouped=False, reader="rebuild"
            )
            records: list[ConsumedRecord] = []
            for tp, raw in kept.items():
                continuity.advance(tp, raw)
                end = pending.get(tp)
                if end is None:
                    continue
                records.extend(
                    ConsumedRecord.from_kafka(r) for r in raw if r.offset < end
                )
                if raw and raw[-1].offset + 1 >= end:
                    del pending[tp]
                    reader.pause(tp)
            if pause:
                await asyncio.sleep(pause)
            if records:
                await replay.apply(records)
                result.records += len(records)
                for record in records:
                    result.per_topic[record.topic] = (
                        result.per_topic.get(record.topic, 0) + 1
                    )
                if on_progress is not None:
                    on_progress(result.records)
            else:
                await asyncio.sleep(0)
    finally:
        await reader.stop()
    return result


class BulkReplay:
    """Applies a batch of records with a handful of statements.

    The same fold and the same row builders as the live consumer, and the same
    inbox rows, but set-wise: existing dossiers are read in one query, folded
    in memory in record order, and written with multi-row statements. A batch
    holding anything the fold cannot take (a malformed body, a handler error)
    goes through the consumer core instead, which retries and dead-letters
    exactly as the live service does.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        group: str,
        access: PersonalDataAccess,
        *,
        fallback: EventConsumer,
        keys: KeyMaterial,
        guard: ChainGuard,
    ) -> None:
        self._sessions = sessions
        self._group = group
        self._access = access
        self._fallback = fallback
        self._keys = keys
        self._guard = guard

    async def apply(self, records: Sequence[ConsumedRecord]) -> None:
        try:  # the consumer's own checks: a record it refuses goes through it
            parsed = []
            for record in records:
                admitted = self._fallback.admission.admit(record)
                if admitted is None or not admitted.handled:
                    raise EventRefused("unknown_event_type", "not handled")
                if record.message_id != str(admitted.envelope.event_id):
                    # the guard's replay and event-id checks, in the core
                    raise EventRefused("signature_invalid", "event-id header")
                parsed.append((record, admitted.envelope))
            async with self._sessions() as session, session.begin():
                await self._apply(session, parsed)
        except INFRASTRUCTURE_ERRORS:
            raise
        except Exception:
            log.warning("bulk_replay_fell_back", records=len(records))
            await self._fallback.apply_batch(records)

    async def _apply(
        self,
        session: AsyncSession,
        parsed: list[tuple[ConsumedRecord, EventEnvelope[EventData]]],
    ) -> None:
        fresh = await self._unseen(session, parsed)
        if not fresh:
            return
        checks = await self._verify(session, fresh)
        facts = await _load_facts(session, {e.dossier_code for _, e in fresh})
        known = set(facts)
        initial = {code: f.row_values() for code, f in facts.items()}
        touched: set[str] = set()
        timeline: list[dict[str, Any]] = []
        occurrences: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        labels: dict[tuple[str, str], str] = {}
        for record, event in fresh:
            code = event.dossier_code
            before = facts.get(code) or DossierFacts(code)
            projected = fold(before, event, self._access)
            if projected.facts != before or projected.occurrences:
                facts[code] = projected.facts
                touched.add(code)
            timeline.append(
                timeline_values(record, event, checks.get(record.message_id))
            )
            more_occurrences, more_changes = side_values(event, projected)
            occurrences += more_occurrences
            changes += more_changes
            labels.update({(k, c): n for k, c, n in labels_of(event)})
        await _insert(session, TIMELINE, timeline)
        await _insert(session, OCCURRENCE, occurrences)
        await _insert(session, CHANGE, changes)
        await _insert(
            session, DOSSIER, [facts[c].row_values() for c in touched - known]
        )
        updates = [{"_code": c, **facts[c].row_values()} for c in touched & known]
        if updates:
            await session.execute(
                sa.update(DOSSIER).where(
                    DOSSIER.c.dossier_code == sa.bindparam("_code")
                ),
                updates,
            )
        figures = Figures()
        for code in touched:
            figures.merge(difference(initial.get(code), facts[code].row_values()))
        await add_figures(session, figures)
        await remember_labels(session, [(k, c, n) for (k, c), n in labels.items()])
        now = utcnow()
        await _insert(
            session,
            INBOX,
            [
                {
                    "consumer": self._group,
                    "message_id": r.message_id,
                    "status": "processed",
                    "processed_at": now,
                }
                for r, _ in fresh
            ],
        )

    async def _verify(
        self,
        session: AsyncSession,
        fresh: list[tuple[ConsumedRecord, EventEnvelope[EventData]]],
    ) -> dict[str, Checked]:
        """The chain guard's check, in memory for the whole batch; anything it
        refuses sends the batch through the consumer core (which dead-letters
        it exactly as the live service does)."""
        codes = {e.dossier_code for _, e in fresh if self._guard.wants(e.event_type)}
        states: dict[str, ChainState] = {}
        for chunk in _chunks(sorted(codes)):
            rows = await session.execute(
                sa.select(CHAIN.c.dossier_code, CHAIN.c.state).where(
                    CHAIN.c.dossier_code.in_(chunk)
                )
            )
            states.update({r.dossier_code: ChainState.from_json(r.state) for r in rows})
        ring = self._keys.keyring()
        checks: dict[str, Checked] = {}
        for record, event in fresh:
            if not self._guard.wants(event.event_type):
                continue
            body = split_body(record.value)
            code = event.dossier_code
            verdict = check_event(
                body, states.get(code, ChainState()), ring, self._guard.policy
            )
            if verdict.state is None or verdict.reason is not None:
                raise RefusedInReplayError(verdict.reason or "")
            states[code] = verdict.state
            link = body.chain
            checks[record.message_id] = Checked(
                verdict.digest,
                verdict.state.links.get(verdict.digest)
                if verdict.legacy
                else (link.get("seq") if link else None),
                "unsigned_legacy" if verdict.legacy else "signed",
                verdict.signer,
            )
        if states:
            now = utcnow()
            await session.execute(
                _chain_upsert(session),
                [
                    {
                        "dossier_code": code,
                        "state": state.to_json(),
                        "version": 1,
                        "checkpointed_version": 0,
                        "updated_at": now,
                    }
                    for code, state in states.items()
                ],
            )
        return checks

    async def _unseen(
        self,
        session: AsyncSession,
        parsed: list[tuple[ConsumedRecord, EventEnvelope[EventData]]],
    ) -> list[tuple[ConsumedRecord, EventEnvelope[EventData]]]:
        """Drop duplicates: already in the inbox, or twice in this batch."""
        ids = list({r.message_id for r, _ in parsed})
        seen: set[str] = set()
        for chunk in _chunks(ids):
            found = await session.scalars(
                sa.select(INBOX.c.message_id).where(
                    INBOX.c.consumer == self._group, INBOX.c.message_id.in_(chunk)
                )
            )
            seen.update(found)
        fresh = []
        for record, event in parsed:
            if record.message_id not in seen:
                seen.add(record.message_id)
                fresh.append((record, event))
        return fresh


def _chunks(items: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def _load_facts(
    session: AsyncSession, codes: set[str]
) -> dict[str, DossierFacts]:
    facts: dict[str, DossierFacts] = {}
    for chunk in _chunks(sorted(codes)):
        rows = await session.execute(
            sa.select(DOSSIER).where(DOSSIER.c.dossier_code.in_(chunk))
        )
        for row in rows:
            facts[row.dossier_code] = facts_of(row)
    return facts


async def _insert(
    session: AsyncSession, table: sa.Table, rows: list[dict[str, Any]]
) -> None:
    if rows:
        await session.execute(sa.insert(table), rows)
