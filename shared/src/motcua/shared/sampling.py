"""Gauges that need a query, sampled on a timer rather than per record.

Every service samples, every ``metrics_sample_interval_s``:

- its outbox: rows not yet published and the age of the oldest one (so an
  outbox that stopped draining shows, whatever the relay is doing);
- the lag of the consumer groups it watches: its own, plus any it was asked
  to observe (reporting watches every group, so the lag of a service that is
  down is still reported);
- whatever the service adds (``ServiceRuntime.add_sampler``): notification's
  waybill pool, reporting's overdue dossiers.

A failed sample is logged and counted, and a gauge it could not refresh is
cleared rather than left showing an old value.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from motcua.shared.db import utcnow
from motcua.shared.messaging.tables import OutboxRecord
from motcua.shared.metrics import ServiceMetrics
from motcua.shared.offsets import consumer_lag
from motcua.shared.settings import KafkaSettings

log = structlog.get_logger(__name__)

Sample = Callable[[], Awaitable[None]]

_OUTBOX: sa.Table = OutboxRecord.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class OutboxBacklog:
    pending: int
    oldest_age_s: float


async def outbox_backlog(sessions: async_sessionmaker[AsyncSession]) -> OutboxBacklog:
    """Unpublished rows and the age of the oldest (both from the partial index
    on unpublished ids: the oldest id is the oldest row)."""
    unpublished = _OUTBOX.c.published_at.is_(None)
    async with sessions() as session:
        pending = await session.scalar(
            sa.select(sa.func.count()).select_from(_OUTBOX).where(unpublished)
        )
        oldest = await session.scalar(
            sa.select(_OUTBOX.c.created_at)
            .where(unpublished)
            .order_by(_OUTBOX.c.id)
            .limit(1)
        )
    age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
    return OutboxBacklog(int(pending or 0), max(age, 0.0))


class Sampler:
    """Runs the samples of one service process on a timer."""

    def __init__(
        self,
        *,
        metrics: ServiceMetrics,
        sessions: async_sessionmaker[AsyncSession],
        kafka: KafkaSettings,
        interval_s: float,
        broker_ready: Callable[[], bool],
    ) -> None:
        self.metrics = metrics
        self.sessions = sessions
        self.kafka = kafka
        self.interval_s = interval_s
        self.broker_ready = broker_ready
        self.lag_groups: list[str] = []
        self.lag_topics: list[str] = []
        self.extra: list[tuple[str, Sample]] = []
        self._task: asyncio.Task[None] | None = None

    def watch_lag(self, groups: Sequence[str], topics: Sequence[str]) -> None:
        """Report the lag of ``groups`` on ``topics`` (duplicates ignored)."""
        self.lag_groups = list(dict.fromkeys([*self.lag_groups, *groups]))
        self.lag_topics = list(dict.fromkeys([*self.lag_topics, *topics]))

    def add(self, name: str, sample: Sample) -> None:
        self.extra.append((name, sample))

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="metrics-sampler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self.sample_all()
            await asyncio.sleep(self.interval_s)

    async def sample_all(self) -> None:
        """One round: each sample alone, so one failing leaves the others."""
        samples: list[tuple[str, Sample]] = [("outbox", self.sample_outbox)]
        if self.lag_groups and self.broker_ready():
            samples.append(("consumer_lag", self.sample_lag))
        samples.extend(self.extra)
        for name, sample in samples:
            try:
                await sample()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.metrics.sample_failures.labels(name).inc()
                log.warning("metrics_sample_failed", sample=name, error=repr(exc))

    async def sample_outbox(self) -> None:
        backlog = await outbox_backlog(self.sessions)
        self.metrics.outbox_pending.set(backlog.pending)
        self.metrics.outbox_oldest_age.set(backlog.oldest_age_s)

    async def sample_lag(self) -> None:
        try:
            lags = await consumer_lag(self.kafka, self.lag_groups, self.lag_topics)
        except Exception:
            self.metrics.consumer_lag.clear()  # no stale lag while blind
            raise
        self.metrics.consumer_lag.clear()  # partitions or groups may have gone
        for lag in lags:
            self.metrics.consumer_lag.labels(
                lag.group, lag.topic, str(lag.partition)
            ).set(lag.lag)
