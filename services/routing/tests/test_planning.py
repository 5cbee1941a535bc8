"""Routing by competence: workflow roles → concrete agencies of the province."""

from __future__ import annotations

from datetime import date

import pytest
from routing_support import (
    JUSTICE,
    KIM_LONG_CENTRE,
    KIM_LONG_COMMITTEE,
    KIM_LONG_POLICE,
    REGISTRY,
    SOCIAL_SECURITY,
    XUAN_QUANG_CENTRE,
    birth_commune_workflow,
    birth_group_workflow,
    criminal_record_workflow,
)

from motcua.routing.planning import (
    RoutePlan,
    RoutingRequest,
    Unroutable,
    default_workflow,
    plan_route,
)
from motcua.shared.contracts.dossier import WorkflowStep

TODAY = date(2026, 3, 2)


def _plan(
    receiving: str, workflow: list[WorkflowStep], on: date = TODAY, **kwargs: str
) -> RoutePlan:
    plan = plan_route(
        RoutingRequest(receiving, tuple(workflow), on, **kwargs), REGISTRY
    )
    assert isinstance(plan, RoutePlan), plan
    return plan


@pytest.mark.parametrize("receiving", [KIM_LONG_CENTRE, XUAN_QUANG_CENTRE])
def test_criminal_record_goes_desk_then_department_of_justice_then_back_to_that_desk(
    receiving: str,
) -> None:
    plan = _plan(receiving, criminal_record_workflow(), competent_agency_type="justice")
    assert [s.agency_code for s in plan.steps] == [receiving, JUSTICE, receiving]
    assert plan.competent_agency_code == JUSTICE
    assert [s.hours for s in plan.steps] == [4, 72, 4]


def test_birth_registration_stays_in_the_commune() -> None:
    plan = _plan(
        KIM_LONG_CENTRE,
        birth_commune_workflow(),
        competent_agency_type="peoples_committee",
    )
    assert [s.agency_code for s in plan.steps] == [
        KIM_LONG_CENTRE,
        KIM_LONG_COMMITTEE,
        KIM_LONG_CENTRE,
    ]


def test_birth_group_reaches_commune_police_and_provincial_social_security() -> None:
    plan = _plan(
        KIM_LONG_CENTRE,
        birth_group_workflow(),
        competent_agency_type="peoples_committee",
    )
    assert [s.agency_code for s in plan.steps] == [
        KIM_LONG_CENTRE,
        KIM_LONG_COMMITTEE,
        KIM_LONG_POLICE,
        SOCIAL_SECURITY,
        KIM_LONG_CENTRE,
    ]
    assert plan.competent_agency_code == KIM_LONG_COMMITTEE


def test_a_named_competent_agency_wins_over_its_type() -> None:
    plan = _plan(
        KIM_LONG_CENTRE,
        criminal_record_workflow(),
        competent_agency_type="peoples_committee",
        competent_agency_code=JUSTICE,
    )
    assert plan.steps[1].agency_code == JUSTICE


def test_before_july_2025_a_commune_land_dossier_goes_to_the_district_branch() -> None:
    workflow = [
        WorkflowStep(step_no=1, role="receiving_desk", hours=4),
        WorkflowStep(step_no=2, role="competent_agency", hours=64),
    ]
    plan = _plan(
        "000.51.41.H14",
        workflow,
        competent_agency_type="land_registry",
        on=date(2025, 3, 3),
    )
    assert plan.steps[1].agency_code == "000.17.41.H14"


def test_a_procedure_without_workflow_is_handled_where_it_was_received() -> None:
    plan = _plan(KIM_LONG_CENTRE, list(default_workflow(8)))
    assert [(s.agency_code, s.hours) for s in plan.steps] == [(KIM_LONG_CENTRE, 8)]
    assert plan.competent_agency_code == KIM_LONG_CENTRE


@pytest.mark.parametrize(
    ("workflow", "kwargs", "expected"),
    [
        (
            criminal_record_workflow(),
            {"competent_agency_type": "space_agency"},
            "Bước 2",
        ),
        (criminal_record_workflow(), {}, "không nêu loại cơ quan có thẩm quyền"),
        (
            [WorkflowStep(step_no=1, role="specialist:astrology", hours=1)],
            {},
            "«astrology»",
        ),
        ([WorkflowStep(step_no=1, role="janitor", hours=1)], {}, "vai trò «janitor»"),
    ],
)
def test_what_cannot_be_routed_says_why_in_vietnamese(
    workflow: list[WorkflowStep], kwargs: dict[str, str], expected: str
) -> None:
    plan = plan_route(
        RoutingRequest(KIM_LONG_CENTRE, tuple(workflow), TODAY, **kwargs), REGISTRY
    )
    assert isinstance(plan, Unroutable)
    assert expected in plan.reason


def test_an_unknown_receiving_agency_is_unroutable_until_an_operator_chooses() -> None:
    request = RoutingRequest("999.99.99.H14", tuple(criminal_record_workflow()), TODAY)
    plan = plan_route(request, REGISTRY)
    assert isinstance(plan, Unroutable)
    assert plan.unresolved_steps == (1, 2, 3)
    chosen = plan_route(
        request,
        REGISTRY,
        overrides={1: KIM_LONG_CENTRE, 2: JUSTICE, 3: KIM_LONG_CENTRE},
    )
    assert isinstance(chosen, RoutePlan)
    assert chosen.competent_agency_code == JUSTICE
    bad = plan_route(request, REGISTRY, overrides={1: "123.45.67.H14"})
    assert isinstance(bad, Unroutable)
    assert "không tìm thấy cơ quan mã 123.45.67.H14" in bad.reason
