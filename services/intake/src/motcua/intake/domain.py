"""Intake's domain vocabulary (pure): the desk's decision on a dossier and
how a decision refuses.

Decisions live in :mod:`motcua.intake.reception` (a dossier presented at the
desk: forms 01, 02, 03) and :mod:`motcua.intake.followups` (supplements,
withdrawal, routing's news); :mod:`motcua.intake.commands` writes what they
decide; the HTTP routes only parse, call and present.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from motcua.shared.contracts.common import DossierStatus
from motcua.shared.domain.status import TRANSITIONS, DossierAction


class Outcome(StrEnum):
    """The desk officer's decision on a dossier (forms 01, 02, 03)."""

    RECEIVED = "received"  # Mẫu 01: complete and valid, appointment given
    COMPLETION_REQUESTED = "completion_requested"  # Mẫu 02: what to complete
    REFUSED = "refused"  # Mẫu 03: not acceptable, with reasons

    @property
    def form(self) -> str:
        return {"received": "01", "completion_requested": "02", "refused": "03"}[
            self.value
        ]

    @property
    def action(self) -> DossierAction:
        """The act on the dossier's status the decision is (shared table)."""
        return {
            "received": DossierAction.ACCEPT,
            "completion_requested": DossierAction.REQUEST_COMPLETION,
            "refused": DossierAction.REFUSE,
        }[self.value]

    @property
    def status(self) -> DossierStatus:
        """The status a dossier starts in after this decision."""
        status = TRANSITIONS[self.action].creates
        assert status is not None  # (every desk decision creates a dossier)
        return status


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request, for the officer (Vietnamese)."""

    field: str
    message: str


class InvalidDossierError(ValueError):
    """A dossier that cannot be recorded as presented; nothing was written
    (HTTP 422 with every problem)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


class UnknownDossierError(LookupError):
    """No dossier with this code here (HTTP 404)."""

    def __init__(self, code: str) -> None:
        super().__init__(f"Không tìm thấy hồ sơ {code}.")
        self.code = code


class ActRefusedError(ValueError):
    """An act the dossier's state does not allow; nothing was written (HTTP
    409). ``code`` is for systems, the message (Vietnamese) for the officer."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
