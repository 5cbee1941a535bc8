"""The agency registry and the demo province."""

from __future__ import annotations

from datetime import date

import pytest

from motcua.shared.contracts.common import AgencyLevel
from motcua.shared.domain.agencies import (
    Agency,
    AgencyRegistry,
    UnknownAgencyError,
    is_valid_code,
    load_registry,
)

REG = load_registry()
TODAY = date(2026, 3, 2)
BEFORE = date(2024, 10, 1)


def test_demo_province_has_both_hierarchies() -> None:
    levels_now = {a.level for a in REG.active(TODAY)}
    levels_before = {a.level for a in REG.active(BEFORE)}
    assert AgencyLevel.DISTRICT not in levels_now
    assert {
        AgencyLevel.COMMUNE,
        AgencyLevel.DISTRICT,
        AgencyLevel.PROVINCE,
    } <= levels_before
    assert REG.get("000.00.12.H14").name.startswith("Trung tâm Phục vụ hành chính công")


def test_every_code_is_a_qcvn_102_identifier() -> None:
    assert all(is_valid_code(a.code) for a in REG)
    assert not is_valid_code("H14-000")


@pytest.mark.parametrize(
    ("agency_type", "near", "on", "expected"),
    [
        # a commune-level matter filed at the commune's centre stays in the commune
        ("peoples_committee", "000.01.31.H14", TODAY, "000.00.31.H14"),
        ("police", "000.01.33.H14", TODAY, "000.02.33.H14"),
        # province departments are found from any commune of the province
        ("justice", "000.01.34.H14", TODAY, "000.00.05.H14"),
        ("social_security", "000.01.35.H14", TODAY, "000.00.21.H14"),
        ("land_registry", "000.01.32.H14", TODAY, "000.07.07.H14"),
        # before 1/7/2025 a commune's land matters went to the district
        ("land_registry", "000.51.41.H14", BEFORE, "000.17.41.H14"),
        ("justice", "000.54.42.H14", BEFORE, "000.05.42.H14"),
        ("one_stop_centre", "000.07.41.H14", BEFORE, "000.01.41.H14"),
        # a legacy code used today is followed to its successor
        ("peoples_committee", "000.51.41.H14", TODAY, "000.00.33.H14"),
    ],
)
def test_resolving_by_competence(
    agency_type: str, near: str, on: date, expected: str
) -> None:
    found = REG.resolve(agency_type, near=near, on=on)
    assert found is not None
    assert found.code == expected


def test_no_agency_of_an_unknown_type() -> None:
    assert REG.resolve("space_agency", near="000.01.31.H14", on=TODAY) is None


def test_unknown_codes_raise_with_a_vietnamese_message() -> None:
    with pytest.raises(UnknownAgencyError, match="Không tìm thấy cơ quan"):
        REG.get("999.99.99.Z99")
    assert REG.find("999.99.99.Z99") is None


def test_broken_data_is_refused() -> None:
    good = Agency("000.00.00.H01", "A", AgencyLevel.PROVINCE, frozenset())
    with pytest.raises(ValueError, match="twice"):
        AgencyRegistry([good, good])
    with pytest.raises(ValueError, match="unknown agency"):
        AgencyRegistry(
            [
                Agency(
                    "000.00.01.H01",
                    "B",
                    AgencyLevel.PROVINCE,
                    frozenset(),
                    parent_code="000.00.09.H01",
                )
            ]
        )
