"""Who may sign which act on a dossier (pure): the entitlement table.

Every event that changes a dossier's legal state is signed by the agency that
acted (ADR 0012). Which agency that must be follows from the dossier's
*custody*, folded from its earlier signed events: the desk that received it,
the agency a hand-off is offered to, the agency holding it. :data:`RULES`
maps each act of the shared act table (:data:`~motcua.shared.domain.status.
EVENT_ACTIONS` says which act an event type announces) to the party entitled
to sign it; producers ask
:func:`expected_signer` which key to sign with, consumers refuse an event
whose signer is not the one this table names (``signer_not_entitled``).

====================================  ====================================
event                                 signed by
====================================  ====================================
submitted (national portal filing)    the province (its portal connector)
received, refused, completion req.    the receiving desk named in the event
routed, dispatch queued               the receiving desk
supplement received, withdrawn        the receiving desk (at intake)
hand-off offered                      the agency handing over (the desk for
                                      the first step)
hand-off acknowledged                 the agency it was offered to
step completed, returned, supplement  the agency holding the dossier
/ fee requested, fee paid, resumed,
stopped, result recorded, apology
result delivered                      the holder (or, by post, the agency
                                      the return step is at)
nearly due, overdue, escalated        the province (the system observed it)
legacy sealed                         the province
====================================  ====================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from motcua.shared.domain.status import EVENT_ACTIONS, DossierAction, action_of


class Party(StrEnum):
    """Who, in terms of the dossier's custody, signs an act."""

    NAMED_DESK = "named_desk"
    """The ``receiving_agency_code`` the creating event names."""
    DESK = "desk"
    OFFERING = "offering"
    OFFEREE = "offeree"
    HOLDER = "holder"
    DELIVERER = "deliverer"
    PROVINCE = "province"


P = Party
A = DossierAction
RULES: Final[Mapping[DossierAction, Party]] = MappingProxyType(
    {
        A.SUBMIT: P.PROVINCE,
        A.ACCEPT: P.NAMED_DESK,
        A.REFUSE: P.NAMED_DESK,
        A.REQUEST_COMPLETION: P.NAMED_DESK,
        A.START_PROCESSING: P.DESK,
        A.QUEUE_FOR_DISPATCH: P.DESK,
        A.RECEIVE_SUPPLEMENT: P.DESK,
        A.WITHDRAW: P.DESK,
        A.HAND_OVER: P.OFFERING,
        A.ACKNOWLEDGE: P.OFFEREE,
        A.COMPLETE_STEP: P.HOLDER,
        A.RETURN: P.HOLDER,
        A.REQUEST_SUPPLEMENT: P.HOLDER,
        A.REQUEST_FEE: P.HOLDER,
        A.RECORD_FEE_PAYMENT: P.HOLDER,
        A.RESUME_PROCESSING: P.HOLDER,
        A.STOP_PROCESSING: P.HOLDER,
        A.RECORD_RESULT: P.HOLDER,
        A.ISSUE_APOLOGY: P.HOLDER,
        A.DELIVER_RESULT: P.DELIVERER,
        A.RAISE_ALARM: P.PROVINCE,
        A.ESCALATE: P.PROVINCE,
        A.SEAL_LEGACY: P.PROVINCE,
    }
)
"""Who signs each act of the shared act table (:mod:`.status`). A citizen's
rating (``rate``) is not an act of an agency and is not signed."""


def party_of(event_type: str) -> Party | None:
    action = action_of(event_type)
    return RULES.get(action) if action is not None else None


CHAINED_EVENT_TYPES: Final = frozenset(t for t in EVENT_ACTIONS if party_of(t))
"""Every event of a dossier's legal history: signed, chained, checked."""

CREATION_EVENT_TYPES: Final = frozenset(
    t
    for t, a in EVENT_ACTIONS.items()
    if a in (A.SUBMIT, A.ACCEPT, A.REFUSE, A.REQUEST_COMPLETION)
)


@dataclass(frozen=True)
class Custody:
    """Who has the dossier, as its signed history says."""

    receiving: str | None = None
    offered_to: str | None = None
    holder: str | None = None
    last_holder: str | None = None
    step_no: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "receiving": self.receiving,
            "offered_to": self.offered_to,
            "holder": self.holder,
            "last_holder": self.last_holder,
            "step_no": self.step_no,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> Custody:
        if not value:
            return cls()
        return cls(
            receiving=value.get("receiving"),
            offered_to=value.get("offered_to"),
            holder=value.get("holder"),
            last_holder=value.get("last_holder"),
            step_no=value.get("step_no"),
        )


def _get(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    return str(value) if value is not None else None


def expected_signer(
    custody: Custody, event_type: str, data: Mapping[str, Any], province: str
) -> str | None:
    """The e-ID of the agency entitled to sign this act now; None: nobody (the
    act is impossible in this custody, e.g. an acknowledgement with no offer)."""
    party = party_of(event_type)
    match party:
        case None:
            return None
        case P.PROVINCE:
            return province
        case P.NAMED_DESK:
            return _get(data, "receiving_agency_code")
        case P.DESK:
            return custody.receiving
        case P.OFFERING:
            sender = _get(data, "from_agency_code")
            if sender is None:  # the first step is offered by the desk's reception
                return custody.receiving if custody.last_holder is None else None
            return sender if sender == custody.last_holder else None
        case P.OFFEREE:
            offered = custody.offered_to
            return offered if offered == _get(data, "to_agency_code") else None
        case P.HOLDER:
            return custody.holder
        case P.DELIVERER:
            return custody.holder or custody.offered_to or custody.last_holder
    return None


def fold(custody: Custody, event_type: str, data: Mapping[str, Any]) -> Custody:
    """Custody after an accepted act."""
    match event_type:
        case _ if event_type in CREATION_EVENT_TYPES:
            return replace(custody, receiving=_get(data, "receiving_agency_code"))
        case "dossier.handoff_offered":
            return replace(
                custody,
                offered_to=_get(data, "to_agency_code"),
                holder=None,
                step_no=data.get("step_no"),
            )
        case "dossier.handoff_acknowledged":
            return replace(custody, holder=custody.offered_to, offered_to=None)
        case "dossier.step_completed" | "dossier.handoff_returned":
            return replace(custody, last_holder=custody.holder, holder=None)
    return custody
