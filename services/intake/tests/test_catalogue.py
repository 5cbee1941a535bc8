"""The shipped procedure catalogue and its rules (pure, milliseconds)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from motcua.intake.catalogue import Procedure, load_catalogue, workflow_problems
from motcua.shared.contracts.common import AgencyLevel, Channel

CATALOGUE = load_catalogue()
BY_CODE = {p.code: p for p in CATALOGUE.procedures}


def test_at_least_twenty_commune_and_province_procedures_are_shipped() -> None:
    assert len(CATALOGUE.procedures) >= 20
    levels = {p.level for p in CATALOGUE.procedures}
    assert {AgencyLevel.COMMUNE, AgencyLevel.PROVINCE} <= levels


def test_birth_registration_is_same_day_free_and_fully_online() -> None:
    birth = BY_CODE["1.001193"]
    assert str(birth.time_limit(Channel.DIRECT)) == "same-day"
    assert birth.fee_vnd == 0
    assert birth.online_level == "full"


def test_the_birth_group_links_commune_police_and_social_security() -> None:
    group = BY_CODE["1.001193.02"]
    assert group.inter_agency
    assert str(group.time_limit(Channel.ONLINE)) == "3wd"
    assert str(group.time_limit(Channel.DIRECT)) == "20wd"
    roles = {s.role for s in group.workflow(Channel.ONLINE)}
    assert {"specialist:police", "specialist:social_security"} <= roles


def test_the_death_group_is_inter_agency() -> None:
    death = BY_CODE["1.011537"]
    assert death.inter_agency
    assert "specialist:social_security" in {
        s.role for s in death.workflow(Channel.DIRECT)
    }


def test_the_criminal_record_goes_from_the_commune_desk_to_the_department_and_back() -> (
    None
):
    record = BY_CODE["2.000488"]
    steps = record.workflow(Channel.DIRECT)
    assert record.competent_agency_type == "justice"
    assert str(record.time_limit(Channel.DIRECT)) == "10wd"
    assert steps[0].role == steps[-1].role == "receiving_desk"
    assert "competent_agency" in {s.role for s in steps[1:-1]}
    assert record.fee_vnd == 200_000


@pytest.mark.parametrize("procedure", CATALOGUE.procedures, ids=lambda p: p.code)
def test_every_workflow_adds_up_to_its_legal_limit(procedure: Procedure) -> None:
    assert workflow_problems(procedure, 8.0) == []


def test_a_workflow_that_misses_its_limit_is_described_in_vietnamese() -> None:
    body = BY_CODE["1.004873"].model_dump(mode="json")
    body["workflows"]["default"][1]["hours"] = 10
    procedure = Procedure.model_validate(body)
    [problem] = workflow_problems(procedure, 8.0)
    assert "tổng 14 giờ" in problem
    assert "3wd (default, 24 giờ)" in problem


def test_office_hours_change_what_a_working_day_is_worth() -> None:
    assert workflow_problems(BY_CODE["1.004873"], 7.5) != []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"code": "1001193"}, "Mã thủ tục"),
        ({"competent_agency_type": "bank"}, "Loại cơ quan"),
        ({"time_limits": {"direct": "3wd"}}, "mặc định"),
        ({"time_limits": {"default": "3 weeks"}}, "Thời hạn"),
        (
            {"workflows": {"default": [{"role": "mayor", "name": "x", "hours": 8}]}},
            "Vai trò",
        ),
    ],
)
def test_invalid_procedures_are_refused_with_vietnamese_messages(
    change: dict[str, object], message: str
) -> None:
    body = {**BY_CODE["1.001193"].model_dump(mode="json"), **change}
    with pytest.raises(ValidationError, match=message):
        Procedure.model_validate(body)
