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
parked and applied right after that dossier's ``dossier.received``.
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
    load_dossier,
    park,
    record_event,
    take_parked,
)
from motcua.routing.tables import RoutedDossier
from motcua.routing.workflow import deliver_by_post, withdraw
from motcua.shared.contracts import EventData, EventEnvelope
from motcua.shared.contracts.dossier import (
    DossierReceivedV1,
    DossierSupplementReceivedV1,
    DossierWithdrawnV1,
)
from motcua.shared.contracts.handoff import (
    ProcessingStoppedV1,
    ResultDeliveredV1,
    ResultRecordedV1,
)
from motcua.shared.contracts.notification import PostalStatusChangedV1
from motcua.shared.messaging import HandlerContext
from motcua.shared.signing.store import open_chain

log = structlog.get_logger(__name__)

POSTAL_DELIVERED = "delivered"
HANDLED_EVENTS: tuple[type[EventData], ...] = (
    DossierReceivedV1,
    DossierSupplementReceivedV1,
    DossierWithdrawnV1,
    PostalStatusChangedV1,
    ResultRecordedV1,
    ResultDeliveredV1,
    ProcessingStoppedV1,
)
HANDLED_EVENT_TYPES = frozenset(model.EVENT_TYPE for model in HANDLED_EVENTS)
"""Everything else (most of all routing's own hand-off events coming back) is
acknowledged by the consumer without being parsed."""


class DossierEventHandler:
    """The consumer of ``motcua.dossier.events`` and ``motcua.notification.events``."""

    def __init__(self, routing: Routing) -> None:
        self._routing = routing

    async def __call__(
        self, ctx: HandlerContext, event: EventEnvelope[EventData]
    ) -> None:
        if event.producer == ctx.producer:
            return  # our own events, back from the topic
        match event.data:
            case DossierReceivedV1() as received:
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
        received: DossierReceivedV1,
    ) -> None:
        code = event.dossier_code
        session = ctx.session
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
        )
        if not written:
            # The same dossier announced again under another event id: keep
            # the first (the inbox already dropped exact duplicates).
            log.info("dossier_already_routed", dossier_code=code)
            return
        record_event(session, event, ctx.record.value)
        if has_parked:
            await self._apply_parked(ctx, code)

    async def _apply_parked(self, ctx: HandlerContext, code: str) -> None:
        """Apply the events that arrived before this dossier's reception."""
        row: RoutedDossier | None = None
        for parked, body in await take_parked(ctx.session, code):
            if row is None:
                loaded = await load_dossier(ctx.session, code)
                assert loaded is not None
                row = loaded[0]
            log.info(
                "parked_event_applied", dossier_code=code, parked_type=parked.event_type
            )
            await self._apply(ctx, parked, row, body)

    async def _about_dossier(
        self, ctx: HandlerContext, event: EventEnvelope[Any]
    ) -> None:
        loaded = await load_dossier(ctx.session, event.dossier_code, lock=True)
        if loaded is None:
            if await park(ctx.session, event, ctx.record.value):
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
            log.info(
                "event_not_applicable",
                dossier_code=row.code,
                status=row.status,
            )
            return
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
            log.info("history_for_live_dossier_ignored", dossier_code=row.code)
            return
        row.status = int(history.status)
        record_event(ctx.session, event, body)
