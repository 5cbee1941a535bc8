"""Routing's event handlers: parse, decide, persist, emit.

Consumed (group ``routing``):

- ``dossier.received`` → resolve the workflow by competence and offer the first
  step (or queue the dossier for dispatch); imported history is recorded only;
- ``dossier.supplement_received`` → resume the paused clock, moving due times;
- ``dossier.withdrawn`` → stop the workflow;
- ``notification.postal_status_changed`` (``delivered``) → the post delivered
  the result: ``dossier.result_delivered`` with ``method="post"``;
- imported ``dossier.result_recorded`` / ``result_delivered`` /
  ``processing_stopped`` → the status they describe.

Routing's own events come back on the topic and are skipped. An event about a
dossier routing has not seen yet (the rare reordering between producers) is
parked and applied right after that dossier's ``dossier.received``, or
dead-lettered (``parked_expired``) if that never comes. Refused, each with its
reason: a second ``dossier.received`` for a dossier already here
(``duplicate_creation``), a reception whose sealed block does not open: intake
did not send it (``invalid_payload``).
"""

from __future__ import annotations

from typing import Any

import structlog

from motcua.routing.commands import route_new_dossier
from motcua.routing.context import Routing
from motcua.routing.domain import Outcome
from motcua.routing.pauses import resume_after_supplement
from motcua.routing.repository import (
    ConsumerEmitter,
    apply_outcome,
    event_columns,
    load_dossier,
    record_event,
)
from motcua.routing.tables import RoutedDossier
from motcua.routing.workflow import deliver_by_post, withdraw
from motcua.shared.contracts import EventData, EventEnvelope
from motcua.shared.contracts.common import DossierStatus
from motcua.shared.contracts.dossier import (
    DossierReceivedV2,
    DossierSupplementReceivedV1,
    DossierWithdrawnV1,
)
from motcua.shared.contracts.handoff import (
    ProcessingStoppedV1,
    ResultDeliveredV1,
    ResultRecordedV1,
)
from motcua.shared.contracts.notification import PostalStatusChangedV1
from motcua.shared.messaging import EventRefused, HandlerContext
from motcua.shared.personal_data import PersonalDataAccess, SealBrokenError
from motcua.shared.signing.store import open_chain

log = structlog.get_logger(__name__)

POSTAL_DELIVERED = "delivered"
HANDLED_EVENTS: tuple[type[EventData], ...] = (
    DossierReceivedV2,
    DossierSupplementReceivedV1,
    DossierWithdrawnV1,
    PostalStatusChangedV1,
    ResultRecordedV1,
    ResultDeliveredV1,
    ProcessingStoppedV1,
)
"""Everything else (most of all routing's own hand-off events coming back) is
acknowledged by the consumer without being parsed."""


class DossierEventHandler:
    """The consumer of ``motcua.dossier.events`` and ``motcua.notification.events``."""

    def __init__(self, routing: Routing, origin: PersonalDataAccess) -> None:
        self._routing = routing
        self._origin = origin
        """Opens routing's (empty) sealed block of a reception: only intake
        can have made it (ADR 0007)."""

    async def __call__(
        self, ctx: HandlerContext, event: EventEnvelope[EventData]
    ) -> None:
        if event.producer == ctx.producer:
            return  # our own events, back from the topic
        match event.data:
            case DossierReceivedV2() as received:
                await self._received(ctx, event, received)
            case DossierSupplementReceivedV1() | DossierWithdrawnV1():
                await self._about_dossier(ctx, event)
            case PostalStatusChangedV1(postal_status=status) if (
                status == POSTAL_DELIVERED
            ):
                await self._about_dossier(ctx, event)
            case ResultRecordedV1() | ResultDeliveredV1() | ProcessingStoppedV1() if (
                event.imported
            ):
                await self._about_dossier(ctx, event)
            case _:
                return

    async def _received(
        self,
        ctx: HandlerContext,
        event: EventEnvelope[Any],
        received: DossierReceivedV2,
    ) -> None:
        code = event.dossier_code
        session = ctx.session
        try:
            self._origin.open_event(event, purpose="origin")
        except SealBrokenError as exc:
            raise EventRefused("invalid_payload", str(exc)) from None
        await open_chain(session, code)  # the chain's lock first (ADR 0012)
        written, has_parked = await route_new_dossier(
            session,
            self._routing,
            code,
            received,
            imported=event.imported,
            correlation_id=event.correlation_id,
            offered_at=event.occurred_at,
            emit=ConsumerEmitter(ctx, event),
            logged=event_columns(event, ctx.record.value.decode()),
        )
        if not written:
            raise _duplicate(code)
        if has_parked:
            await self._apply_parked(ctx, code)

    async def _apply_parked(self, ctx: HandlerContext, code: str) -> None:
        """Apply the events that arrived before this dossier's reception."""
        row: RoutedDossier | None = None
        taken = await ctx.take_parked(code)
        for record, parked in sorted(taken, key=lambda t: t[1].occurred_at):
            if row is None:
                loaded = await load_dossier(ctx.session, code)
                assert loaded is not None
                row = loaded[0]
            try:
                async with ctx.session.begin_nested():
                    await self._apply(ctx, parked, row, record.value)
            except EventRefused as refusal:
                await ctx.refuse_parked(record, refusal)
                continue
            log.info(
                "parked_event_applied", dossier_code=code, parked_type=parked.event_type
            )

    async def _about_dossier(
        self, ctx: HandlerContext, event: EventEnvelope[Any]
    ) -> None:
        loaded = await load_dossier(ctx.session, event.dossier_code, lock=True)
        if loaded is None:
            if await ctx.park(event.dossier_code):
                log.info("event_parked", dossier_code=event.dossier_code)
            return
        await self._apply(ctx, event, loaded[0], ctx.record.value)

    async def _apply(
        self,
        ctx: HandlerContext,
        event: EventEnvelope[Any],
        row: RoutedDossier,
        body: bytes,
    ) -> None:
        loaded = await load_dossier(ctx.session, row.code)
        assert loaded is not None
        _, dossier = loaded
        outcome: Outcome | None = None
        match event.data:
            case DossierSupplementReceivedV1() as supplement:
                record_event(ctx.session, event, body)
                outcome = resume_after_supplement(
                    dossier, supplement.received_at, self._routing.policy
                )
            case DossierWithdrawnV1():
                outcome = withdraw(dossier, event.occurred_at)
                if outcome is not None:
                    record_event(ctx.session, event, body)
            case PostalStatusChangedV1():
                outcome = deliver_by_post(dossier, event.occurred_at)
            case (
                ResultRecordedV1()
                | ResultDeliveredV1()
                | ProcessingStoppedV1() as history
            ):
                self._record_history(ctx, event, row, history, body)
                return
        if outcome is None:
            raise _illegal(event, row)
        await apply_outcome(ctx.session, row, outcome, ConsumerEmitter(ctx, event))

    @staticmethod
    def _record_history(
        ctx: HandlerContext,
        event: EventEnvelope[Any],
        row: RoutedDossier,
        history: ResultRecordedV1 | ResultDeliveredV1 | ProcessingStoppedV1,
        body: bytes,
    ) -> None:
        """Imported history describes a past state: record it, start nothing."""
        if not row.imported:
            raise _illegal(event, row, "imported history about a live dossier")
        row.status = int(history.status)
        record_event(ctx.session, event, body)


def _duplicate(code: str) -> EventRefused:
    """The same dossier announced again under another event id (the inbox
    drops exact repeats): the first reception stands."""
    return EventRefused(
        "duplicate_creation", f"dossier {code} was received here already"
    )


def _illegal(
    event: EventEnvelope[Any], row: RoutedDossier, why: str = ""
) -> EventRefused:
    """Not possible in the dossier's state as routing records it (the status
    table of :mod:`motcua.shared.domain.status`)."""
    status = DossierStatus(row.status)
    return EventRefused(
        "illegal_transition",
        f"{event.event_type} for dossier {row.code} at status {int(status)} "
        f"({status.name.lower()})" + (f": {why}" if why else ""),
    )
