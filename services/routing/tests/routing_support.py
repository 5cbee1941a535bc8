"""Builders for routing's tests: realistic workflows and ``dossier.received``
events as intake publishes them, the demo province's agencies, fixed times."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from motcua.routing.domain import DeadlinePolicy, Dossier, Officer, Outcome
from motcua.routing.planning import RoutePlan, RoutingRequest, plan_route
from motcua.routing.workflow import start_workflow
from motcua.shared.contracts import EventEnvelope, new_event
from motcua.shared.contracts.common import Channel, DossierStatus
from motcua.shared.contracts.dossier import DossierReceivedV2, Person, WorkflowStep
from motcua.shared.contracts.envelope import VN_TZ
from motcua.shared.domain.agencies import load_registry
from motcua.shared.domain.calendar import TimeLimit, load_calendar
from motcua.shared.testing.helpers import sealed

REGISTRY = load_registry()
CALENDAR = load_calendar()
POLICY = DeadlinePolicy(CALENDAR)

KIM_LONG_CENTRE = "000.01.31.H14"  # TTPVHCC xã Kim Long
KIM_LONG_COMMITTEE = "000.00.31.H14"  # UBND xã Kim Long
KIM_LONG_POLICE = "000.02.31.H14"  # Công an xã Kim Long
XUAN_QUANG_CENTRE = "000.01.32.H14"  # TTPVHCC xã Xuân Quang
JUSTICE = "000.00.05.H14"  # Sở Tư pháp
SOCIAL_SECURITY = "000.00.21.H14"  # BHXH tỉnh
PROVINCE_CENTRE = "000.00.12.H14"  # TTPVHCC tỉnh

CRIMINAL_RECORD = "2.001417"  # cấp Phiếu lý lịch tư pháp (10 working days)
BIRTH = "1.001193"  # đăng ký khai sinh (same day)
BIRTH_GROUP = "1.001193.LT"  # liên thông khai sinh – thường trú – thẻ BHYT


def vn(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN_TZ)


MONDAY_8 = vn("2026-03-02 08:00")  # a plain working Monday


def criminal_record_workflow() -> list[WorkflowStep]:
    """Commune desk → Sở Tư pháp → commune desk for return: 10 working days."""
    return [
        WorkflowStep(
            step_no=1, role="receiving_desk", name="Tiếp nhận, chuyển hồ sơ", hours=4
        ),
        WorkflowStep(
            step_no=2, role="competent_agency", name="Tra cứu, cấp phiếu", hours=72
        ),
        WorkflowStep(step_no=3, role="receiving_desk", name="Trả kết quả", hours=4),
    ]


def birth_commune_workflow() -> list[WorkflowStep]:
    return [
        WorkflowStep(step_no=1, role="receiving_desk", name="Tiếp nhận", hours=1),
        WorkflowStep(step_no=2, role="competent_agency", name="Ký, đóng dấu", hours=5),
        WorkflowStep(step_no=3, role="receiving_desk", name="Trả kết quả", hours=2),
    ]


def birth_group_workflow() -> list[WorkflowStep]:
    """Birth + permanent residence + health-insurance card: ≤ 3 working days."""
    return [
        WorkflowStep(step_no=1, role="receiving_desk", name="Tiếp nhận", hours=2),
        WorkflowStep(
            step_no=2, role="competent_agency", name="Đăng ký khai sinh", hours=6
        ),
        WorkflowStep(
            step_no=3, role="specialist:police", name="Đăng ký thường trú", hours=6
        ),
        WorkflowStep(
            step_no=4, role="specialist:social_security", name="Cấp thẻ BHYT", hours=6
        ),
        WorkflowStep(step_no=5, role="receiving_desk", name="Trả kết quả", hours=4),
    ]


def received(
    code: str,
    *,
    workflow: list[WorkflowStep] | None = None,
    procedure_code: str = CRIMINAL_RECORD,
    procedure_name: str = "Cấp Phiếu lý lịch tư pháp",
    receiving: str = KIM_LONG_CENTRE,
    competent_type: str | None = "justice",
    competent_code: str | None = None,
    received_at: datetime = MONDAY_8,
    limit: str | None = "10wd",
    imported: bool = False,
    event_id: Any = None,
) -> EventEnvelope[DossierReceivedV2]:
    """``dossier.received`` as intake publishes it."""
    due = CALENDAR.due_at(received_at, TimeLimit.parse(limit)) if limit else None
    data = DossierReceivedV2(
        procedure_code=procedure_code,
        procedure_name=procedure_name,
        inter_agency=True,
        competent_agency_type=competent_type,
        competent_agency_code=competent_code,
        channel=Channel.DIRECT,
        receiving_agency_code=receiving,
        received_at=received_at,
        clock_started_at=CALENDAR.clock_start(received_at),
        due_at=due,
        time_limit=limit,
        personal_data=sealed(
            code,
            Person(
                full_name="Nguyễn Văn A", id_number="001090001234", phone="0912345678"
            ),
        ),
        workflow=workflow if workflow is not None else criminal_record_workflow(),
    )
    return new_event(
        data,
        dossier_code=code,
        producer="intake",
        agency_code=receiving,
        occurred_at=received_at,
        imported=imported,
        event_id=event_id,
    )


def started(
    code: str = "000.01.31.H14-260302-0001", **kwargs: Any
) -> tuple[Dossier, Outcome]:
    """A criminal-record dossier routed and offered to the commune desk."""
    event = received(code, **kwargs)
    data = event.data
    request = RoutingRequest(
        receiving_agency_code=data.receiving_agency_code,
        workflow=tuple(data.workflow),
        on=data.received_at.date(),
        competent_agency_type=data.competent_agency_type,
        competent_agency_code=data.competent_agency_code,
    )
    plan = plan_route(request, REGISTRY)
    assert isinstance(plan, RoutePlan), plan
    dossier = Dossier(
        code=code,
        status=DossierStatus.RECEIVED,
        receiving_agency_code=data.receiving_agency_code,
        due_at=data.due_at,
    )
    outcome = start_workflow(
        dossier,
        steps=plan.steps,
        competent_agency_code=plan.competent_agency_code,
        offered_at=data.received_at,
        policy=POLICY,
    )
    return outcome.dossier, outcome


def officer(agency: str, name: str = "Trần Thị B") -> Officer:
    return Officer(agency, name)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
