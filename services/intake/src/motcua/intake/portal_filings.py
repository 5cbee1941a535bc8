"""A filing from the national portal (pure): accepted as an online dossier
under the portal's code, recognised as one already accepted, or refused with
a reason the portal can show the citizen.

The reception itself is the desk's decision (:func:`decide_reception`) on
the filing as an online dossier; this module adds what only a filing has: the
code it keeps (ADR 0015), the check that the receiving agency is competent
for the procedure, idempotence on the code (a digest of the filing), and
refusals with one machine code each.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from motcua.intake.catalogue import Catalogue, Procedure
from motcua.intake.domain import ActRefusedError, InvalidDossierError, Problem
from motcua.intake.reception import Reception, decide_reception
from motcua.intake.schemas import PortalFilingIn
from motcua.shared.contracts.common import FiledBy
from motcua.shared.domain.agencies import Agency, AgencyRegistry
from motcua.shared.domain.calendar import WorkCalendar

PORTAL_DETAILS = "portal"
"""The key under which a dossier's details keep what the portal sent."""

# A refusal's machine code, from the first field (in this order) with a
# problem; the portal shows the Vietnamese message.
REFUSAL_CODES: tuple[tuple[str, str, str], ...] = (
    (
        "procedure_code",
        "procedure_unknown",
        "Thủ tục không có trong danh mục thủ tục hành chính của tỉnh.",
    ),
    (
        "receiving_agency_code",
        "agency_not_competent",
        "Cơ quan tiếp nhận không có thẩm quyền tiếp nhận hồ sơ của thủ tục này.",
    ),
    (
        "applicant.id_number",
        "applicant_id_invalid",
        "Số định danh (hoặc mã số thuế) của chủ hồ sơ không hợp lệ.",
    ),
)
NOT_ONLINE = (
    "channel",
    "procedure_not_online",
    "Thủ tục này không tiếp nhận hồ sơ trực tuyến.",
)
"""Only the catalogue's answer: a filing that names another channel is
malformed, not a procedure without online filing."""
INVALID_FILING = ("filing_invalid", "Hồ sơ nộp trực tuyến chưa hợp lệ.")


class FilingRefusedError(ValueError):
    """A filing intake does not accept; nothing was written (HTTP 422).
    ``code`` is for the portal service, ``message`` (Vietnamese) for the
    citizen, ``problems`` name every bad field."""

    def __init__(self, code: str, message: str, problems: list[Problem]) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.problems = problems


def refusal(problems: list[Problem], *, malformed: bool = False) -> FilingRefusedError:
    """The refusal of a filing with these problems (at least one);
    ``malformed``: found in the request's shape, before any decision."""
    fields = {p.field for p in problems}
    reasons = REFUSAL_CODES if malformed else (*REFUSAL_CODES, NOT_ONLINE)
    for field, code, message in reasons:
        if field in fields:
            return FilingRefusedError(code, message, problems)
    return FilingRefusedError(*INVALID_FILING, problems)


def filing_digest(filing: PortalFilingIn) -> str:
    """What makes a filing the same filing again (every field, normalised)."""
    return hashlib.sha256(filing.model_dump_json().encode()).hexdigest()


@dataclass(frozen=True)
class FilingAccepted:
    """A new online dossier under the portal's code."""

    code: str
    reception: Reception


@dataclass(frozen=True)
class FilingKnown:
    """This very filing was accepted before: nothing to write."""

    code: str


def decide_filing(
    filing: PortalFilingIn,
    *,
    held: Mapping[str, Any] | None,
    procedure: Procedure | None,
    version: int,
    registry: AgencyRegistry,
    catalogue: Catalogue,
    calendar: WorkCalendar,
    received_at: datetime,
    officer: str,
) -> FilingAccepted | FilingKnown:
    """Intake's answer to ``filing``. ``held``: the details of the dossier
    that already holds the filing's code, if one does. Raises
    :class:`ActRefusedError` (``dossier_code_taken``) when that dossier is
    not this filing, :class:`FilingRefusedError` when the filing cannot be
    received."""
    digest = filing_digest(filing)
    if held is not None:
        if (held.get(PORTAL_DETAILS) or {}).get("digest") == digest:
            return FilingKnown(filing.dossier_code)
        raise ActRefusedError(
            "dossier_code_taken",
            f"Mã hồ sơ {filing.dossier_code} đã được dùng cho một hồ sơ khác.",
        )
    agency = registry.find(filing.receiving_agency_code)
    try:
        reception = decide_reception(
            filing.as_dossier(),
            procedure=procedure,
            version=version,
            agency=agency,
            catalogue=catalogue,
            calendar=calendar,
            received_at=received_at,
            filed_by=FiledBy.ONLINE_PORTAL,
            officer=officer,
        )
    except InvalidDossierError as exc:
        raise refusal(exc.problems) from exc
    assert agency is not None  # (decide_reception refuses an unknown agency)
    problem = competence_problem(reception.procedure, agency, registry, received_at)
    if problem is not None:
        raise refusal([problem])
    details = {
        **reception.details,
        PORTAL_DETAILS: {
            "submitted_at": filing.submitted_at.isoformat(),
            "digest": digest,
        },
    }
    return FilingAccepted(
        filing.dossier_code, dataclasses.replace(reception, details=details)
    )


def competence_problem(
    procedure: Procedure, agency: Agency, registry: AgencyRegistry, on: datetime
) -> Problem | None:
    """Whether the agency can receive the procedure's dossiers: an agency
    competent for it, of the procedure's level, is found from there (as
    routing will look for it). A desk officer judges this at the counter; a
    filing chose its agency on the portal, and an agency that cannot route it
    must say so rather than leave it in the dispatch queue."""
    found = registry.resolve(
        procedure.competent_agency_type, near=agency.code, on=on.date()
    )
    if found is not None and found.level == procedure.level:
        return None
    return Problem(
        "receiving_agency_code",
        f"{agency.name} không tiếp nhận được thủ tục {procedure.code} "
        f"(thủ tục cấp {_LEVEL_VI.get(procedure.level.value, procedure.level.value)}"
        "): không có cơ quan có thẩm quyền giải quyết trong phạm vi của nơi này.",
    )


_LEVEL_VI = {
    "central": "trung ương",
    "province": "tỉnh",
    "district": "huyện",
    "commune": "xã",
}
