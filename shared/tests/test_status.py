"""The national status codes' legal transitions (domain.md §1.2)."""

from __future__ import annotations

import itertools

import pytest

from motcua.shared.contracts.common import DossierStatus
from motcua.shared.domain.status import (
    FINAL_STATUSES,
    TRANSITIONS,
    DossierAction,
    IllegalTransitionError,
    apply,
    is_legal,
    is_paused,
    legal_targets,
)

S = DossierStatus

# 1→2 or 3; 2→4; 4→5→4 and 4→6→4; 4→8; any open →7; 4→9→10.
LEGAL = {
    (S.SUBMITTED, S.RECEIVED),
    (S.SUBMITTED, S.REFUSED),
    (S.RECEIVED, S.IN_PROGRESS),
    (S.IN_PROGRESS, S.AWAITING_SUPPLEMENT),
    (S.AWAITING_SUPPLEMENT, S.IN_PROGRESS),
    (S.IN_PROGRESS, S.AWAITING_FEE),
    (S.AWAITING_FEE, S.IN_PROGRESS),
    (S.IN_PROGRESS, S.STOPPED),
    (S.IN_PROGRESS, S.RESOLVED),
    (S.RESOLVED, S.RESULT_DELIVERED),
    *((s, S.WITHDRAWN) for s in S if s not in FINAL_STATUSES),
}


@pytest.mark.parametrize(("source", "target"), list(itertools.product(S, S)))
def test_exactly_the_legal_moves_are_legal(source: S, target: S) -> None:
    assert is_legal(source, target) == ((source, target) in LEGAL)


def test_final_statuses_lead_nowhere() -> None:
    assert {S.REFUSED, S.WITHDRAWN, S.STOPPED, S.RESULT_DELIVERED} == FINAL_STATUSES
    for status in FINAL_STATUSES:
        assert legal_targets(status) == frozenset()


def test_an_illegal_action_is_refused_naming_the_current_status() -> None:
    with pytest.raises(IllegalTransitionError) as refused:
        apply(S.RESOLVED, DossierAction.REQUEST_SUPPLEMENT)
    assert str(refused.value) == (
        "Không thể yêu cầu bổ sung hồ sơ vì hồ sơ đang ở trạng thái "
        "«Đã xử lý xong» (mã 9)."
    )
    assert refused.value.status is S.RESOLVED


@pytest.mark.parametrize("action", list(DossierAction))
def test_every_action_leads_to_one_status_from_its_sources(
    action: DossierAction,
) -> None:
    transition = TRANSITIONS[action]
    for source in transition.sources:
        assert apply(source, action) is transition.target


def test_only_supplement_and_fee_pause_the_clock() -> None:
    assert {s for s in S if is_paused(s)} == {S.AWAITING_SUPPLEMENT, S.AWAITING_FEE}
