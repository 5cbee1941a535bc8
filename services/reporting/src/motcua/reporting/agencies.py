"""Names of agencies and administrative levels: the one place to look them up.

Names come from the shared agency registry (QCVN 102 e-ID codes,
``motcua.shared.domain.agencies``); a code the registry does not know is shown
as it is. Report levels are the procedures' levels as the events carry them
(``procedure_level``), so a province-level procedure received at a commune
desk is counted at province level, as Biểu 06 groups them.
"""

from __future__ import annotations

from motcua.shared.contracts.common import AgencyLevel
from motcua.shared.domain.agencies import load_registry

LEVEL_LABELS: dict[str, str] = {
    AgencyLevel.CENTRAL.value: "Cấp trung ương",
    AgencyLevel.PROVINCE.value: "Cấp tỉnh",
    AgencyLevel.DISTRICT.value: "Cấp huyện (trước 1/7/2025)",
    AgencyLevel.COMMUNE.value: "Cấp xã",
}
LEVEL_ORDER = {level: i for i, level in enumerate(LEVEL_LABELS)}
"""The form lists levels from the top down."""

UNKNOWN = "Chưa xác định"


def agency_name(code: str | None) -> str:
    """Display name of an agency (its e-ID code if the registry lacks it)."""
    if not code:
        return UNKNOWN
    agency = load_registry().find(code)
    return agency.name if agency is not None else code


def level_name(level: str | None) -> str:
    return LEVEL_LABELS.get(level or "", UNKNOWN)
