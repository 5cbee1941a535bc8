"""Legal moves between the national dossier status codes (pure).

The national status codes (``TrangThaiHoSo`` 1–10, :class:`DossierStatus`)
change only through the actions in :data:`TRANSITIONS`: a declarative table of
action → (statuses it may start from, status it leads to). Every service asks
this table before it changes a status, so intake, routing and reporting agree
on what is legal:

====================  =================  ======  ==============================
action                from               to      official meaning
====================  =================  ======  ==============================
accept                1                  2       tiếp nhận hồ sơ trực tuyến
refuse                1                  3       từ chối tiếp nhận (form 03)
start_processing      2                  4       chuyển xử lý
request_supplement    4                  5       yêu cầu bổ sung (clock paused)
receive_supplement    5                  4       nhận bổ sung (clock resumes)
request_fee           4                  6       yêu cầu nộp phí (clock paused)
record_fee_payment    6                  4       đã nộp phí (clock resumes)
stop_processing       4                  8       dừng xử lý
record_result         4                  9       đã xử lý xong
deliver_result        9                  10      đã trả kết quả
withdraw              any open status    7       công dân rút hồ sơ
====================  =================  ======  ==============================

"Overdue" is not a status: it is derived from the due time. Statuses 3, 7, 8
and 10 are final: nothing leaves them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from motcua.shared.contracts.common import DossierStatus

S = DossierStatus


class DossierAction(StrEnum):
    """What can happen to a dossier's status."""

    ACCEPT = "accept"
    REFUSE = "refuse"
    START_PROCESSING = "start_processing"
    REQUEST_SUPPLEMENT = "request_supplement"
    RECEIVE_SUPPLEMENT = "receive_supplement"
    REQUEST_FEE = "request_fee"
    RECORD_FEE_PAYMENT = "record_fee_payment"
    STOP_PROCESSING = "stop_processing"
    RECORD_RESULT = "record_result"
    DELIVER_RESULT = "deliver_result"
    WITHDRAW = "withdraw"


FINAL_STATUSES: Final = frozenset(
    {S.REFUSED, S.WITHDRAWN, S.STOPPED, S.RESULT_DELIVERED}
)
OPEN_STATUSES: Final = frozenset(DossierStatus) - FINAL_STATUSES
PAUSED_STATUSES: Final = frozenset({S.AWAITING_SUPPLEMENT, S.AWAITING_FEE})
"""The legal clock does not run in these statuses (the due time moves later)."""


@dataclass(frozen=True)
class Transition:
    sources: frozenset[DossierStatus]
    target: DossierStatus
    label_vi: str
    """The action in Vietnamese, used in refusals ("Không thể <label_vi> …")."""


def _t(sources: set[DossierStatus], target: DossierStatus, label: str) -> Transition:
    return Transition(frozenset(sources), target, label)


TRANSITIONS: Final[Mapping[DossierAction, Transition]] = MappingProxyType(
    {
        DossierAction.ACCEPT: _t({S.SUBMITTED}, S.RECEIVED, "tiếp nhận hồ sơ"),
        DossierAction.REFUSE: _t({S.SUBMITTED}, S.REFUSED, "từ chối tiếp nhận"),
        DossierAction.START_PROCESSING: _t(
            {S.RECEIVED}, S.IN_PROGRESS, "chuyển hồ sơ sang xử lý"
        ),
        DossierAction.REQUEST_SUPPLEMENT: _t(
            {S.IN_PROGRESS}, S.AWAITING_SUPPLEMENT, "yêu cầu bổ sung hồ sơ"
        ),
        DossierAction.RECEIVE_SUPPLEMENT: _t(
            {S.AWAITING_SUPPLEMENT}, S.IN_PROGRESS, "nhận hồ sơ bổ sung"
        ),
        DossierAction.REQUEST_FEE: _t(
            {S.IN_PROGRESS}, S.AWAITING_FEE, "yêu cầu thực hiện nghĩa vụ tài chính"
        ),
        DossierAction.RECORD_FEE_PAYMENT: _t(
            {S.AWAITING_FEE}, S.IN_PROGRESS, "ghi nhận đã nộp phí, lệ phí"
        ),
        DossierAction.STOP_PROCESSING: _t(
            {S.IN_PROGRESS}, S.STOPPED, "dừng xử lý hồ sơ"
        ),
        DossierAction.RECORD_RESULT: _t(
            {S.IN_PROGRESS}, S.RESOLVED, "ghi nhận kết quả giải quyết"
        ),
        DossierAction.DELIVER_RESULT: _t(
            {S.RESOLVED}, S.RESULT_DELIVERED, "xác nhận đã trả kết quả"
        ),
        DossierAction.WITHDRAW: _t(set(OPEN_STATUSES), S.WITHDRAWN, "rút hồ sơ"),
    }
)


class IllegalTransitionError(ValueError):
    """The action is not legal from the dossier's current status."""

    def __init__(self, status: DossierStatus, action: DossierAction) -> None:
        self.status = status
        self.action = action
        label = TRANSITIONS[action].label_vi
        super().__init__(
            f"Không thể {label} vì hồ sơ đang ở trạng thái "
            f"«{status.label_vi}» (mã {int(status)})."
        )


def can(status: DossierStatus, action: DossierAction) -> bool:
    return status in TRANSITIONS[action].sources


def apply(status: DossierStatus, action: DossierAction) -> DossierStatus:
    """The status after ``action``; raises :class:`IllegalTransitionError`."""
    if not can(status, action):
        raise IllegalTransitionError(status, action)
    return TRANSITIONS[action].target


def legal_targets(status: DossierStatus) -> frozenset[DossierStatus]:
    """Every status reachable from ``status`` in one legal move."""
    return frozenset(t.target for t in TRANSITIONS.values() if status in t.sources)


def is_legal(source: DossierStatus, target: DossierStatus) -> bool:
    return target in legal_targets(source)


def is_final(status: DossierStatus) -> bool:
    return status in FINAL_STATUSES


def is_paused(status: DossierStatus) -> bool:
    return status in PAUSED_STATUSES
