"""Names of agencies and administrative levels: the one place to look them up.

The agency registry (QCVN 102 e-ID codes, names, levels, parents) is being
built in ``motcua.shared.domain.agencies``; until it is available reports show
the e-ID code as the name and take the level from each dossier's
``procedure_level``. Switching means changing :func:`agency_name` only.
"""

from __future__ import annotations

from motcua.shared.contracts.common import AgencyLevel

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
    """Display name of an agency (its e-ID code until the registry lands)."""
    return code or UNKNOWN


def level_name(level: str | None) -> str:
    return LEVEL_LABELS.get(level or "", UNKNOWN)
