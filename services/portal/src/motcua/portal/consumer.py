"""Portal's consumer of dossier events: thin adapter over :mod:`mapping`.

For each event it keeps the dossier's last record and queues the records and
steps to send (``portal_item``, in the event's order), in the consumer's
transaction; the sender pushes them once it commits. Imported history is
skipped unless ``MOTCUA_PORTAL_INCLUDE_IMPORTED``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.portal.mapping import CREATING, Mapped, map_event
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


async def apply_event(
    session: AsyncSession, access: PersonalDataAccess, event: EventEnvelope[EventData]
) -> bool:
    """Record what the event means for the portal; True if items were queued."""
    dossier = await session.get(PortalDossier, event.dossier_code)
    people = None
    if isinstance(event.data, CREATING):
        if dossier is not None and dossier.status != DossierStatus.SUBMITTED:
            raise EventRefused(
                "duplicate_creation",
                f"{event.event_type} for dossier {event.dossier_code}, which the "
                f"portal was told about already",
            )
        people = _people(access, event)
    try:
        mapped = map_event(event, dossier.record if dossier else None, people)
    except IllegalTransitionError as exc:
        raise EventRefused(
            "illegal_transition",
            f"{event.event_type} for dossier {event.dossier_code} at status "
            f"{int(exc.status)}",
        ) from None
    if mapped.record is None:
        return False  # a dossier the portal is not told about
    if dossier is None or mapped.record != dossier.record:
        _remember(session, dossier, event, mapped.record)
    _queue(session, event, mapped)
    return bool(mapped.items)


def _people(access: PersonalDataAccess, event: EventEnvelope[Any]) -> PersonalData:
    """The people sealed for the portal; a block that does not open was not
    written by intake for this dossier: the event is refused."""
    try:
        return access.open_event(event, purpose="portal sync")
    except SealBrokenError as exc:
        raise EventRefused("invalid_payload", str(exc)) from None


def _remember(
    session: AsyncSession,
    dossier: PortalDossier | None,
    event: EventEnvelope[Any],
    record: dict[str, Any],
) -> None:
    if dossier is None:
        dossier = PortalDossier(dossier_code=event.dossier_code, record=record)
        dossier.imported = event.imported
        session.add(dossier)
    dossier.record = record
    dossier.status = int(record["TrangThaiHoSo"])
    dossier.updated_at = utcnow()


def _queue(session: AsyncSession, event: EventEnvelope[Any], mapped: Mapped) -> None:
    now = utcnow()
    for item in mapped.items:
        session.add(
            PortalItem(
                dossier_code=event.dossier_code,
                kind=item.kind.value,
                payload=item.payload,
                origin="event",
                event_id=str(event.event_id),
                event_at=event.occurred_at,
                next_attempt_at=now,
                created_at=now,
            )
        )


def _after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Wake the sender once the batch's transaction has committed."""
    if session.info.get("portal_wake_registered"):
        return
    session.info["portal_wake_registered"] = True

    def fire(_session: Any) -> None:
        session.info.pop("portal_wake_registered", None)
        callback()

    sa.event.listen(session.sync_session, "after_commit", fire, once=True)
