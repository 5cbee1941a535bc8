"""Routing HTTP API: agency queues, officers' actions, control sheets, dispatch.

Thin adapters: authenticate, parse, call :mod:`motcua.routing.commands` or the
read side, shape the answer. Every action is taken by an officer of the agency
holding the dossier (403 otherwise) and is one transaction with its events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import AwareDatetime, BaseModel, Field, field_validator

from motcua.routing import domain, pauses, workflow
from motcua.routing.commands import Decision, act, ensure_may_see, route_from_dispatch
from motcua.routing.context import Routing
from motcua.routing.control_sheet import build_control_sheet
from motcua.routing.rendering import control_sheet_html, control_sheet_pdf
from motcua.routing.repository import dossier_events, handoffs_of, load_dossier
from motcua.routing.views import (
    AgencyRef,
    ControlSheetOut,
    DispatchItem,
    DossierOut,
    QueueOut,
    agency_queue,
    control_sheet_out,
    dispatch_queue,
    dossier_out,
)
from motcua.shared.auth import Principal, Role, require
from motcua.shared.contracts.common import ResultDelivery
from motcua.shared.errors import ApiError, ErrorResponse
from motcua.shared.signing.pdf import sign_pdf

router = APIRouter(prefix="/api/v1", tags=["routing"])
_Route = TypeVar("_Route", bound=Callable[..., Any])

_OFFICERS = (Role.DESK_OFFICER, Role.AGENCY_OFFICER, Role.SUPERVISOR)
Officer = Annotated[Principal, Depends(require(*_OFFICERS))]
Reader = Annotated[Principal, Depends(require(*_OFFICERS, Role.OPERATOR))]
Supervisor = Annotated[Principal, Depends(require(Role.SUPERVISOR))]
SupervisorOrOperator = Annotated[
    Principal, Depends(require(Role.SUPERVISOR, Role.OPERATOR))
]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR, Role.ADMIN))]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Chưa đăng nhập"},
    403: {"model": ErrorResponse, "description": "Không thuộc cơ quan đang giữ hồ sơ"},
    404: {"model": ErrorResponse, "description": "Không tìm thấy hồ sơ"},
    409: {"model": ErrorResponse, "description": "Trạng thái hồ sơ không cho phép"},
    422: {"model": ErrorResponse, "description": "Thông tin chưa hợp lệ"},
}


async def _routing(request: Request) -> Routing:  # async: no thread hop
    routing: Routing = request.app.state.routing
    return routing


RoutingDep = Annotated[Routing, Depends(_routing)]


# -- request bodies -------------------------------------------------------------------


class ActionIn(BaseModel):
    step_no: int | None = Field(
        default=None,
        ge=1,
        description="The step you act on, as shown in your queue; if the dossier "
        "has moved on meanwhile the action is refused (409) instead of applied.",
    )


def _text(value: str, message: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError(message)
    return value


class ReasonIn(ActionIn):
    reason: str = Field(
        max_length=2000, examples=["Hồ sơ thiếu chữ ký của người khai."]
    )

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        return _text(value, "Cần nêu lý do.")


class SupplementIn(ActionIn):
    components: list[str] = Field(
        min_length=1, examples=[["Bản sao Căn cước công dân của người được cấp phiếu"]]
    )
    reason: str = Field(default="", max_length=2000)

    @field_validator("components")
    @classmethod
    def _components(cls, value: list[str]) -> list[str]:
        wanted = [c.strip() for c in value if c.strip()]
        if not wanted:
            raise ValueError("Cần nêu ít nhất một thành phần hồ sơ cần bổ sung.")
        return wanted


class FeeIn(ActionIn):
    amount_vnd: int = Field(gt=0, examples=[200000])
    description: str = Field(
        default="", max_length=500, examples=["Phí cấp phiếu lý lịch tư pháp"]
    )


class PaymentIn(ActionIn):
    amount_vnd: int = Field(gt=0, examples=[200000])


class ResultIn(ActionIn):
    summary: str = Field(
        default="",
        max_length=2000,
        examples=["Đã ký Phiếu lý lịch tư pháp số 123/LLTP."],
    )


class DeliveryIn(ActionIn):
    method: ResultDelivery = ResultDelivery.DESK


class ApologyIn(ReasonIn):
    new_due_at: AwareDatetime = Field(
        description="The new appointment (with time zone, e.g. +07:00).",
        examples=["2026-03-20T16:00:00+07:00"],
    )


class DispatchIn(BaseModel):
    agencies: dict[int, str] = Field(
        min_length=1,
        description="Step number → agency e-ID code, for the steps routing could not resolve.",
        examples=[{"2": "000.00.05.H14"}],
    )


# -- helpers ------------------------------------------------------------------------------


async def _view(
    routing: Routing, code: str, reader: Principal | None = None
) -> DossierOut:
    async with routing.runtime.sessions() as session:
        loaded = await load_dossier(session, code)
        if loaded is None:
            raise ApiError(404, "dossier_not_found", f"Không tìm thấy hồ sơ {code}.")
        row, dossier = loaded
        if reader is not None:
            ensure_may_see(reader, row)
        return dossier_out(routing, row, dossier, await handoffs_of(session, code))


async def _act(
    routing: Routing, code: str, principal: Principal, body: ActionIn, decide: Decision
) -> DossierOut:
    await act(routing, code, principal, decide, expected_step=body.step_no)
    return await _view(routing, code)


def _action(path: str, summary: str) -> Callable[[_Route], _Route]:
    return router.post(
        path, response_model=DossierOut, responses=_ERRORS, summary=summary
    )


# -- queues -------------------------------------------------------------------------------


@router.get(
    "/agencies/{agency_code}/queue",
    response_model=QueueOut,
    responses=_ERRORS,
    summary="Dossiers offered to or held by an agency (hàng đợi hồ sơ)",
)
async def queue(agency_code: str, principal: Reader, routing: RoutingDep) -> QueueOut:
    principal.ensure_agency(agency_code)
    now = routing.clock()
    async with routing.runtime.sessions() as session:
        items = await agency_queue(session, routing, agency_code, now)
    return QueueOut(
        agency=AgencyRef(code=agency_code, name=routing.agency_name(agency_code)),
        as_of=now,
        items=items,
    )


@router.get(
    "/agencies/{agency_code}/escalations",
    response_model=QueueOut,
    responses=_ERRORS,
    summary="Hand-offs left unacknowledged too long (hàng đợi của lãnh đạo)",
)
async def escalations(
    agency_code: str, principal: SupervisorOrOperator, routing: RoutingDep
) -> QueueOut:
    principal.ensure_agency(agency_code)
    now = routing.clock()
    async with routing.runtime.sessions() as session:
        items = await agency_queue(
            session, routing, agency_code, now, escalated_only=True
        )
    return QueueOut(
        agency=AgencyRef(code=agency_code, name=routing.agency_name(agency_code)),
        as_of=now,
        items=items,
    )


# -- a dossier ----------------------------------------------------------------------------


@router.get(
    "/dossiers/{code}",
    response_model=DossierOut,
    responses=_ERRORS,
    summary="A dossier's routing: steps, hand-offs, due times",
)
async def get_dossier(code: str, principal: Reader, routing: RoutingDep) -> DossierOut:
    return await _view(routing, code, principal)


async def _sheet(routing: Routing, code: str, principal: Principal) -> ControlSheetOut:
    async with routing.runtime.sessions() as session:
        loaded = await load_dossier(session, code)
        if loaded is None:
            raise ApiError(404, "dossier_not_found", f"Không tìm thấy hồ sơ {code}.")
        row, _ = loaded
        ensure_may_see(principal, row)
        events = await dossier_events(session, code)
    sheet = build_control_sheet(code, events, appointment=row.original_due_at)
    return control_sheet_out(routing, row, sheet)


@router.get(
    "/dossiers/{code}/control-sheet",
    response_model=ControlSheetOut,
    responses=_ERRORS,
    summary="Process control sheet, form 05 (phiếu kiểm soát quá trình), as JSON",
)
async def control_sheet(
    code: str, principal: Reader, routing: RoutingDep
) -> ControlSheetOut:
    return await _sheet(routing, code, principal)


@router.get(
    "/dossiers/{code}/control-sheet.html",
    response_class=HTMLResponse,
    responses=_ERRORS,
    summary="Process control sheet, form 05, as a printable page",
)
async def control_sheet_page(code: str, principal: Reader, routing: RoutingDep) -> str:
    return control_sheet_html(await _sheet(routing, code, principal))


@router.get(
    "/dossiers/{code}/control-sheet.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **_ERRORS},
    summary="Process control sheet, form 05, as a PDF signed by the receiving agency",
    description="Digitally signed (PAdES) with the receiving agency's key and the "
    "certificate published in the JWKS (`x5c`); a PDF reader that trusts the "
    "issuing CA reports the signature as valid.",
)
async def control_sheet_document(
    code: str, principal: Reader, routing: RoutingDep
) -> Response:
    sheet = await _sheet(routing, code, principal)
    signed = await sign_pdf(
        control_sheet_pdf(sheet),
        agency_code=sheet.receiving_agency.code,
        keys=routing.runtime.keys,
        at=routing.clock(),
        reason="Phiếu kiểm soát quá trình giải quyết hồ sơ",
        location=sheet.receiving_agency.name,
    )
    return Response(
        signed,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{code}-mau05.pdf"'},
    )


# -- officers' actions ----------------------------------------------------------------------


@_action(
    "/dossiers/{code}/acknowledge",
    "Acknowledge a hand-off (tiếp nhận hồ sơ chuyển đến)",
)
async def acknowledge(
    code: str, principal: Officer, routing: RoutingDep, body: ActionIn | None = None
) -> DossierOut:
    body = body or ActionIn()
    return await _act(routing, code, principal, body, workflow.acknowledge)


@_action(
    "/dossiers/{code}/complete",
    "Complete the step and forward (hoàn thành, chuyển bước)",
)
async def complete(
    code: str, principal: Officer, routing: RoutingDep, body: ActionIn | None = None
) -> DossierOut:
    body = body or ActionIn()

    def decide(d: domain.Dossier, o: domain.Officer, now: Any) -> domain.Outcome:
        return workflow.complete_step(d, o, now, routing.policy)

    return await _act(routing, code, principal, body, decide)


@_action(
    "/dossiers/{code}/return", "Return to the previous agency with a reason (trả lại)"
)
async def return_dossier(
    code: str, body: ReasonIn, principal: Officer, routing: RoutingDep
) -> DossierOut:
    def decide(d: domain.Dossier, o: domain.Officer, now: Any) -> domain.Outcome:
        return workflow.return_to_previous(d, o, now, body.reason, routing.policy)

    return await _act(routing, code, principal, body, decide)


@_action(
    "/dossiers/{code}/supplement-request",
    "Request a supplement; the clock pauses (yêu cầu bổ sung)",
)
async def request_supplement(
    code: str, body: SupplementIn, principal: Officer, routing: RoutingDep
) -> DossierOut:
    def decide(d: domain.Dossier, o: domain.Officer, now: Any) -> domain.Outcome:
        return pauses.request_supplement(d, o, now, body.components, body.reason)

    return await _act(routing, code, principal, body, decide)


@_action(
    "/dossiers/{code}/fee-request",
    "Request a fee or tax; the clock pauses (yêu cầu nộp phí)",
)
async def request_fee(
    code: str, body: FeeIn, principal: Officer, routing: RoutingDep
) -> DossierOut:
    def decide(d: domain.Dossier, o: domain.Officer, now: Any) -> domain.Outcome:
        return pauses.request_fee(d, o, now, body.amount_vnd, body.description)

    return await _act(routing, code, principal, body, decide)


@_action(
    "/dossiers/{code}/fee-payment", "Record the payment; the clock resumes (đã nộp phí)"
)
async def record_payment(
    code: str, body: PaymentIn, principal: Officer, routing: RoutingDep
) -> DossierOut:
    def decide(d: domain.Dossier, o: domain.Officer, now: Any) -> domain.Outcome:
        return pauses.record_fee_payment(d, o, now, body.amount_vnd, routing.policy)

    return await _act(routing, code, principal, body, decide)


@_action("/dossiers/{code}/stop", "Stop processing (dừng xử lý)")
async def stop(
    code: str, body: ReasonIn, principal: Officer, routing: RoutingDep
) -> DossierOut:
    def decide(d: domain.Dossier, o: domain.Officer, now: Any) -> domain.Outcome:
        return workflow.stop(d, o, now, body.reason)

    return await _act(routing, code, principal, body, decide)


@_action("/dossiers/{code}/result", "Record the result (đã xử lý xong)")
async def record_result(
    code: str, principal: Officer, routing: RoutingDep, body: ResultIn | None = None
) -> DossierOut:
    body = body or ResultIn()
    summary = body.summary

    def decide(d: domain.Dossier, o: domain.Officer, now: Any) -> domain.Outcome:
        return workflow.record_result(d, o, now, summary)

    return await _act(routing, code, principal, body, decide)


@_action(
    "/dossiers/{code}/delivery", "Confirm the result was delivered (đã trả kết quả)"
)
async def confirm_delivery(
    code: str, principal: Officer, routing: RoutingDep, body: DeliveryIn | None = None
) -> DossierOut:
    body = body or DeliveryIn()
    method = body.method.value

    def decide(d: domain.Dossier, o: domain.Officer, now: Any) -> domain.Outcome:
        return workflow.confirm_delivery(d, o, now, method)

    return await _act(routing, code, principal, body, decide)


@_action("/dossiers/{code}/apology", "Issue an apology with a new appointment (mẫu 04)")
async def issue_apology(
    code: str, body: ApologyIn, principal: Supervisor, routing: RoutingDep
) -> DossierOut:
    def decide(d: domain.Dossier, o: domain.Officer, now: Any) -> domain.Outcome:
        return pauses.issue_apology(
            d, o, now, body.reason, body.new_due_at, routing.policy
        )

    return await _act(routing, code, principal, body, decide)


# -- dispatch queue (operators) ---------------------------------------------------------------


@router.get(
    "/dispatch",
    response_model=list[DispatchItem],
    responses=_ERRORS,
    summary="Dossiers routing could not route, waiting for an operator",
)
async def dispatch(principal: Operator, routing: RoutingDep) -> list[DispatchItem]:
    del principal  # any operator or administrator sees the whole queue
    async with routing.runtime.sessions() as session:
        return await dispatch_queue(session)


@router.post(
    "/dispatch/{code}",
    response_model=DossierOut,
    responses=_ERRORS,
    summary="Route a queued dossier to the agencies an operator chose",
)
async def route_dossier(
    code: str, body: DispatchIn, principal: Operator, routing: RoutingDep
) -> DossierOut:
    del principal
    await route_from_dispatch(routing, code, body.agencies)
    return await _view(routing, code)
