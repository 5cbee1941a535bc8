"""The national status codes' legal transitions (domain.md §1.2), and the act
each dossier event announces."""

from __future__ import annotations

import itertools

import pytest

from motcua.shared.contracts import EventData, registered_event_types
from motcua.shared.contracts.common import DossierStatus
from motcua.shared.contracts.envelope import UnknownEventData
from motcua.shared.contracts.topics import DOSSIER_EVENTS
from motcua.shared.domain.status import (
    EVENT_ACTIONS,
    FINAL_STATUSES,
    OPEN_STATUSES,
    TRANSITIONS,
    DossierAction,
    IllegalTransitionError,
    action_of,
    apply,
    can,
    is_legal,
    is_paused,
    legal_targets,
    status_after_event,
)

S = DossierStatus
A = DossierAction

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
        assert [a for a in A if can(status, a) and TRANSITIONS[a].changes_status] == []


def test_a_stopped_dossier_cannot_be_withdrawn() -> None:
    assert not can(S.STOPPED, A.WITHDRAW)
    with pytest.raises(IllegalTransitionError) as refused:
        apply(S.STOPPED, A.WITHDRAW)
    assert str(refused.value) == (
        "Không thể rút hồ sơ vì hồ sơ đang ở trạng thái «Dừng xử lý» (mã 8)."
    )
    assert {s for s in S if can(s, A.WITHDRAW)} == OPEN_STATUSES


def test_an_illegal_action_is_refused_naming_the_current_status() -> None:
    with pytest.raises(IllegalTransitionError) as refused:
        apply(S.RESOLVED, A.REQUEST_SUPPLEMENT)
    assert str(refused.value) == (
        "Không thể yêu cầu bổ sung hồ sơ vì hồ sơ đang ở trạng thái "
        "«Đã xử lý xong» (mã 9)."
    )
    assert refused.value.status is S.RESOLVED


@pytest.mark.parametrize("action", list(A))
def test_every_action_leads_from_each_source_to_its_listed_status(
    action: DossierAction,
) -> None:
    transition = TRANSITIONS[action]
    assert transition.sources or transition.creates is not None
    for status in S:
        if status in transition.sources:
            assert apply(status, action) is transition.moves[status]
        else:
            assert not can(status, action)
            with pytest.raises(IllegalTransitionError):
                apply(status, action)


def test_only_supplement_and_fee_pause_the_clock() -> None:
    assert {s for s in S if is_paused(s)} == {S.AWAITING_SUPPLEMENT, S.AWAITING_FEE}


# -- events ---------------------------------------------------------------------------


def _dossier_event_types() -> dict[str, type[EventData]]:
    return {
        event_type: model
        for (event_type, _), model in registered_event_types().items()
        if model.TOPIC == DOSSIER_EVENTS and model is not UnknownEventData
    }


def test_every_dossier_event_type_announces_one_act() -> None:
    assert set(EVENT_ACTIONS) == set(_dossier_event_types())
    assert action_of("notification.sent") is None
    assert action_of("dossier.unknown_future_event") is None


def test_the_status_an_event_carries_is_the_one_its_act_leads_to() -> None:
    """Contracts declare the status on the wire; the table must agree."""
    for event_type, model in _dossier_event_types().items():
        field = model.model_fields.get("status")
        if field is None:
            continue
        transition = TRANSITIONS[EVENT_ACTIONS[event_type]]
        assert field.default in transition.targets | {transition.creates}, event_type


@pytest.mark.parametrize(
    ("holding", "event_type", "expected"),
    [
        (None, "dossier.received", S.RECEIVED),  # the first event of a dossier
        (None, "dossier.handoff_offered", None),  # routing before intake: unknown
        (S.SUBMITTED, "dossier.received", S.RECEIVED),
        (S.RECEIVED, "dossier.handoff_offered", S.IN_PROGRESS),
        (S.IN_PROGRESS, "dossier.handoff_offered", S.IN_PROGRESS),
        (S.RESOLVED, "dossier.handoff_offered", S.RESOLVED),  # back to the desk
        (S.AWAITING_SUPPLEMENT, "dossier.handoff_offered", None),  # not during a pause
        (S.IN_PROGRESS, "dossier.supplement_requested", S.AWAITING_SUPPLEMENT),
        # the desk took the supplement; routing's resumption is an echo
        (S.IN_PROGRESS, "dossier.processing_resumed", S.IN_PROGRESS),
        (S.AWAITING_FEE, "dossier.processing_resumed", S.IN_PROGRESS),
        (S.IN_PROGRESS, "dossier.apology_issued", S.IN_PROGRESS),
        (S.RESOLVED, "dossier.apology_issued", None),
        (S.RESOLVED, "dossier.result_delivered", S.RESULT_DELIVERED),
        (S.RECEIVED, "dossier.result_delivered", None),  # skips the result
        (S.STOPPED, "dossier.withdrawn", None),
        (S.STOPPED, "dossier.result_recorded", None),
        (S.WITHDRAWN, "dossier.withdrawn", S.WITHDRAWN),  # told twice
        (S.RESULT_DELIVERED, "dossier.rated", S.RESULT_DELIVERED),
        (S.IN_PROGRESS, "dossier.rated", None),
        (S.IN_PROGRESS, "notification.delivered", None),
    ],
)
def test_what_a_follower_records(
    holding: DossierStatus | None, event_type: str, expected: DossierStatus | None
) -> None:
    assert status_after_event(holding, event_type) is expected


def test_a_follower_that_skips_acts_accepts_what_they_make_possible() -> None:
    """Notification reads no hand-over: a result recorded for a dossier it
    holds at 2 was possible (the hand-over it did not see made it 4); a result
    delivered was not (nothing it skips records a result)."""
    from motcua.shared.domain.status import (
        DossierAction,
        DossierStatus,
        status_after_event_seen,
    )

    unseen = {DossierAction.START_PROCESSING, DossierAction.HAND_OVER}
    received = DossierStatus.RECEIVED
    recorded = status_after_event_seen(
        received, "dossier.result_recorded", unseen=unseen
    )
    assert recorded is DossierStatus.RESOLVED
    assert (
        status_after_event_seen(received, "dossier.result_delivered", unseen=unseen)
        is None
    )
    assert status_after_event_seen(received, "dossier.result_recorded") is None
    withdrawn = DossierStatus.WITHDRAWN
    assert (
        status_after_event_seen(withdrawn, "dossier.result_recorded", unseen=unseen)
        is None
    )
