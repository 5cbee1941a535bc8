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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

from motcua.reporting.broker_view import active_members, high_watermarks
from motcua.reporting.lookup import id_hasher
from motcua.reporting.projections import Projector
from motcua.reporting.settings import ReportingSettings
from motcua.reporting.tables import PROJECTION_TABLES
from motcua.shared.contracts.topics import BUSINESS_TOPICS
from motcua.shared.db import create_engine, create_session_factory, migrate
from motcua.shared.kafka import _admin_kwargs
from motcua.shared.messaging import ConsumedRecord, EventConsumer, InboxRecord

log = structlog.get_logger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


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
        consumer = EventConsumer(
            group_id=group,
            topics=BUSINESS_TOPICS,
            handler=Projector(
                id_hasher(settings.lookup_secret.get_secret_value().encode())
            ),
            sessions=sessions,
            producer=group,
            max_attempts=settings.consumer_max_attempts,
        )
        ends = await high_watermarks(settings.kafka, BUSINESS_TOPICS)
        result = await _replay(settings, consumer, ends, batch_size, on_progress)
    finally:
        await engine.dispose()
    log.info("reporting_rebuilt", records=result.records, per_topic=result.per_topic)
    return result


async def _ensure_stopped(settings: ReportingSettings, group: str) -> None:
    """Refuse while the service consumes. tansu keeps departed members in its
    DescribeGroups answer forever, so there the operator's word is taken."""
    if settings.kafka.profile == "tansu":
        log.warning("rebuild_unchecked_group", group=group, reason="tansu")
        return
    if await active_members(settings.kafka, group):
        msg = f"consumer group {group!r} has members: stop the reporting service first"
        raise GroupStillRunningError(msg)


async def _empty(sessions: Any, group: str) -> None:
    inbox = InboxRecord.__table__  # type: ignore[attr-defined]
    async with sessions() as session, session.begin():
        for name in PROJECTION_TABLES:
            await session.execute(sa.text(f"DELETE FROM {name}"))  # our own table names
        await session.execute(sa.delete(inbox).where(inbox.c.consumer == group))


async def _replay(
    settings: ReportingSettings,
    consumer: EventConsumer,
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
        while pending:
            batch = await reader.getmany(timeout_ms=500, max_records=batch_size)
            records: list[ConsumedRecord] = []
            for tp, raw in batch.items():
                end = pending.get(tp)
                if end is None:
                    continue
                records.extend(
                    ConsumedRecord.from_kafka(r) for r in raw if r.offset < end
                )
                if raw and raw[-1].offset + 1 >= end:
                    del pending[tp]
                    reader.pause(tp)
            if records:
                await consumer.apply_batch(records)
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
