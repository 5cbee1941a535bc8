"""Intake HTTP API: thin adapters over the domain and the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel, Field

from motcua.intake.codes import format_dossier_code
from motcua.intake.repository import next_sequence
from motcua.intake.tables import DossierRecord
from motcua.shared.auth import Principal, Role, require
from motcua.shared.contracts import new_event, now_vn
from motcua.shared.contracts.common import Channel, DossierStatus
from motcua.shared.contracts.dossier import DossierReceivedV1, Person
from motcua.shared.errors import ApiError, ErrorResponse
from motcua.shared.messaging import add_event
from motcua.shared.service import ServiceRuntime

router = APIRouter(prefix="/api/v1", tags=["dossiers"])

Officer = Annotated[
    Principal, Depends(require(Role.DESK_OFFICER, Role.PORTAL, Role.HELPER))
]


class ApplicantIn(BaseModel):
    full_name: str = Field(min_length=1, max_length=200)
    id_number: str | None = Field(default=None, pattern=r"^\d{12}$")
    phone: str | None = None
    email: str | None = None
    address: str | None = None


class DossierIn(BaseModel):
    procedure_code: str = Field(min_length=1, max_length=32)
    procedure_name: str = Field(default="", max_length=300)
    receiving_agency_code: str = Field(min_length=1, max_length=32)
    channel: Channel = Channel.DIRECT
    applicant: ApplicantIn


class DossierOut(BaseModel):
    code: str
    status: int
    status_label: str
    received_at: AwareDatetime
    due_at: AwareDatetime | None


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


@router.post(
    "/dossiers",
    status_code=201,
    response_model=DossierOut,
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}},
    summary="Receive a dossier (tiếp nhận hồ sơ)",
)
async def receive_dossier(
    body: DossierIn, officer: Officer, request: Request
) -> DossierOut:
    officer.ensure_agency(body.receiving_agency_code)
    runtime = _runtime(request)
    received_at: datetime = now_vn()
    async with runtime.transaction() as session:
        sequence = await next_sequence(
            session, body.receiving_agency_code, received_at.date()
        )
        code = format_dossier_code(
            body.receiving_agency_code, received_at.date(), sequence
        )
        record = DossierRecord(
            code=code,
            procedure_code=body.procedure_code,
            receiving_agency_code=body.receiving_agency_code,
            channel=body.channel.value,
            status=int(DossierStatus.RECEIVED),
            received_at=received_at,
            applicant=body.applicant.model_dump(),
        )
        session.add(record)
        event = new_event(
            DossierReceivedV1(
                procedure_code=body.procedure_code,
                procedure_name=body.procedure_name or body.procedure_code,
                channel=body.channel,
                receiving_agency_code=body.receiving_agency_code,
                received_at=received_at,
                applicant=Person(**body.applicant.model_dump()),
            ),
            dossier_code=code,
            producer=runtime.name,
            agency_code=body.receiving_agency_code,
            occurred_at=received_at,
        )
        add_event(session, event, topic=event.data.TOPIC)
    return DossierOut(
        code=code,
        status=int(DossierStatus.RECEIVED),
        status_label=DossierStatus.RECEIVED.label_vi,
        received_at=received_at,
        due_at=None,
    )


@router.get(
    "/dossiers/{code}",
    response_model=DossierOut,
    responses={404: {"model": ErrorResponse}},
    summary="A received dossier",
)
async def get_dossier(code: str, officer: Officer, request: Request) -> DossierOut:
    async with _runtime(request).sessions() as session:
        record = await session.get(DossierRecord, code)
    if record is None:
        raise ApiError(404, "dossier_not_found", f"Không tìm thấy hồ sơ {code}.")
    officer.ensure_agency(record.receiving_agency_code)
    status = DossierStatus(record.status)
    return DossierOut(
        code=record.code,
        status=int(status),
        status_label=status.label_vi,
        received_at=record.received_at,
        due_at=record.due_at,
    )
