"""Routing's event handlers: parse, decide, persist, emit."""

from __future__ import annotations

from motcua.routing.tables import RoutedDossier
from motcua.shared.contracts import EventData, EventEnvelope
from motcua.shared.contracts import headers as h
from motcua.shared.contracts.common import DossierStatus
from motcua.shared.contracts.dossier import DossierReceivedV1
from motcua.shared.contracts.handoff import HandoffOfferedV1
from motcua.shared.messaging import HandlerContext


async def on_dossier_event(
    ctx: HandlerContext, event: EventEnvelope[EventData]
) -> None:
    match event.data:
        case DossierReceivedV1() as received:
            await _offer_first_step(ctx, event, received)
        case _:
            return


async def _offer_first_step(
    ctx: HandlerContext, event: EventEnvelope[EventData], received: DossierReceivedV1
) -> None:
    agency = received.receiving_agency_code
    ctx.session.add(
        RoutedDossier(
            code=event.dossier_code,
            procedure_code=received.procedure_code,
            status=int(DossierStatus.IN_PROGRESS),
            holder_agency_code=agency,
            current_step=1,
        )
    )
    ctx.emit(
        HandoffOfferedV1(step_no=1, to_agency_code=agency, role="receiving_desk"),
        cause=event,
        agency_code=agency,
        extra_headers={h.AGENCY_CODE: agency},
    )
