"""A dossier presented at the desk (pure): received with its appointment
(form 01), completion requested (form 02) or refused (form 03).

:func:`decide_reception` checks what the officer entered against the
catalogue and the agency registry and decides everything the reception
writes: the dossier's status, times and details, and its event. Only the
dossier code is left to the writer (it comes from the agency's daily counter),
and with it the sealing of the dossier's people into the event (a seal is
bound to the code, ADR 0007): the decided event's ``personal_data`` is empty,
:attr:`Reception.people` is what the writer seals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from motcua.intake.catalogue import Catalogue, Procedure
from motcua.intake.domain import InvalidDossierError, Outcome, Problem
from motcua.intake.schemas import ComponentIn, DossierIn, PersonIn
from motcua.shared.contracts.common import (
    Channel,
    DossierStatus,
    FiledBy,
    NotificationChannel,
    ResultDelivery,
)
from motcua.shared.contracts.dossier import (
    DossierCompletionRequestedV2,
    DossierEventData,
    DossierReceivedV2,
    DossierRefusedV2,
    Person,
    PersonalData,
    PostalAddress,
    SubmittedComponent,
    WorkflowStep,
)
from motcua.shared.domain.agencies import Agency
from motcua.shared.domain.calendar import TimeLimit, WorkCalendar

__all__ = [
    "Appointment",
    "Outcome",
    "Reception",
    "appointment",
    "decide_reception",
    "missing_components",
    "unknown_components",
    "workflow_for",
]


@dataclass(frozen=True)
class Appointment:
    """When the legal clock starts and when the result is due (ngày hẹn trả)."""

    received_at: datetime
    clock_started_at: datetime
    due_at: datetime
    limit: TimeLimit


def appointment(
    calendar: WorkCalendar, received_at: datetime, limit: TimeLimit
) -> Appointment:
    return Appointment(
        received_at=received_at,
        clock_started_at=calendar.clock_start(received_at),
        due_at=calendar.due_at(received_at, limit),
        limit=limit,
    )


def workflow_for(procedure: Procedure, channel: Channel) -> list[WorkflowStep]:
    """The procedure's internal workflow for ``channel``, as the event carries it."""
    return [
        WorkflowStep(step_no=number, role=step.role, name=step.name, hours=step.hours)
        for number, step in enumerate(procedure.workflow(channel), start=1)
    ]


def missing_components(procedure: Procedure, submitted: Iterable[str]) -> list[str]:
    """Names of required components that were not submitted."""
    given = set(submitted)
    return [c.name for c in procedure.required_components() if c.code not in given]


def unknown_components(procedure: Procedure, submitted: Iterable[str]) -> list[str]:
    """Submitted codes the procedure does not list (staff may not ask for them)."""
    return [code for code in submitted if procedure.component(code) is None]


# -- the decision ---------------------------------------------------------------------


@dataclass(frozen=True)
class Reception:
    """What a reception writes (the dossier row and its event), but the code."""

    outcome: Outcome
    status: DossierStatus
    received_at: datetime
    procedure: Procedure
    version: int
    receiving_agency_code: str
    channel: Channel
    terms: Appointment | None
    """The appointment; only a received dossier (form 01) has one."""
    applicant: dict[str, Any]
    details: dict[str, Any]
    """Representative, components, delivery, reasons …: what the forms show."""
    filed_by: FiledBy
    officer: str
    event: DossierEventData
    """The event, its ``personal_data`` still to be sealed (empty)."""
    people: PersonalData
    """The applicant, the representative and the postal address: sealed into
    the event by the writer, once the dossier has its code."""


def decide_reception(
    body: DossierIn,
    *,
    procedure: Procedure | None,
    version: int,
    agency: Agency | None,
    catalogue: Catalogue,
    calendar: WorkCalendar,
    received_at: datetime,
    filed_by: FiledBy,
    officer: str,
) -> Reception:
    """The desk's decision on ``body`` (``procedure``: its newest published
    version, or None if it is not in the catalogue; ``agency``: the receiving
    agency as the registry knows it). Raises :class:`InvalidDossierError`
    with every problem."""
    checked = _check(body, procedure, agency, received_at)
    components = _components(checked, body.components)
    limit = checked.time_limit(body.channel)
    received = body.outcome is Outcome.RECEIVED
    terms = appointment(calendar, received_at, limit) if received else None
    details: dict[str, Any] = {
        "outcome": body.outcome.value,
        "summary": body.summary,
        "representative": body.representative.model_dump()
        if body.representative
        else None,
        "components": [c.model_dump() for c in components],
        "result_delivery": body.result_delivery.value,
        "postal_address": body.postal_address.model_dump()
        if body.postal_address
        else None,
        "notify_channels": [c.value for c in notify_channels(body)],
        "fee_vnd": checked.fee_vnd,
        "reasons": _reasons(body),
        "missing_components": _missing_names(checked, body.missing_components),
        "instructions": body.instructions,
    }
    field = catalogue.field(checked.field_code)
    event = _event(
        body,
        checked,
        version,
        components,
        details,
        terms,
        received_at,
        filed_by,
        field.name if field else None,
    )
    return Reception(
        outcome=body.outcome,
        status=body.outcome.status,
        received_at=received_at,
        procedure=checked,
        version=version,
        receiving_agency_code=body.receiving_agency_code,
        channel=body.channel,
        terms=terms,
        applicant=body.applicant.model_dump(),
        details=details,
        filed_by=filed_by,
        officer=officer,
        event=event,
        people=_people(body),
    )


def _check(
    body: DossierIn,
    procedure: Procedure | None,
    agency: Agency | None,
    received_at: datetime,
) -> Procedure:
    """The procedure, if the agency, the catalogue and the body allow the
    decision; else every problem at once."""
    problems: list[Problem] = []
    if agency is None or not agency.active_on(received_at.date()):
        problems.append(
            Problem(
                "receiving_agency_code", "Không có cơ quan đang hoạt động với mã này."
            )
        )
    elif not agency.has_type("one_stop_centre"):
        problems.append(
            Problem(
                "receiving_agency_code",
                f"{agency.name} không phải nơi tiếp nhận hồ sơ (bộ phận một cửa).",
            )
        )
    if procedure is None:
        problems.append(
            Problem(
                "procedure_code",
                f"Thủ tục {body.procedure_code} không có trong danh mục đã công bố.",
            )
        )
        raise InvalidDossierError(problems)
    problems += _procedure_problems(procedure, body)
    if problems:
        raise InvalidDossierError(problems)
    return procedure


def _procedure_problems(procedure: Procedure, body: DossierIn) -> list[Problem]:
    problems: list[Problem] = []
    if body.channel not in procedure.channels:
        allowed = ", ".join(c.value for c in procedure.channels)
        problems.append(
            Problem(
                "channel",
                f"Thủ tục này không nhận hồ sơ qua kênh {body.channel.value} "
                f"(được phép: {allowed}).",
            )
        )
    if body.result_delivery is ResultDelivery.POST and body.postal_address is None:
        problems.append(
            Problem(
                "postal_address",
                "Cần địa chỉ nhận kết quả khi trả kết quả qua bưu chính.",
            )
        )
    submitted = [c.code for c in body.components or []]
    unknown = unknown_components(procedure, submitted)
    if unknown:
        problems.append(
            Problem(
                "components",
                "Không thuộc thành phần hồ sơ của thủ tục: " + ", ".join(unknown) + ".",
            )
        )
    problems += _outcome_problems(procedure, body, submitted)
    return problems


def _outcome_problems(
    procedure: Procedure, body: DossierIn, submitted: list[str]
) -> list[Problem]:
    """What each decision needs: a complete dossier, reasons, or what to add."""
    match body.outcome:
        case Outcome.RECEIVED if body.components is not None:
            missing = missing_components(procedure, submitted)
            if missing:
                return [
                    Problem(
                        "components",
                        "Thiếu thành phần hồ sơ bắt buộc: "
                        + "; ".join(missing)
                        + ". Hãy lập phiếu yêu cầu bổ sung (mẫu 02).",
                    )
                ]
        case Outcome.REFUSED if not _reasons(body):
            return [Problem("reasons", "Cần nêu rõ lý do từ chối tiếp nhận.")]
        case Outcome.COMPLETION_REQUESTED if not body.missing_components:
            return [
                Problem(
                    "missing_components",
                    "Cần nêu các thành phần hồ sơ phải bổ sung, hoàn thiện.",
                )
            ]
        case _:
            pass
    return []


def _reasons(body: DossierIn) -> list[str]:
    return [r.strip() for r in body.reasons if r.strip()]


def _components(
    procedure: Procedure, given: list[ComponentIn] | None
) -> list[SubmittedComponent]:
    """What was handed in; omitted: every required component, as checked."""
    if given is None:
        return [
            SubmittedComponent(
                code=c.code, name=c.name, original=c.original, copies=c.copies
            )
            for c in procedure.required_components()
        ]
    result: list[SubmittedComponent] = []
    for item in given:
        listed = procedure.component(item.code)
        if listed is None:
            continue
        result.append(
            SubmittedComponent(
                code=item.code,
                name=listed.name,
                original=listed.original if item.original is None else item.original,
                copies=item.copies or listed.copies,
            )
        )
    return result


def notify_channels(body: DossierIn) -> list[NotificationChannel]:
    """The channels the applicant is told on: as chosen, else every one they
    gave (SMS, email) and the post when the result goes by post."""
    if body.notify_channels is not None:
        return body.notify_channels
    chosen: list[NotificationChannel] = []
    if body.applicant.phone:
        chosen.append(NotificationChannel.SMS)
    if body.applicant.email:
        chosen.append(NotificationChannel.EMAIL)
    if body.result_delivery is ResultDelivery.POST:
        chosen.append(NotificationChannel.POST)
    return chosen


def _missing_names(procedure: Procedure, codes: list[str]) -> list[str]:
    names: list[str] = []
    for code in codes:
        listed = procedure.component(code)
        names.append(listed.name if listed else code)
    return names


def _person(person: PersonIn | None) -> Person | None:
    return Person(**person.model_dump()) if person else None


def _people(body: DossierIn) -> PersonalData:
    applicant = _person(body.applicant)
    assert applicant is not None
    return PersonalData(
        applicant=applicant,
        representative=_person(body.representative),
        postal_address=PostalAddress(**body.postal_address.model_dump())
        if body.postal_address
        else None,
    )


def _event(
    body: DossierIn,
    procedure: Procedure,
    version: int,
    components: list[SubmittedComponent],
    details: dict[str, Any],
    terms: Appointment | None,
    received_at: datetime,
    filed_by: FiledBy,
    field_name: str | None,
) -> DossierEventData:
    unsealed: dict[str, str] = {}  # sealed by the writer (see the module)
    if body.outcome is Outcome.REFUSED:
        return DossierRefusedV2(
            procedure_code=procedure.code,
            receiving_agency_code=body.receiving_agency_code,
            channel=body.channel,
            reasons=details["reasons"],
            personal_data=unsealed,
        )
    if body.outcome is Outcome.COMPLETION_REQUESTED:
        return DossierCompletionRequestedV2(
            procedure_code=procedure.code,
            receiving_agency_code=body.receiving_agency_code,
            channel=body.channel,
            missing_components=details["missing_components"],
            instructions=body.instructions,
            personal_data=unsealed,
        )
    assert terms is not None  # (a received dossier has its appointment)
    return DossierReceivedV2(
        procedure_code=procedure.code,
        procedure_name=procedure.name,
        procedure_version=version,
        field_code=procedure.field_code,
        field_name=field_name,
        procedure_level=procedure.level,
        inter_agency=procedure.inter_agency,
        competent_agency_type=procedure.competent_agency_type,
        channel=body.channel,
        receiving_agency_code=body.receiving_agency_code,
        received_at=received_at,
        clock_started_at=terms.clock_started_at,
        due_at=terms.due_at,
        time_limit=str(terms.limit),
        personal_data=unsealed,
        result_delivery=body.result_delivery,
        filed_by=filed_by,
        components=components,
        workflow=workflow_for(procedure, body.channel),
        notify_channels=notify_channels(body),
        fee_vnd=procedure.fee_vnd,
    )
