"""The deadline scheduler: raises nearly-due, overdue and escalation alarms.

Every routing instance runs one; they share the work safely. Each looks at
the dossiers whose ``next_alarm_at`` has come, and for each, in its own
transaction with the dossier row locked, inserts the alarm rows it is due for
(``INSERT … ON CONFLICT DO NOTHING`` on a unique key) and emits an event only
for a row it actually inserted: an alarm is raised once, whatever the number
of instances or restarts. "Now" comes from the injected clock.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import sqlalchemy as sa
import structlog
from sqlmodel import col

from motcua.routing.context import Routing
from motcua.routing.deadlines import AlarmKind, alarms_due, next_alarm_at
from motcua.routing.domain import Emit
from motcua.routing.repository import (
    SessionEmitter,
    insert_ignoring_duplicates,
    load_dossier,
    record_event,
)
from motcua.routing.tables import DeadlineAlarm, HandoffRow, RoutedDossier
from motcua.shared.db import utcnow

log = structlog.get_logger(__name__)


class DeadlineScheduler:
    def __init__(
        self, routing: Routing, *, interval_s: float, batch_size: int = 500
    ) -> None:
        self._routing = routing
        self._interval_s = interval_s
        self._batch_size = batch_size

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
            for code in fresh:
                raised += await self._raise_for(code, now)
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

    async def _raise_for(self, code: str, now: datetime) -> int:
        runtime = self._routing.runtime
        raised = 0
        async with runtime.transaction() as session:
            loaded = await load_dossier(session, code, lock=True)
            if loaded is None:
                return 0
            row, dossier = loaded
            emitter = SessionEmitter(session, runtime.name, row.correlation_id)
            for alarm in alarms_due(dossier, now):
                inserted = await insert_ignoring_duplicates(
                    session,
                    DeadlineAlarm.__table__,  # type: ignore[attr-defined]
                    {
                        "dossier_code": code,
                        "kind": alarm.kind.value,
                        "scope": alarm.scope.value,
                        "handoff_seq": alarm.handoff_seq,
                        "step_no": alarm.step_no,
                        "due_at": alarm.due_at,
                        "agency_code": alarm.agency_code,
                        "raised_at": utcnow(),
                    },
                )
                if not inserted:
                    continue
                raised += 1
                envelope, body = emitter.with_payload(
                    Emit(alarm.event(), alarm.agency_code, None, now), code
                )
                record_event(session, envelope, body)
                if alarm.kind is AlarmKind.ESCALATED:
                    await session.execute(
                        sa.update(HandoffRow)
                        .where(
                            col(HandoffRow.dossier_code) == code,
                            col(HandoffRow.seq) == alarm.handoff_seq,
                        )
                        .values(escalated_at=now)
                    )
                log.info(
                    "deadline_alarm_raised",
                    dossier_code=code,
                    kind=alarm.kind.value,
                    scope=alarm.scope.value,
                    agency_code=alarm.agency_code,
                )
            row.next_alarm_at = next_alarm_at(dossier, after=now)
        return raised
