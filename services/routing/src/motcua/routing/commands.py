"""Use cases: start a dossier's workflow (one decision,
:func:`motcua.routing.workflow.decide_start`, written by
:func:`motcua.routing.repository.save_started`), officers' actions, the
dispatch queue.

Each runs in one transaction: load (and lock) the dossier, check who may act,
ask the domain, persist the outcome with its events. A refusal raises
:class:`ApiError` inside the transaction, so nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.routing.context import Routing
from motcua.routing.domain import ActionRefusedError, Dossier, Officer, Outcome
from motcua.routing.planning import RoutingRequest, default_workflow
from motcua.routing.repository import (
    ConsumerEmitter,
    SessionEmitter,
    apply_outcome,
    dossier_columns,
    insert_new_dossier,
    load_dossier,
    log_events,
    save_started,
    write_dossier,
)
from motcua.routing.tables import RoutedDossier
from motcua.routing.workflow import Start, decide_start
from motcua.shared.auth import Principal
from motcua.shared.contracts.dossier import DossierReceivedV2, WorkflowStep
from motcua.shared.contracts.envelope import VN_TZ
from motcua.shared.errors import ApiError

log = structlog.get_logger(__name__)

Decision = Callable[[Dossier, Officer, datetime], Outcome]


def _new_dossier_values(
    code: str,
    received: DossierReceivedV2,
    *,
    imported: bool,
    correlation_id: str,
) -> dict[str, Any]:
    return {
        "code": code,
        "procedure_code": received.procedure_code,
        "procedure_name": received.procedure_name,
        "receiving_agency_code": received.receiving_agency_code,
        "received_at": received.received_at,
        "original_due_at": received.due_at,
        "imported": imported,
        "correlation_id": correlation_id,
        "workflow": [s.model_dump(mode="json") for s in received.workflow],
        "competent_agency_type": received.competent_agency_type,
        "competent_agency_code": received.competent_agency_code,
        "dispatch_reason": None,
        "current_step": 0,
    }


def routing_request(routing: Routing, received: DossierReceivedV2) -> RoutingRequest:
    workflow = tuple(received.workflow)
    if not workflow:
        workflow = default_workflow(_hours_until_due(routing, received))
    return RoutingRequest(
        receiving_agency_code=received.receiving_agency_code,
        workflow=workflow,
        on=received.received_at.astimezone(VN_TZ).date(),
        competent_agency_type=received.competent_agency_type,
        competent_agency_code=received.competent_agency_code,
    )


def _hours_until_due(routing: Routing, received: DossierReceivedV2) -> float:
    if received.due_at is None:
        return 0.0
    span = routing.policy.calendar.working_time_between(
        received.received_at, received.due_at
    )
    return round(span / timedelta(hours=1), 4)


def _start_columns(start: Start) -> dict[str, Any]:
    """The dossier row's columns a start decides (beside the snapshot's)."""
    if start.unroutable is not None:
        return {"dispatch_reason": start.unroutable.reason}
    return {
        "dispatch_reason": None,
        "competent_agency_code": start.competent_agency_code,
    }


def _log_start(code: str, start: Start) -> None:
    if start.unroutable is not None:
        log.warning(
            "dossier_dispatch_queued",
            dossier_code=code,
            steps=start.unroutable.unresolved_steps,
        )
        return
    log.info(
        "dossier_routed",
        dossier_code=code,
        competent_agency_code=start.competent_agency_code,
        steps=len(start.outcome.dossier.steps),
    )


async def route_new_dossier(
    session: AsyncSession,
    routing: Routing,
    code: str,
    received: DossierReceivedV2,
    *,
    imported: bool,
    correlation_id: str,
    offered_at: datetime,
    emit: ConsumerEmitter,
    logged: dict[str, Any] | None = None,
) -> tuple[bool, bool]:
    """A dossier just received (the consumer): decide its start (routed, or
    queued for dispatch; imported history is only recorded), then write the
    dossier row with Core inserts, only if no dossier has this code yet, and
    the start's hand-off and events.

    ``logged``: the reception's own row of the dossier's event log
    (:func:`~motcua.routing.repository.event_columns`), written after the
    start's in the same statement.

    Returns (written, has_parked): written False when a dossier with this
    code was here already (nothing was written); has_parked when events
    about it arrived before it.
    """
    dossier = Dossier(
        code=code,
        status=received.status,
        receiving_agency_code=received.receiving_agency_code,
        due_at=received.due_at,
        imported=imported,
    )
    values = _new_dossier_values(
        code, received, imported=imported, correlation_id=correlation_id
    )
    start = None
    if not imported:
        start = decide_start(
            dossier,
            routing_request(routing, received),
            registry=routing.registry,
            policy=routing.policy,
            at=offered_at,
        )
        dossier = start.outcome.dossier
        values.update(_start_columns(start))
    values.update(dossier_columns(dossier))
    inserted, parked = await insert_new_dossier(session, values, emit.consumer)
    if not inserted:
        return False, False
    if start is None:
        if logged is not None:
            await log_events(session, [logged])
        log.info("dossier_history_recorded", dossier_code=code)
        return True, parked
    await save_started(
        session, code, start.outcome, emit, also_log=[logged] if logged else []
    )
    _log_start(code, start)
    return True, parked


def participants(row: RoutedDossier) -> set[str]:
    """Agencies that took part in (or will take part in) the dossier's workflow."""
    codes = {row.receiving_agency_code}
    codes.update(str(s["agency_code"]) for s in row.steps)
    return codes


def ensure_may_see(principal: Principal, row: RoutedDossier) -> None:
    if principal.acts_for(row.receiving_agency_code):
        return
    if any(principal.acts_for(code) for code in participants(row)):
        return
    principal.ensure_agency(row.receiving_agency_code)  # raises the 403


async def act(
    routing: Routing,
    code: str,
    principal: Principal,
    decide: Decision,
    *,
    expected_step: int | None = None,
) -> Dossier:
    """Run one officer action on a dossier; returns the dossier after it.

    Who may act is the agency the dossier is at (its open hand-off): an
    officer of any other agency gets 403 and nothing changes.
    """
    now = routing.clock()
    officer = Officer(principal.agency_code, principal.name or principal.subject)
    runtime = routing.runtime
    try:
        async with runtime.transaction() as session:
            loaded = await load_dossier(session, code, lock=True)
            if loaded is None:
                raise ApiError(
                    404, "dossier_not_found", f"Không tìm thấy hồ sơ {code}."
                )
            row, dossier = loaded
            if dossier.holder is not None:
                principal.ensure_agency(dossier.holder)
            else:
                ensure_may_see(principal, row)
            if (
                expected_step is not None
                and dossier.handoff is not None
                and dossier.handoff.step_no != expected_step
            ):
                raise ApiError(
                    409,
                    "step_changed",
                    f"Hồ sơ đã chuyển sang bước {dossier.handoff.step_no}; "
                    "vui lòng tải lại danh sách.",
                )
            try:
                outcome = decide(dossier, officer, now)
            except ActionRefusedError as exc:
                raise ApiError(exc.http_status, exc.code, exc.message) from exc
            emitter = SessionEmitter(session, runtime.name, row.correlation_id)
            await apply_outcome(session, row, outcome, emitter)
    except sa.exc.IntegrityError as exc:
        # Two requests raced past the checks; the database kept one.
        raise ApiError(
            409,
            "concurrent_change",
            "Hồ sơ vừa được thay đổi bởi thao tác khác; vui lòng thử lại.",
        ) from exc
    log.info(
        "dossier_action_applied",
        dossier_code=code,
        agency_code=officer.agency_code,
        status=int(outcome.dossier.status),
        events=[e.data.EVENT_TYPE for e in outcome.events],
    )
    return outcome.dossier


async def route_from_dispatch(
    routing: Routing, code: str, agencies: Mapping[int, str]
) -> Dossier:
    """An operator names agencies for the steps routing could not resolve."""
    runtime = routing.runtime
    now = routing.clock()
    async with runtime.transaction() as session:
        loaded = await load_dossier(session, code, lock=True)
        if loaded is None:
            raise ApiError(404, "dossier_not_found", f"Không tìm thấy hồ sơ {code}.")
        row, dossier = loaded
        if row.dispatch_reason is None or row.steps:
            raise ApiError(
                409,
                "not_in_dispatch_queue",
                f"Hồ sơ {code} không nằm trong hàng đợi điều phối.",
            )
        workflow = tuple(WorkflowStep.model_validate(s) for s in row.workflow)
        request = RoutingRequest(
            receiving_agency_code=row.receiving_agency_code,
            workflow=workflow or default_workflow(0.0),
            on=now.astimezone(VN_TZ).date(),
            competent_agency_type=row.competent_agency_type,
            competent_agency_code=row.competent_agency_code,
        )
        start = decide_start(
            dossier,
            request,
            registry=routing.registry,
            policy=routing.policy,
            at=now,
            overrides=agencies,
        )
        if start.unroutable is not None:
            raise ApiError(422, "still_unroutable", start.unroutable.reason)
        for name, value in _start_columns(start).items():
            setattr(row, name, value)
        write_dossier(row, start.outcome.dossier)
        emitter = SessionEmitter(session, runtime.name, row.correlation_id)
        await save_started(session, code, start.outcome, emitter)
        _log_start(code, start)
    return start.outcome.dossier
