"""The outbox relay: publishes committed outbox rows in order, then marks them.

One relay publishes for a database at a time (an advisory lock on PostgreSQL,
one process per SQLite file), so rows with the same key leave in the order they
were written. A crash after sending but before marking makes the next round send
those rows again: consumers deduplicate by event id.

Published rows are kept for ``retention`` (7 days), with the highest offset the
broker acknowledged per partition and the broker's cluster id (the *broker
marks*). When the leader starts, and every ``check_interval_s``, it asks the
broker (``probe``) whether it still holds what was published: a new cluster id
or a partition ending before its mark means the broker's log was lost (the local
broker keeps it in memory; a cluster rebuilt from scratch). Every retained row
is then published again, in order (ADR 0008): consumers drop what they had
already applied through their inbox, and apply what they had not.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)

from motcua.shared.db import commit_watch, transaction, utcnow
from motcua.shared.leadership import Leadership, leadership
from motcua.shared.messaging.tables import BrokerMark, OutboxRecord
from motcua.shared.metrics import ServiceMetrics

log = structlog.get_logger(__name__)


_OUTBOX: sa.Table = OutboxRecord.__table__  # type: ignore[attr-defined]


@functools.cache
def _claim_statement(batch_size: int) -> sa.Update:
    """Lease the next rows (oldest first) and return them: built once per batch
    size, each round binds its time and token (building it cost more than
    running it)."""
    t = _OUTBOX
    now = sa.bindparam("now", type_=t.c.lease_until.type)
    pending = (
        sa.select(t.c.id)
        .where(
            t.c.published_at.is_(None),
            sa.or_(t.c.lease_until.is_(None), t.c.lease_until < now),
        )
        .order_by(t.c.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return (
        sa.update(t)
        .where(t.c.id.in_(pending))
        .values(
            lease_token=sa.bindparam("token"),
            lease_until=sa.bindparam("until", type_=t.c.lease_until.type),
            attempts=t.c.attempts + 1,
        )
        .returning(t.c.id, t.c.topic, t.c.key, t.c.payload, t.c.headers)
    )


_MARK_SENT = (
    sa.update(_OUTBOX)
    .where(
        _OUTBOX.c.id.in_(sa.bindparam("ids", expanding=True)),
        _OUTBOX.c.lease_token == sa.bindparam("token"),
    )
    .values(
        published_at=sa.bindparam("now", type_=_OUTBOX.c.published_at.type),
        lease_token=None,
        lease_until=None,
    )
)


class _Claimed(NamedTuple):
    id: int
    topic: str
    key: str | None
    payload: bytes
    headers: dict[str, str]


Publish = Callable[
    [str, bytes | None, bytes, dict[str, str]], Awaitable["asyncio.Future[Any]"]
]
"""Enqueue one record; the returned future resolves when the broker acknowledged."""


@dataclass(frozen=True)
class BrokerState:
    """What the relay needs to know about the broker to see a lost log."""

    cluster_id: str
    ends: Mapping[tuple[str, int], int]
    """(topic, partition) → the offset the next record would get (the high
    watermark); a partition missing here does not exist (any more)."""


BrokerProbe = Callable[[Sequence[tuple[str, int]]], Awaitable[BrokerState]]
"""Asks the broker for its cluster id and the ends of these partitions."""


class OutboxRelay:
    def __init__(
        self,
        *,
        name: str,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        publish: Publish,
        metrics: ServiceMetrics | None = None,
        batch_size: int = 500,
        poll_interval_s: float = 0.5,
        lease_s: float = 10.0,
        retention: timedelta = timedelta(days=7),
        after_send: Callable[[], Awaitable[None]] | None = None,
        probe: BrokerProbe | None = None,
        check_interval_s: float = 30.0,
        full_round_every_s: float = 10.0,
    ) -> None:
        self.name = name
        self._sessions = sessions
        self._publish = publish
        self._metrics = metrics
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._lease = timedelta(seconds=lease_s)
        self._retention = retention
        self._after_send = after_send  # test hook: simulate a crash after sending
        self._leadership: Leadership = leadership(engine, f"motcua-outbox-relay:{name}")
        self._commits = commit_watch(engine)
        self._full_round_every_s = full_round_every_s
        self._looked_at = -float("inf")
        self._failed_at = -float("inf")
        self._lease_retry_s = 1.0
        """A row whose publication failed is offered again after this."""
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._rounds = 0
        self._leading = False
        self._reported_at = 0.0
        self._probe = probe
        self._check_interval_s = check_interval_s
        self._checked_at = -float("inf")
        self._cluster_id = ""
        """The cluster the marks were taken on (as the last check saw it)."""

    def wake(self) -> None:
        """Rows were just committed here: publish now instead of at the next poll."""
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(
                self._run(), name=f"outbox-relay-{self.name}"
            )

    async def stop(self, *, drain_timeout_s: float = 5.0) -> None:
        """Publish what is pending (bounded), then stop."""
        if self._task is None:
            return
        self._stopping.set()
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), drain_timeout_s)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
        await self._leadership.release()
        if self._commits is not None:
            self._commits.close()

    async def _run(self) -> None:
        failures = 0
        owed = True  # the first round, then any round woken or left with work
        while True:
            self._wake.clear()  # a wake() during the round below is kept
            stopping = self._stopping.is_set()
            published = 0
            if owed or stopping or self._worth_a_look():
                self._looked_at = time.monotonic()
                try:
                    if await self._leadership.acquire():
                        if not self._leading:
                            await self._take_over_leases()
                            self._leading = True
                            self._checked_at = -float("inf")  # check first
                        await self._check_broker_if_due()
                        published = await self.publish_pending()
                        failures = 0
                    else:
                        self._leading = False
                except Exception:
                    # the relay must outlive any broker or database outage
                    failures += 1
                    self._checked_at = -float("inf")  # the broker may be another now
                    log.exception("outbox_relay_round_failed", failures=failures)
                    await asyncio.sleep(min(0.2 * 2**failures, 10.0))
                    owed = True
                    continue
                if stopping and published == 0:
                    return
                if published >= self._batch_size:
                    owed = True
                    continue  # more is waiting
            owed = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval_s)
                owed = True

    def _worth_a_look(self) -> bool:
        """At a poll, without a wake: is there anything a round could find?

        On SQLite only if something was committed since the last look (by this
        process or another: the import, an operator's command), a publication
        failed lately (its rows come back after their lease), the broker check
        is due, or ``full_round_every_s`` passed; idle, the relay then costs a
        pragma per poll instead of a transaction. Elsewhere always (PostgreSQL:
        other instances write rows this leader must find)."""
        if self._commits is None:
            return True
        now = time.monotonic()
        return (
            self._commits.changed()
            or now - self._failed_at < 2 * self._lease_retry_s
            or now - self._looked_at >= self._full_round_every_s
            or (
                self._probe is not None
                and now - self._checked_at >= self._check_interval_s
            )
        )

    async def publish_pending(self) -> int:
        """One round: claim, send, mark. Returns how many rows were published."""
        self._rounds += 1
        if self._rounds % 1000 == 1:
            await self._purge()
        token = uuid.uuid4().hex
        rows = await self._claim(token)
        if not rows:
            await self._report_pending()
            return 0
        futures: list[Any] = []
        for row in rows:
            try:
                fut = await self._publish(
                    row.topic,
                    row.key.encode() if row.key else None,
                    row.payload,
                    row.headers,
                )
            except Exception as exc:
                fut = asyncio.get_running_loop().create_future()
                fut.set_exception(exc)
            futures.append(fut)
        results = await asyncio.gather(*futures, return_exceptions=True)
        if self._after_send is not None:
            await self._after_send()
        sent, failed, error = _split_at_first_failure(rows, results)
        await self._mark(token, sent, failed, error, _acknowledged(results))
        if self._metrics is not None:
            self._metrics.outbox_published.inc(len(sent))
            if failed:
                self._metrics.outbox_publish_failures.inc(len(failed))
        if error is not None:
            self._failed_at = time.monotonic()
            log.warning("outbox_publish_failed", failed=len(failed), error=repr(error))
        await self._report_pending()
        return len(sent)

    async def _take_over_leases(self) -> None:
        """Rows leased when we become the leader belong to a relay that died
        (or lost the lock) mid-round: send them now rather than after the lease."""
        t = OutboxRecord.__table__  # type: ignore[attr-defined]
        async with transaction(self._sessions) as session:
            await session.execute(
                sa.update(t)
                .where(t.c.published_at.is_(None), t.c.lease_token.is_not(None))
                .values(lease_token=None, lease_until=None)
            )

    async def _claim(self, token: str) -> list[_Claimed]:
        now = utcnow()
        params = {"now": now, "token": token, "until": now + self._lease}
        async with transaction(self._sessions) as session:
            result = await session.execute(_claim_statement(self._batch_size), params)
            rows = [_Claimed(*r) for r in result]
        rows.sort(key=lambda r: r.id)
        return rows

    async def _mark(
        self,
        token: str,
        sent: list[int],
        failed: list[int],
        error: BaseException | None,
        offsets: dict[tuple[str, int], int] | None = None,
    ) -> None:
        t = OutboxRecord.__table__  # type: ignore[attr-defined]
        now = utcnow()
        async with transaction(self._sessions) as session:
            if offsets and self._probe is not None:  # marks are for the checks
                await self._raise_marks(session, offsets, now)
            if sent:
                await session.execute(
                    _MARK_SENT, {"ids": sent, "token": token, "now": now}
                )
            if failed:
                await session.execute(
                    sa.update(t)
                    .where(t.c.id.in_(failed), t.c.lease_token == token)
                    .values(
                        lease_token=None,
                        lease_until=now + timedelta(seconds=self._lease_retry_s),
                        last_error=repr(error)[:2000],
                    )
                )

    async def _raise_marks(
        self, session: AsyncSession, offsets: dict[tuple[str, int], int], now: Any
    ) -> None:
        """Record the highest offset acknowledged per partition (never lower)."""
        m = BrokerMark.__table__  # type: ignore[attr-defined]
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(m)
        stmt = stmt.on_conflict_do_update(
            index_elements=["topic", "partition"],
            set_={
                "offset": sa.case(
                    (stmt.excluded.offset > m.c.offset, stmt.excluded.offset),
                    else_=m.c.offset,
                ),
                "cluster_id": stmt.excluded.cluster_id,
                "updated_at": stmt.excluded.updated_at,
            },
        )
        await session.execute(
            stmt,
            [
                {
                    "topic": topic,
                    "partition": partition,
                    "offset": offset,
                    "cluster_id": self._cluster_id,
                    "updated_at": now,
                }
                for (topic, partition), offset in sorted(offsets.items())
            ],
        )

    # -- a broker that lost what was published (ADR 0008) ---------------------

    async def _check_broker_if_due(self) -> None:
        if self._probe is None:
            return
        now = time.monotonic()
        if now - self._checked_at < self._check_interval_s:
            return
        self._checked_at = now
        try:
            await self.check_broker()
        except Exception as exc:  # publishing must not wait on the check
            log.warning("broker_check_failed", error=repr(exc))

    async def check_broker(self) -> int:
        """Compare the broker with the marks; if it lost what was published,
        put every retained row back to be published again. Returns how many."""
        assert self._probe is not None
        m = BrokerMark.__table__  # type: ignore[attr-defined]
        async with self._sessions() as session:
            marks = (await session.execute(sa.select(m))).all()
        state = await self._probe([(r.topic, r.partition) for r in marks])
        lost = [
            r
            for r in marks
            if (r.cluster_id and state.cluster_id and r.cluster_id != state.cluster_id)
            or state.ends.get((r.topic, r.partition), 0) <= r.offset
        ]
        self._cluster_id = state.cluster_id
        if not lost:
            return 0
        replayed = await self._replay_retained()
        log.warning(
            "broker_log_lost",
            cluster_id=state.cluster_id,
            partitions_behind=len(lost),
            replayed=replayed,
        )
        if self._metrics is not None:
            self._metrics.outbox_replayed.inc(replayed)
        return replayed

    async def _replay_retained(self) -> int:
        """Every published row still kept goes out again, in id order; the
        marks start over on the broker as it is now."""
        t = OutboxRecord.__table__  # type: ignore[attr-defined]
        m = BrokerMark.__table__  # type: ignore[attr-defined]
        async with transaction(self._sessions) as session:
            result = await session.execute(
                sa.update(t)
                .where(t.c.published_at.is_not(None))
                .values(published_at=None, lease_token=None, lease_until=None)
            )
            await session.execute(sa.delete(m))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def _report_pending(self) -> None:
        """Refresh the pending-rows gauge, at most once a second (it is a count)."""
        now = time.monotonic()
        if self._metrics is None or now - self._reported_at < 1.0:
            return
        self._reported_at = now
        t = OutboxRecord.__table__  # type: ignore[attr-defined]
        async with self._sessions() as session:
            count = await session.scalar(
                sa.select(sa.func.count())
                .select_from(t)
                .where(t.c.published_at.is_(None))
            )
        self._metrics.outbox_pending.set(count or 0)

    async def _purge(self) -> None:
        t = OutboxRecord.__table__  # type: ignore[attr-defined]
        cutoff = utcnow() - self._retention
        async with transaction(self._sessions) as session:
            await session.execute(
                sa.delete(t).where(
                    t.c.published_at.is_not(None), t.c.published_at < cutoff
                )
            )

    async def pending_count(self) -> int:
        t = OutboxRecord.__table__  # type: ignore[attr-defined]
        async with self._sessions() as session:
            count = await session.scalar(
                sa.select(sa.func.count())
                .select_from(t)
                .where(t.c.published_at.is_(None))
            )
        return int(count or 0)


def _acknowledged(results: list[Any]) -> dict[tuple[str, int], int]:
    """The highest offset the broker gave per partition in a round's results
    (aiokafka's ``RecordMetadata``; anything else is ignored)."""
    highest: dict[tuple[str, int], int] = {}
    for result in results:
        topic = getattr(result, "topic", None)
        partition = getattr(result, "partition", None)
        offset = getattr(result, "offset", None)
        if (
            isinstance(topic, str)
            and isinstance(partition, int)
            and isinstance(offset, int)
        ):
            key = (topic, partition)
            highest[key] = max(highest.get(key, -1), offset)
    return highest


def _split_at_first_failure(
    rows: list[_Claimed], results: list[Any]
) -> tuple[list[int], list[int], BaseException | None]:
    """Rows before the first failure count as published; the rest go again.

    Re-sending a row the broker did take only makes a duplicate, which
    consumers drop; marking a row after a failed one could reorder a key.
    """
    for index, result in enumerate(results):
        if isinstance(result, BaseException):
            ids = [r.id for r in rows]
            return ids[:index], ids[index:], result
    return [r.id for r in rows], [], None
