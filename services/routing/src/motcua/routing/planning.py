"""Routing by competence (pure): a procedure's workflow → concrete agencies.

Each step of the internal workflow (quy trình nội bộ) names a role, not an
agency: ``receiving_desk`` is whoever received the dossier, ``competent_agency``
is the agency competent to decide (given by code, or found by type near the
receiving agency), ``specialist:<type>`` a co-ordinating agency of that type
found the same way. Dossiers may be filed anywhere in the province, so the
search starts from the receiving agency, not from the applicant's address.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from motcua.shared.contracts.dossier import WorkflowStep
from motcua.shared.contracts.handoff import RoutedStep
from motcua.shared.domain.agencies import AgencyRegistry

RECEIVING_DESK = "receiving_desk"
COMPETENT_AGENCY = "competent_agency"
SPECIALIST_PREFIX = "specialist:"


@dataclass(frozen=True)
class RoutePlan:
    """The workflow with an agency for every step."""

    steps: tuple[RoutedStep, ...]
    competent_agency_code: str


@dataclass(frozen=True)
class Unroutable:
    """No agency for some step: the dossier waits in the dispatch queue."""

    reason: str
    unresolved_steps: tuple[int, ...]


@dataclass(frozen=True)
class RoutingRequest:
    """What ``dossier.received`` says about where the dossier should go."""

    receiving_agency_code: str
    workflow: tuple[WorkflowStep, ...]
    on: date
    competent_agency_type: str | None = None
    competent_agency_code: str | None = None


def default_workflow(hours: float) -> tuple[WorkflowStep, ...]:
    """A procedure without an internal workflow is handled where it was received."""
    return (
        WorkflowStep(
            step_no=1,
            role=RECEIVING_DESK,
            name="Giải quyết tại nơi tiếp nhận",
            hours=hours,
        ),
    )


def plan_route(
    request: RoutingRequest,
    registry: AgencyRegistry,
    *,
    overrides: Mapping[int, str] | None = None,
) -> RoutePlan | Unroutable:
    """Resolve every step to an agency active on ``request.on``.

    ``overrides`` (step number → agency code) are an operator's choices from
    the dispatch queue; they win over resolution by competence.
    """
    overrides = overrides or {}
    receiving = registry.find(request.receiving_agency_code)
    receiving_code = (
        registry.current(receiving.code, request.on).code if receiving else None
    )
    steps: list[RoutedStep] = []
    problems: list[tuple[int, str]] = []
    for step in sorted(request.workflow, key=lambda s: s.step_no):
        if step.step_no in overrides:
            code, problem = _chosen(overrides[step.step_no], request.on, registry)
        elif receiving_code is None:
            code, problem = (
                None,
                (
                    f"không tìm thấy cơ quan tiếp nhận mã {request.receiving_agency_code}."
                ),
            )
        else:
            code, problem = _agency_for(step, receiving_code, request, registry)
        if code is None:
            problems.append((step.step_no, problem))
            continue
        steps.append(
            RoutedStep(
                step_no=step.step_no,
                role=step.role,
                name=step.name,
                agency_code=code,
                hours=step.hours,
            )
        )
    if problems:
        return Unroutable(
            " ".join(f"Bước {no}: {text}" for no, text in problems),
            tuple(no for no, _ in problems),
        )
    return RoutePlan(tuple(steps), _competent(steps, receiving_code, request, registry))


def _chosen(code: str, on: date, registry: AgencyRegistry) -> tuple[str | None, str]:
    agency = registry.find(code)
    if agency is None:
        return None, f"không tìm thấy cơ quan mã {code}."
    current = registry.current(agency.code, on)
    if not current.active_on(on):
        return None, f"cơ quan {code} không còn hoạt động."
    return current.code, ""


def _agency_for(
    step: WorkflowStep,
    receiving_code: str,
    request: RoutingRequest,
    registry: AgencyRegistry,
) -> tuple[str | None, str]:
    if step.role == RECEIVING_DESK:
        return receiving_code, ""
    if step.role == COMPETENT_AGENCY:
        return _competent_agency(receiving_code, request, registry)
    if step.role.startswith(SPECIALIST_PREFIX):
        agency_type = step.role.removeprefix(SPECIALIST_PREFIX)
        return _by_type(agency_type, receiving_code, request.on, registry)
    return None, f"vai trò «{step.role}» không được hỗ trợ."


def _competent_agency(
    receiving_code: str, request: RoutingRequest, registry: AgencyRegistry
) -> tuple[str | None, str]:
    if request.competent_agency_code:
        agency = registry.find(request.competent_agency_code)
        if agency is None:
            return None, (
                f"không tìm thấy cơ quan có thẩm quyền mã "
                f"{request.competent_agency_code}."
            )
        return registry.current(agency.code, request.on).code, ""
    if request.competent_agency_type:
        return _by_type(
            request.competent_agency_type, receiving_code, request.on, registry
        )
    return None, "hồ sơ không nêu loại cơ quan có thẩm quyền."


def _by_type(
    agency_type: str, near: str, on: date, registry: AgencyRegistry
) -> tuple[str | None, str]:
    found = registry.resolve(agency_type, near=near, on=on)
    if found is None:
        return None, (
            f"không tìm thấy cơ quan loại «{agency_type}» có thẩm quyền "
            f"trong tỉnh của nơi tiếp nhận."
        )
    return found.code, ""


def _competent(
    steps: Sequence[RoutedStep],
    receiving_code: str | None,
    request: RoutingRequest,
    registry: AgencyRegistry,
) -> str:
    """The competent agency: its step's agency, else the one the dossier names,
    else the receiving agency (a procedure decided where it is received)."""
    for step in steps:
        if step.role == COMPETENT_AGENCY:
            return step.agency_code
    if receiving_code is None:
        return steps[0].agency_code
    code, _ = (
        _competent_agency(receiving_code, request, registry)
        if request.competent_agency_code or request.competent_agency_type
        else (None, "")
    )
    return code or receiving_code
