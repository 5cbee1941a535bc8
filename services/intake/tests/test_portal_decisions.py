"""Filings from the national portal as pure decisions (no HTTP, broker or
database): accepted under the portal's code, recognised when they come again,
refused with one machine code each; and the desk counter's skip over codes
the portal holds (ADR 0015)."""

from __future__ import annotations

from typing import Any

import pytest
from intake_support import DESK, applicant, filing, vn

from motcua.intake.catalogue import load_catalogue
from motcua.intake.codes import first_free
from motcua.intake.domain import ActRefusedError, Problem
from motcua.intake.portal_filings import (
    FilingAccepted,
    FilingKnown,
    FilingRefusedError,
    decide_filing,
    filing_digest,
    refusal,
)
from motcua.intake.schemas import PortalFilingIn
from motcua.shared.contracts.common import Channel, DossierStatus, FiledBy
from motcua.shared.contracts.dossier import DossierReceivedV2
from motcua.shared.domain.agencies import load_registry
from motcua.shared.domain.calendar import load_calendar

CATALOGUE = load_catalogue()
PROCEDURES = {p.code: p for p in CATALOGUE.procedures}
CODE = f"{DESK}-260302-5001"
PROVINCIAL_CENTRE = "000.00.12.H14"  # Trung tâm Phục vụ hành chính công tỉnh
JUSTICE = "000.00.05.H14"  # Sở Tư pháp: not a receiving desk


def the_filing(**overrides: Any) -> PortalFilingIn:
    body = filing(CODE, **{"submitted_at": "2026-03-02T09:40:00+07:00", **overrides})
    return PortalFilingIn.model_validate(body)


def decide(
    body: PortalFilingIn, held: dict[str, Any] | None = None
) -> FilingAccepted | FilingKnown:
    return decide_filing(
        body,
        held=held,
        procedure=PROCEDURES.get(body.procedure_code),
        version=1,
        registry=load_registry(),
        catalogue=CATALOGUE,
        calendar=load_calendar(),
        received_at=vn("2026-03-02 10:00"),
        officer="Cổng DVCQG",
    )


def refused(**overrides: Any) -> FilingRefusedError:
    with pytest.raises(FilingRefusedError) as caught:
        decide(the_filing(**overrides))
    return caught.value


def test_a_filing_is_an_online_dossier_received_under_the_portal_code() -> None:
    decision = decide(the_filing())
    assert isinstance(decision, FilingAccepted)
    assert decision.code == CODE
    reception = decision.reception
    assert reception.status is DossierStatus.RECEIVED
    assert reception.channel is Channel.ONLINE
    assert reception.filed_by is FiledBy.ONLINE_PORTAL
    event = reception.event
    assert isinstance(event, DossierReceivedV2)
    assert event.channel is Channel.ONLINE
    assert event.filed_by is FiledBy.ONLINE_PORTAL
    assert event.received_at == vn("2026-03-02 10:00")  # accepted now, not filed
    assert event.workflow  # routing starts from it
    assert [c.value for c in event.notify_channels] == ["sms", "email"]
    assert reception.details["portal"] == {
        "submitted_at": "2026-03-02T09:40:00+07:00",
        "digest": filing_digest(the_filing()),
    }


def test_the_same_filing_again_is_known_and_any_other_under_its_code_is_refused() -> (
    None
):
    accepted = decide(the_filing())
    assert isinstance(accepted, FilingAccepted)
    held = accepted.reception.details
    assert decide(the_filing(), held) == FilingKnown(CODE)
    # the same instant spelled in UTC is the same filing
    assert decide(the_filing(submitted_at="2026-03-02T02:40:00Z"), held) == (
        FilingKnown(CODE)
    )
    desk_dossier = {"outcome": "received"}  # its details: no filing digest
    for other, holder in (
        (the_filing(summary="Khai sinh lần hai"), held),
        (the_filing(), desk_dossier),
    ):
        with pytest.raises(ActRefusedError) as taken:
            decide(other, holder)
        assert taken.value.code == "dossier_code_taken"
        assert CODE in taken.value.message


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"procedure_code": "9.999999"}, "procedure_unknown", "procedure_code"),
        (
            {"receiving_agency_code": JUSTICE},
            "agency_not_competent",
            "receiving_agency_code",
        ),
        (
            {"receiving_agency_code": "000.99.99.H14"},
            "agency_not_competent",
            "receiving_agency_code",
        ),
        # a commune procedure at the provincial centre: no commune competent
        (
            {"receiving_agency_code": PROVINCIAL_CENTRE},
            "agency_not_competent",
            "receiving_agency_code",
        ),
        ({"procedure_code": "2.000815"}, "procedure_not_online", "channel"),
        (
            {"result_delivery": "post"},
            "filing_invalid",
            "postal_address",
        ),
    ],
)
def test_a_refusal_names_its_reason_once_and_every_field(
    overrides: dict[str, Any], code: str, field: str
) -> None:
    refusal_ = refused(**overrides)
    assert refusal_.code == code
    assert refusal_.message  # Vietnamese, for the citizen on the portal
    assert field in {p.field for p in refusal_.problems}


def test_a_province_procedure_filed_at_a_commune_desk_is_received() -> None:
    decision = decide(the_filing(procedure_code="2.000488"))
    assert isinstance(decision, FilingAccepted)


def test_the_first_reason_wins_when_there_are_several() -> None:
    problems = [
        Problem("applicant.id_number", "Số định danh cá nhân phải gồm đúng 12 chữ số."),
        Problem("receiving_agency_code", "Không có cơ quan đang hoạt động với mã này."),
        Problem("summary", "Quá dài."),
    ]
    assert refusal(problems).code == "agency_not_competent"
    assert refusal(problems[:1]).code == "applicant_id_invalid"
    assert refusal(problems[2:]).code == "filing_invalid"
    assert refusal(problems).problems == problems


def test_an_invalid_applicant_identifier_never_reaches_the_decision() -> None:
    with pytest.raises(ValueError, match="12 chữ số"):
        the_filing(applicant=applicant(id_number="123"))
    with pytest.raises(ValueError, match="online"):
        the_filing(channel="direct")


@pytest.mark.parametrize(
    ("sequence", "taken", "free"),
    [(7, [], 7), (7, [8, 9], 7), (7, [7, 8, 10], 9), (5001, range(5001, 5400), 5400)],
)
def test_the_counter_skips_numbers_already_held(
    sequence: int, taken: Any, free: int
) -> None:
    assert first_free(sequence, taken) == free
