"""Portal's consumer of dossier events: thin adapter over :mod:`mapping`.

For each event it keeps the dossier's last record and queues the records and
steps to send (``portal_item``, in the event's order), in the consumer's
transaction; the sender pushes them once it commits. Imported history is
skipped unless ``MOTCUA_PORTAL_INCLUDE_IMPORTED``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from motcua.portal.mapping import CREATING, Mapped, map_event
from motcua.portal.outbound import PENDING
from motcua.portal.tables import PortalDossier, PortalItem
from motcua.shared.contracts import EventData, EventEnvelope
from motcua.shared.contracts.common import DossierStatus
from motcua.shared.contracts.dossier import PersonalData
from motcua.shared.db import utcnow
from motcua.shared.domain.status import IllegalTransitionError
from motcua.shared.messaging import EventRefused, HandlerContext
from motcua.shared.personal_data import PersonalDataAccess, SealBrokenError

log = structlog.get_logger(__name__)

Handler = Callable[[HandlerContext, EventEnvelope[EventData]], Awaitable[None]]


def make_dossier_handler(
    access: PersonalDataAccess, *, include_imported: bool, on_items: Callable[[], None]
) -> Handler:
    """The handler of ``motcua.dossier.events``; ``on_items`` wakes the sender."""

    async def on_dossier_event(
        ctx: HandlerContext, event: EventEnvelope[EventData]
    ) -> None:
        if event.imported and not include_imported:
            return
        if await apply_event(ctx.session, access, event):
            _after_commit(ctx.session, on_items)

    return on_dossier_event


DOSSIER: sa.Table = PortalDossier.__table__  # type: ignore[attr-defined]
ITEM: sa.Table = PortalItem.__table__  # type: ignore[attr-defined]
_HELD = "motcua.portal.held"
"""``session.info`` key: the dossiers' last records as this unit of work has
them (read once, then kept as it writes them)."""


@dataclass
class _Held:
    record: dict[str, Any]
    status: int


async def apply_event(
    session: AsyncSession, access: PersonalDataAccess, event: EventEnvelope[EventData]
) -> bool:
    """Record what the event means for the portal; True if items were queued.

    Core statements, no unit of work: the dossier's last record is read once
    per transaction (kept in the session for the batch's later events about
    it, forgotten on any rollback), then written when it changes, and the
    items inserted at once."""
    held = await _held(session, event.dossier_code)
    people = None
    if isinstance(event.data, CREATING):
        if held is not None and held.status != DossierStatus.SUBMITTED:
            raise EventRefused(
                "duplicate_creation",
                f"{event.event_type} for dossier {event.dossier_code}, which the "
                f"portal was told about already",
            )
        people = _people(access, event)
    try:
        mapped = map_event(event, held.record if held else None, people)
    except IllegalTransitionError as exc:
        raise EventRefused(
            "illegal_transition",
            f"{event.event_type} for dossier {event.dossier_code} at status "
            f"{int(exc.status)}",
        ) from None
    if mapped.record is None:
        return False  # a dossier the portal is not told about
    if held is None or mapped.record != held.record:
        await _remember(session, held, event, mapped.record)
    await _queue(session, event, mapped)
    return bool(mapped.items)


async def _held(session: AsyncSession, code: str) -> _Held | None:
    cache: dict[str, _Held | None] = session.sync_session.info.setdefault(_HELD, {})
    if code not in cache:
        row = (await session.execute(_SELECT_HELD, {"code": code})).first()
        cache[code] = None if row is None else _Held(row.record, row.status)
    return cache[code]


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, _previous: Any) -> None:
    """What was read or written may be undone: read again."""
    session.info.pop(_HELD, None)


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_after_the_transaction(session: Session, transaction: Any) -> None:
    """Kept for one transaction only: the next may follow another instance's
    writes (``after_commit`` would also fire on a savepoint's release)."""
    if transaction.parent is None:
        session.info.pop(_HELD, None)


def _people(access: PersonalDataAccess, event: EventEnvelope[Any]) -> PersonalData:
    """The people sealed for the portal; a block that does not open was not
    written by intake for this dossier: the event is refused."""
    try:
        return access.open_event(event, purpose="portal sync")
    except SealBrokenError as exc:
        raise EventRefused("invalid_payload", str(exc)) from None


async def _remember(
    session: AsyncSession,
    held: _Held | None,
    event: EventEnvelope[Any],
    record: dict[str, Any],
) -> None:
    now = utcnow()
    status = int(record["TrangThaiHoSo"])
    if held is None:
        await session.execute(
            _INSERT_DOSSIER,
            {
                "dossier_code": event.dossier_code,
                "record": record,
                "status": status,
                "acknowledged": False,
                "imported": event.imported,
                "created_at": now,
                "updated_at": now,
            },
        )
    else:
        await session.execute(
            _UPDATE_DOSSIER,
            {
                "code": event.dossier_code,
                "new_record": record,
                "new_status": status,
                "now": now,
            },
        )
    session.sync_session.info[_HELD][event.dossier_code] = _Held(record, status)


async def _queue(
    session: AsyncSession, event: EventEnvelope[Any], mapped: Mapped
) -> None:
    if not mapped.items:
        return
    now = utcnow()
    await session.execute(
        _INSERT_ITEMS,
        [
            {
                "dossier_code": event.dossier_code,
                "kind": item.kind.value,
                "payload": item.payload,
                "origin": "event",
                "event_id": str(event.event_id),
                "event_at": event.occurred_at,
                "state": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "last_error": None,
                "created_at": now,
                "acked_at": None,
                "parked_at": None,
            }
            for item in mapped.items
        ],
    )


_SELECT_HELD = sa.select(DOSSIER.c.record, DOSSIER.c.status).where(
    DOSSIER.c.dossier_code == sa.bindparam("code")
)
_INSERT_DOSSIER = sa.insert(DOSSIER)
_UPDATE_DOSSIER = (
    sa.update(DOSSIER)
    .where(DOSSIER.c.dossier_code == sa.bindparam("code"))
    .values(
        record=sa.bindparam("new_record", type_=DOSSIER.c.record.type),
        status=sa.bindparam("new_status"),
        updated_at=sa.bindparam("now", type_=DOSSIER.c.updated_at.type),
    )
)
_INSERT_ITEMS = sa.insert(ITEM)
# Built once, parameters bound at each call: SQLAlchemy keeps a statement's
# cache key on it, where a statement built per call (values inlined) was
# walked again at each execution to find its compiled form.


def _after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Wake the sender once the batch's transaction has committed."""
    if session.info.get("portal_wake_registered"):
        return
    session.info["portal_wake_registered"] = True

    def fire(_session: Any) -> None:
        session.info.pop("portal_wake_registered", None)
        callback()

    sa.event.listen(session.sync_session, "after_commit", fire, once=True)
