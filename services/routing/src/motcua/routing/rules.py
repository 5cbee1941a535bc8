"""Which officer action is allowed when (pure).

:data:`OFFICER_ACTIONS` is the declarative table: for each act an officer
may perform, the state the open hand-off must be in. Whether the dossier's
status allows the act is the national table's answer
(:mod:`motcua.shared.domain.status`, shared with intake and reporting). Who may
act is the agency the open hand-off is at (:attr:`Dossier.holder`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from motcua.routing.domain import (
    Dossier,
    Handoff,
    HandoffState,
    IllegalActionError,
)
from motcua.shared.contracts.common import DossierStatus
from motcua.shared.domain.status import (
    TRANSITIONS,
    DossierAction,
    IllegalTransitionError,
    apply,
)

A = DossierAction
H = HandoffState
OFFICER_ACTIONS: Final[Mapping[DossierAction, HandoffState]] = MappingProxyType(
    {
        A.ACKNOWLEDGE: H.OFFERED,
        A.COMPLETE_STEP: H.ACKNOWLEDGED,
        A.RETURN: H.ACKNOWLEDGED,
        A.REQUEST_SUPPLEMENT: H.ACKNOWLEDGED,
        A.REQUEST_FEE: H.ACKNOWLEDGED,
        A.RECORD_FEE_PAYMENT: H.ACKNOWLEDGED,
        A.STOP_PROCESSING: H.ACKNOWLEDGED,
        A.RECORD_RESULT: H.ACKNOWLEDGED,
        A.DELIVER_RESULT: H.ACKNOWLEDGED,
        A.ISSUE_APOLOGY: H.ACKNOWLEDGED,
    }
)
"""Officer acts and the state the open hand-off must be in for each."""


def _status_text(status: DossierStatus) -> str:
    return f"«{status.label_vi}» (mã {int(status)})"


def check(dossier: Dossier, action: DossierAction) -> Handoff:
    """The open hand-off if ``action`` is allowed now; else IllegalActionError."""
    needed = OFFICER_ACTIONS[action]
    transition = TRANSITIONS[action]
    label = transition.label_vi
    if dossier.imported:
        raise IllegalActionError(
            "imported_history",
            f"Không thể {label}: hồ sơ được nhập từ hệ thống cũ, chỉ để tra cứu lịch sử.",
        )
    try:
        apply(dossier.status, action)
    except IllegalTransitionError as exc:
        # (acts that move no status answer ``illegal_status``, as they always have)
        code = "illegal_transition" if transition.changes_status else "illegal_status"
        raise IllegalActionError(code, str(exc)) from exc
    handoff = dossier.handoff
    if handoff is None or not handoff.is_open:
        raise IllegalActionError(
            "no_open_step",
            f"Không thể {label}: hồ sơ (trạng thái {_status_text(dossier.status)}) "
            "không còn ở bước xử lý nào.",
        )
    if handoff.state is not needed:
        if needed is HandoffState.ACKNOWLEDGED:
            raise IllegalActionError(
                "not_acknowledged",
                f"Không thể {label}: hồ sơ (trạng thái {_status_text(dossier.status)}) "
                "đã được chuyển đến nhưng cơ quan chưa tiếp nhận; hãy tiếp nhận trước.",
            )
        raise IllegalActionError(
            "already_acknowledged",
            f"Không thể {label}: hồ sơ (trạng thái {_status_text(dossier.status)}) "
            f"đã được tiếp nhận ở bước {handoff.step_no}.",
        )
    return handoff
