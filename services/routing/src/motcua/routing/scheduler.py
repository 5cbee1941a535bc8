"""The deadline scheduler: raises nearly-due, overdue and escalation alarms.

Every routing instance runs one; they share the work safely. Each looks at
the dossiers whose ``next_alarm_at`` has come and takes them a chunk at a
time (up to ``chunk_size``): in one transaction with their chains and rows
locked (in code order, as the consumer locks a batch's), it inserts the alarm
rows they are due for (``INSERT … ON CONFLICT DO NOTHING`` on a unique key)
and emits an event only for a row it actually inserted: an alarm is raised
once, whatever the number of instances or restarts. A chunk costs a fixed
number of statements, not a handful per dossier. "Now" comes from the
injected clock.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from motcua.routing.context import Routing
from motcua.routing.deadlines import Alarm, AlarmKind, alarms_due, next_alarm_at
from motcua.routing.domain import Emit
from motcua.routing.repository import (
    SessionEmitter,
    event_columns,
    insert_for,
    load_due_dossiers,
)
from motcua.routing.tables import (
    DeadlineAlarm,
    DossierEventRow,
    HandoffRow,
    RoutedDossier,
)
from motcua.shared.db import utcnow
from motcua.shared.signing.store import prefetch_chains

log = structlog.get_logger(__name__)


class DeadlineScheduler:
    def __init__(
        self,
        routing: Routing,
        *,
        interval_s: float,
        batch_size: int = 500,
        chunk_size: int = 100,
    ) -> None:
        self._routing = routing
        self._interval_s = interval_s
        self._batch_size = batch_size
        self._chunk_size = chunk_size
        """Dossiers per transaction (SQLite holds its write lock that long)."""

    async def run(self) -> None:
        """Scan every interval, forever (a background task of the service)."""
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.scan()
            except Exception:  # the scheduler must outlive database hiccups
                log.exception("deadline_scan_failed")

    async def scan(self, now: datetime | None = None) -> int:
        """One pass at ``now`` (the clock's time by default); returns how many
        alarms this instance raised."""
        now = now or self._routing.clock()
        raised = 0
        seen: set[str] = set()
        while True:
            codes = await self._due_dossiers(now)
            fresh = [c for c in codes if c not in seen]
            for start in range(0, len(fresh), self._chunk_size):
                raised += await self._raise_for(
                    fresh[start : start + self._chunk_size], now
                )
            seen.update(fresh)
            if len(codes) < self._batch_size or not fresh:
                break
        if raised:
            self._routing.runtime.relay.wake()
        return raised

    async def _due_dossiers(self, now: datetime) -> list[str]:
        stmt = (
            sa.select(col(RoutedDossier.code))
            .where(
                col(RoutedDossier.next_alarm_at) <= now,
                col(RoutedDossier.imported).is_(False),
            )
            .order_by(col(RoutedDossier.next_alarm_at))
            .limit(self._batch_size)
        )
        async with self._routing.runtime.sessions() as session:
            return list((await session.execute(stmt)).scalars().all())

    async def _raise_for(self, codes: list[str], now: datetime) -> int:
        """The alarms due for ``codes`` in one transaction and a fixed number
        of statements (not a handful per dossier): chains and dossier rows
        locked in code order, alarm rows inserted at once (``ON CONFLICT DO
        NOTHING … RETURNING``), an event only for an alarm row inserted."""
        runtime = self._routing.runtime
        async with runtime.transaction() as session:
            await prefetch_chains(session, codes)  # the chains' locks first
            loaded = await load_due_dossiers(session, codes, now)
            due = {
                (code, alarm.kind.value, alarm.scope.value, alarm.handoff_seq): (
                    code,
                    alarm,
                )
                for code, (_, dossier) in loaded.items()
                for alarm in alarms_due(dossier, now)
            }
            inserted = await _insert_alarms(session, list(due.values()))
            logged: list[dict[str, Any]] = []
            escalated: list[dict[str, Any]] = []
            for key, (code, alarm) in due.items():
                if key not in inserted:
                    continue
                row = loaded[code][0]
                emitter = SessionEmitter(session, runtime.name, row.correlation_id)
                envelope, body = emitter.with_payload(
                    Emit(alarm.event(), alarm.agency_code, None, now), code
                )
                logged.append(event_columns(envelope, body.decode()))
                if alarm.kind is AlarmKind.ESCALATED:
                    escalated.append({"_code": code, "_seq": alarm.handoff_seq})
                log.info(
                    "deadline_alarm_raised",
                    dossier_code=code,
                    kind=alarm.kind.value,
                    scope=alarm.scope.value,
                    agency_code=alarm.agency_code,
                )
            if logged:
                await session.execute(sa.insert(_EVENT_LOG), logged)
            if escalated:
                await session.execute(
                    _ESCALATE, [{**e, "escalated_at": now} for e in escalated]
                )
            moved = [
                {"_code": code, "next_alarm_at": nxt}
                for code, (row, dossier) in loaded.items()
                if (nxt := next_alarm_at(dossier, after=now)) != row.next_alarm_at
            ]
            if moved:
                await session.execute(_MOVE_ALARM, moved)
        return len(logged)


_ALARM: sa.Table = DeadlineAlarm.__table__  # type: ignore[attr-defined]
_EVENT_LOG: sa.Table = DossierEventRow.__table__  # type: ignore[attr-defined]
_HANDOFF: sa.Table = HandoffRow.__table__  # type: ignore[attr-defined]
_DOSSIER: sa.Table = RoutedDossier.__table__  # type: ignore[attr-defined]
_ESCALATE = (
    sa.update(_HANDOFF)
    .where(
        _HANDOFF.c.dossier_code == sa.bindparam("_code"),
        _HANDOFF.c.seq == sa.bindparam("_seq"),
    )
    .values(escalated_at=sa.bindparam("escalated_at"))
)
_MOVE_ALARM = (
    sa.update(_DOSSIER)
    .where(_DOSSIER.c.code == sa.bindparam("_code"))
    .values(next_alarm_at=sa.bindparam("next_alarm_at"))
)
_AlarmKey = tuple[str, str, str, int]


async def _insert_alarms(
    session: AsyncSession, alarms: list[tuple[str, Alarm]]
) -> set[_AlarmKey]:
    """Insert the alarm rows, ignoring those raised already; the keys of the
    rows inserted (a dossier has at most one alarm per kind, scope and
    hand-off at a time)."""
    if not alarms:
        return set()
    raised_at = utcnow()
    stmt = (
        insert_for(session)(_ALARM)
        .on_conflict_do_nothing()
        .returning(
            _ALARM.c.dossier_code, _ALARM.c.kind, _ALARM.c.scope, _ALARM.c.handoff_seq
        )
    )
    rows = [
        {
            "dossier_code": code,
            "kind": alarm.kind.value,
            "scope": alarm.scope.value,
            "handoff_seq": alarm.handoff_seq,
            "step_no": alarm.step_no,
            "due_at": alarm.due_at,
            "agency_code": alarm.agency_code,
            "raised_at": raised_at,
        }
        for code, alarm in alarms
    ]
    result = await session.execute(stmt, rows)
    return {(r[0], r[1], r[2], int(r[3])) for r in result.all()}
