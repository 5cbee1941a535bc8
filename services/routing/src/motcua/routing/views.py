"""Read side: agency queues, escalations, a dossier's routing, its control sheet."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from motcua.routing.context import Routing
from motcua.routing.control_sheet import (
    TIMELINESS_VI,
    ControlSheet,
    HandOverKind,
)
from motcua.routing.deadlines import flags
from motcua.routing.domain import OPEN_HANDOFF_STATES, Dossier, HandoffState
from motcua.routing.repository import to_domain
from motcua.routing.tables import HandoffRow, PauseRow, RoutedDossier
from motcua.shared.contracts.common import DossierStatus
from motcua.shared.contracts.envelope import VN_TZ
from motcua.shared.contracts.handoff import Timeliness

_OPEN = [s.value for s in OPEN_HANDOFF_STATES]

Moment = Annotated[AwareDatetime, AfterValidator(lambda m: m.astimezone(VN_TZ))]
"""Times are shown in Vietnam time, as officers read them."""


class AgencyRef(BaseModel):
    code: str
    name: str


class StepOut(BaseModel):
    step_no: int
    role: str
    name: str
    agency: AgencyRef
    hours: float


class HandoffOut(BaseModel):
    seq: int
    step_no: int
    step_name: str
    role: str
    from_agency_code: str | None
    to_agency: AgencyRef
    state: HandoffState
    offered_at: Moment
    offered_by: str | None
    step_due_at: Moment | None
    acknowledged_at: Moment | None
    acknowledged_by: str | None
    closed_at: Moment | None
    closed_by: str | None
    close_reason: str
    timeliness: Timeliness | None
    escalated_at: Moment | None


class DossierOut(BaseModel):
    """A dossier as routing sees it."""

    code: str
    procedure_code: str
    procedure_name: str
    status: int
    status_label: str
    imported: bool
    receiving_agency_code: str
    competent_agency_code: str | None
    holder: AgencyRef | None = Field(description="Agency the dossier is at now.")
    current_step: int
    handoff_state: HandoffState | None
    received_at: Moment | None
    due_at: Moment | None = Field(description="Appointment (ngày hẹn trả).")
    original_due_at: Moment | None
    step_due_at: Moment | None
    paused: str | None = Field(description="`supplement` or `fee` while paused.")
    dispatch_reason: str | None
    steps: list[StepOut]
    handoffs: list[HandoffOut]


class QueueItem(BaseModel):
    dossier_code: str
    procedure_code: str
    procedure_name: str
    status: int
    status_label: str
    step_no: int
    step_name: str
    role: str
    state: HandoffState = Field(
        description="`offered`: to acknowledge; `acknowledged`: held."
    )
    from_agency_code: str | None
    offered_at: Moment
    acknowledged_at: Moment | None
    step_due_at: Moment | None
    due_at: Moment | None
    paused: str | None
    step_nearly_due: bool
    step_overdue: bool
    nearly_due: bool
    overdue: bool
    step_remaining_working_hours: float | None
    escalated_at: Moment | None


class QueueOut(BaseModel):
    agency: AgencyRef
    as_of: Moment
    items: list[QueueItem]


class DispatchItem(BaseModel):
    dossier_code: str
    procedure_code: str
    procedure_name: str
    receiving_agency_code: str
    received_at: Moment | None
    reason: str
    workflow: list[dict[str, object]]


class HandOverOut(BaseModel):
    no: int
    kind: HandOverKind
    step_no: int | None
    from_agency: AgencyRef | None = Field(description="None: the applicant.")
    from_officer: str | None
    handed_over_at: Moment
    to_agency: AgencyRef | None = Field(description="None: the applicant (result).")
    received_by: str | None
    received_at: Moment | None
    due_at: Moment | None
    timeliness: Timeliness | None
    timeliness_label: str | None
    note: str


class SheetNoteOut(BaseModel):
    at: Moment
    agency_code: str | None
    text: str


class ControlSheetOut(BaseModel):
    """Form 05: phiếu kiểm soát quá trình giải quyết hồ sơ."""

    dossier_code: str
    procedure_code: str
    procedure_name: str
    status: int
    status_label: str
    receiving_agency: AgencyRef
    competent_agency: AgencyRef | None
    co_ordinating_agencies: list[AgencyRef]
    received_at: Moment | None
    original_due_at: Moment | None
    due_at: Moment | None
    resolved_at: Moment | None
    result_timeliness: Timeliness | None
    delivered_at: Moment | None
    hand_overs: list[HandOverOut]
    notes: list[SheetNoteOut]


def _ref(routing: Routing, code: str | None) -> AgencyRef | None:
    return AgencyRef(code=code, name=routing.agency_name(code)) if code else None


def _status(value: int) -> tuple[int, str]:
    status = DossierStatus(value)
    return int(status), status.label_vi


def dossier_out(
    routing: Routing,
    row: RoutedDossier,
    dossier: Dossier,
    handoffs: Sequence[HandoffRow],
) -> DossierOut:
    status, label = _status(row.status)
    handoff = dossier.handoff
    return DossierOut(
        code=row.code,
        procedure_code=row.procedure_code,
        procedure_name=row.procedure_name,
        status=status,
        status_label=label,
        imported=row.imported,
        receiving_agency_code=row.receiving_agency_code,
        competent_agency_code=row.competent_agency_code,
        holder=_ref(routing, dossier.holder),
        current_step=row.current_step,
        handoff_state=handoff.state if handoff else None,
        received_at=row.received_at,
        due_at=row.due_at,
        original_due_at=row.original_due_at,
        step_due_at=handoff.step_due_at if handoff else None,
        paused=dossier.pause.kind.value if dossier.pause else None,
        dispatch_reason=row.dispatch_reason,
        steps=[
            StepOut(
                step_no=s.step_no,
                role=s.role,
                name=s.name,
                agency=AgencyRef(
                    code=s.agency_code, name=routing.agency_name(s.agency_code)
                ),
                hours=s.hours,
            )
            for s in dossier.steps
        ],
        handoffs=[
            HandoffOut(
                seq=h.seq,
                step_no=h.step_no,
                step_name=h.step_name,
                role=h.role,
                from_agency_code=h.from_agency_code,
                to_agency=AgencyRef(
                    code=h.to_agency_code, name=routing.agency_name(h.to_agency_code)
                ),
                state=HandoffState(h.state),
                offered_at=h.offered_at,
                offered_by=h.offered_by,
                step_due_at=h.step_due_at,
                acknowledged_at=h.acknowledged_at,
                acknowledged_by=h.acknowledged_by,
                closed_at=h.closed_at,
                closed_by=h.closed_by,
                close_reason=h.close_reason,
                timeliness=Timeliness(h.timeliness) if h.timeliness else None,
                escalated_at=h.escalated_at,
            )
            for h in handoffs
        ],
    )


async def agency_queue(
    session: AsyncSession,
    routing: Routing,
    agency_code: str,
    now: datetime,
    *,
    escalated_only: bool = False,
) -> list[QueueItem]:
    """Open hand-offs at an agency (offered to it or held by it), most urgent first."""
    stmt = sa.select(HandoffRow).where(
        col(HandoffRow.to_agency_code) == agency_code,
        col(HandoffRow.state).in_(_OPEN),
    )
    if escalated_only:
        stmt = stmt.where(
            col(HandoffRow.state) == HandoffState.OFFERED.value,
            col(HandoffRow.escalated_at).is_not(None),
        )
    handoffs = list((await session.execute(stmt)).scalars().all())
    codes = [h.dossier_code for h in handoffs]
    if not codes:
        return []
    dossiers = {
        d.code: d
        for d in (
            await session.execute(
                sa.select(RoutedDossier).where(col(RoutedDossier.code).in_(codes))
            )
        ).scalars()
    }
    pauses: dict[str, list[PauseRow]] = {}
    for pause in (
        await session.execute(
            sa.select(PauseRow).where(col(PauseRow.dossier_code).in_(codes))
        )
    ).scalars():
        pauses.setdefault(pause.dossier_code, []).append(pause)
    items = [
        _queue_item(
            routing, dossiers[h.dossier_code], h, pauses.get(h.dossier_code, []), now
        )
        for h in handoffs
        if h.dossier_code in dossiers
    ]
    far = datetime.max.replace(tzinfo=now.tzinfo)
    items.sort(key=lambda i: (not i.step_overdue, i.step_due_at or far, i.dossier_code))
    return items


def _queue_item(
    routing: Routing,
    row: RoutedDossier,
    handoff: HandoffRow,
    pauses: Sequence[PauseRow],
    now: datetime,
) -> QueueItem:
    dossier = to_domain(row, handoff, pauses)
    marks = flags(dossier, now, routing.policy)
    status, label = _status(row.status)
    return QueueItem(
        dossier_code=row.code,
        procedure_code=row.procedure_code,
        procedure_name=row.procedure_name,
        status=status,
        status_label=label,
        step_no=handoff.step_no,
        step_name=handoff.step_name,
        role=handoff.role,
        state=HandoffState(handoff.state),
        from_agency_code=handoff.from_agency_code,
        offered_at=handoff.offered_at,
        acknowledged_at=handoff.acknowledged_at,
        step_due_at=handoff.step_due_at,
        due_at=row.due_at,
        paused=dossier.pause.kind.value if dossier.pause else None,
        step_nearly_due=marks.step_nearly_due,
        step_overdue=marks.step_overdue,
        nearly_due=marks.nearly_due,
        overdue=marks.overdue,
        step_remaining_working_hours=marks.step_remaining_hours,
        escalated_at=handoff.escalated_at,
    )


async def dispatch_queue(session: AsyncSession) -> list[DispatchItem]:
    stmt = (
        sa.select(RoutedDossier)
        .where(
            col(RoutedDossier.dispatch_reason).is_not(None),
            col(RoutedDossier.status) == int(DossierStatus.RECEIVED),
        )
        .order_by(col(RoutedDossier.received_at))
    )
    return [
        DispatchItem(
            dossier_code=row.code,
            procedure_code=row.procedure_code,
            procedure_name=row.procedure_name,
            receiving_agency_code=row.receiving_agency_code,
            received_at=row.received_at,
            reason=row.dispatch_reason or "",
            workflow=row.workflow,
        )
        for row in (await session.execute(stmt)).scalars()
    ]


def control_sheet_out(
    routing: Routing, row: RoutedDossier, sheet: ControlSheet
) -> ControlSheetOut:
    status, label = _status(row.status)
    receiving = _ref(routing, row.receiving_agency_code) or AgencyRef(code="", name="")
    return ControlSheetOut(
        dossier_code=row.code,
        procedure_code=row.procedure_code,
        procedure_name=row.procedure_name,
        status=status,
        status_label=label,
        receiving_agency=receiving,
        competent_agency=_ref(
            routing, sheet.competent_agency_code or row.competent_agency_code
        ),
        co_ordinating_agencies=[
            AgencyRef(code=c, name=routing.agency_name(c))
            for c in sheet.co_ordinating_agency_codes
        ],
        received_at=row.received_at,
        original_due_at=row.original_due_at,
        due_at=sheet.due_at,
        resolved_at=sheet.resolved_at,
        result_timeliness=sheet.result_timeliness,
        delivered_at=sheet.delivered_at,
        hand_overs=[
            HandOverOut(
                no=r.no,
                kind=r.kind,
                step_no=r.step_no,
                from_agency=_ref(routing, r.from_agency_code),
                from_officer=r.from_officer,
                handed_over_at=r.handed_over_at,
                to_agency=_ref(routing, r.to_agency_code),
                received_by=r.received_by,
                received_at=r.received_at,
                due_at=r.due_at,
                timeliness=r.timeliness,
                timeliness_label=TIMELINESS_VI[r.timeliness] if r.timeliness else None,
                note=r.note,
            )
            for r in sheet.hand_overs
        ],
        notes=[
            SheetNoteOut(at=n.at, agency_code=n.agency_code, text=n.text)
            for n in sheet.notes
        ],
    )
