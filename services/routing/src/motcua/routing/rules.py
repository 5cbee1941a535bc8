"""Which officer action is allowed when (pure).

:data:`ACTION_RULES` is the declarative table: for each action, the state the
open hand-off must be in, and either the national status move it makes
(checked against :mod:`motcua.shared.domain.status`) or the statuses it may
happen in. Who may act is the agency the open hand-off is at
(:attr:`Dossier.holder`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
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
    DossierAction,
    IllegalTransitionError,
    apply,
)

S = DossierStatus


# -- officer actions and what they require ------------------------------------------


class OfficerAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    COMPLETE_STEP = "complete_step"
    RETURN = "return"
    REQUEST_SUPPLEMENT = "request_supplement"
    REQUEST_FEE = "request_fee"
    RECORD_FEE_PAYMENT = "record_fee_payment"
    STOP = "stop"
    RECORD_RESULT = "record_result"
    CONFIRM_DELIVERY = "confirm_delivery"
    ISSUE_APOLOGY = "issue_apology"


@dataclass(frozen=True)
class ActionRule:
    """The open hand-off must be in ``handoff_state``; the status must allow
    ``status_action`` (through the national table) or be one of ``statuses``."""

    handoff_state: HandoffState
    label_vi: str
    status_action: DossierAction | None = None
    statuses: frozenset[DossierStatus] = field(default_factory=frozenset)


_MOVING: Final = frozenset({S.IN_PROGRESS, S.RESOLVED})
"""A dossier travels between agencies while processed and when its result
goes back to the desk for return."""

A = OfficerAction
H = HandoffState
ACTION_RULES: Final[Mapping[OfficerAction, ActionRule]] = MappingProxyType(
    {
        A.ACKNOWLEDGE: ActionRule(
            H.OFFERED, "tiếp nhận hồ sơ được chuyển đến", statuses=_MOVING
        ),
        A.COMPLETE_STEP: ActionRule(
            H.ACKNOWLEDGED, "hoàn thành bước xử lý và chuyển tiếp", statuses=_MOVING
        ),
        A.RETURN: ActionRule(
            H.ACKNOWLEDGED, "trả hồ sơ về cơ quan trước", statuses=_MOVING
        ),
        A.REQUEST_SUPPLEMENT: ActionRule(
            H.ACKNOWLEDGED,
            "yêu cầu bổ sung hồ sơ",
            status_action=DossierAction.REQUEST_SUPPLEMENT,
        ),
        A.REQUEST_FEE: ActionRule(
            H.ACKNOWLEDGED,
            "yêu cầu thực hiện nghĩa vụ tài chính",
            status_action=DossierAction.REQUEST_FEE,
        ),
        A.RECORD_FEE_PAYMENT: ActionRule(
            H.ACKNOWLEDGED,
            "ghi nhận đã nộp phí, lệ phí",
            status_action=DossierAction.RECORD_FEE_PAYMENT,
        ),
        A.STOP: ActionRule(
            H.ACKNOWLEDGED,
            "dừng xử lý hồ sơ",
            status_action=DossierAction.STOP_PROCESSING,
        ),
        A.RECORD_RESULT: ActionRule(
            H.ACKNOWLEDGED,
            "ghi nhận kết quả giải quyết",
            status_action=DossierAction.RECORD_RESULT,
        ),
        A.CONFIRM_DELIVERY: ActionRule(
            H.ACKNOWLEDGED,
            "xác nhận đã trả kết quả",
            status_action=DossierAction.DELIVER_RESULT,
        ),
        A.ISSUE_APOLOGY: ActionRule(
            H.ACKNOWLEDGED,
            "gửi thư xin lỗi và hẹn lại ngày trả kết quả",
            statuses=frozenset({S.IN_PROGRESS, S.AWAITING_SUPPLEMENT, S.AWAITING_FEE}),
        ),
    }
)


def _status_text(status: DossierStatus) -> str:
    return f"«{status.label_vi}» (mã {int(status)})"


def check(dossier: Dossier, action: OfficerAction) -> Handoff:
    """The open hand-off if ``action`` is allowed now; else IllegalActionError."""
    rule = ACTION_RULES[action]
    label = rule.label_vi
    if dossier.imported:
        raise IllegalActionError(
            "imported_history",
            f"Không thể {label}: hồ sơ được nhập từ hệ thống cũ, chỉ để tra cứu lịch sử.",
        )
    if rule.status_action is not None:
        try:
            apply(dossier.status, rule.status_action)
        except IllegalTransitionError as exc:
            raise IllegalActionError("illegal_transition", str(exc)) from exc
    elif dossier.status not in rule.statuses:
        raise IllegalActionError(
            "illegal_status",
            f"Không thể {label} vì hồ sơ đang ở trạng thái {_status_text(dossier.status)}.",
        )
    handoff = dossier.handoff
    if handoff is None or not handoff.is_open:
        raise IllegalActionError(
            "no_open_step",
            f"Không thể {label}: hồ sơ (trạng thái {_status_text(dossier.status)}) "
            "không còn ở bước xử lý nào.",
        )
    if handoff.state is not rule.handoff_state:
        if rule.handoff_state is HandoffState.ACKNOWLEDGED:
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
