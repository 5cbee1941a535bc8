"""Folding a dossier's events into the facts the reports read (pure)."""

from __future__ import annotations

from datetime import datetime

import pytest
from reporting_support import Dossier, days, reporting_access

from motcua.reporting.facts import (
    CreationRepeatedError,
    DossierFacts,
    apply_event,
    schedule_at,
)
from motcua.reporting.lookup import id_matches
from motcua.reporting.periods import OPEN_DAY, day_number
from motcua.reporting.projections import fold as fold_event
from motcua.shared.contracts import VN_TZ, new_event
from motcua.shared.contracts.common import Channel, DossierStatus
from motcua.shared.contracts.dossier import DossierSubmittedV1
from motcua.shared.messaging import EventRefused
from motcua.shared.personal_data import PersonalDataAccess, PersonalDataKeys

AGENCY = "000.00.31.H56"
T0 = datetime(2025, 1, 6, 9, 0, tzinfo=VN_TZ)
ACCESS = reporting_access()


def fold(*events) -> tuple[DossierFacts, list]:
    facts = DossierFacts(events[0].dossier_code)
    extras = []
    for event in events:
        out = fold_event(facts, event, ACCESS)
        facts = out.facts
        extras.append(out)
    return facts, extras


def test_received_then_resolved_early_by_dates() -> None:
    d = Dossier("X-1", AGENCY)
    facts, _ = fold(
        d.received(T0, T0 + days(5)),
        d.routed(T0, "000.00.99.H56"),
        d.offered(T0),
        d.resolved(T0 + days(2), T0 + days(5)),
        d.delivered(T0 + days(3)),
    )
    assert facts.status == DossierStatus.RESULT_DELIVERED
    assert facts.agency_code == "000.00.99.H56"
    assert facts.timeliness == "early"
    assert facts.closed_at == T0 + days(2)  # resolution, not delivery, closes it
    assert facts.processing_hours == 48.0
    assert facts.day_columns()["open_until_day"] == day_number(T0 + days(2))


def test_the_id_number_is_kept_only_as_a_keyed_hash() -> None:
    d = Dossier("X-2", AGENCY)
    facts, _ = fold(d.received(T0, None, id_number="001203004567"))
    assert facts.id_hash is not None
    assert "001203004567" not in facts.id_hash
    assert id_matches(facts.id_hash, " 0012 0300 4567 ", ACCESS.lookup_digest)
    assert not id_matches(facts.id_hash, "001203004568", ACCESS.lookup_digest)
    other_key = PersonalDataAccess("reporting", PersonalDataKeys.generate())
    assert not id_matches(facts.id_hash, "001203004567", other_key.lookup_digest)


def test_supplement_pauses_and_resume_moves_the_appointment() -> None:
    d = Dossier("X-3", AGENCY)
    facts, outs = fold(
        d.received(T0, T0 + days(5)),
        d.supplement_requested(T0 + days(1)),
        d.resumed(T0 + days(4), T0 + days(8)),
    )
    assert outs[1].facts.paused
    assert outs[1].facts.status == DossierStatus.AWAITING_SUPPLEMENT
    assert [o.value for o, _ in outs[1].occurrences] == ["supplement"]
    assert not facts.paused
    assert facts.due_at == T0 + days(8)
    assert facts.initial_due_at == T0 + days(5)
    changes = [o.change for o in outs if o.change]
    # As of the evening of day 2 the dossier was paused; after day 4 it runs again.
    assert schedule_at(facts.initial_due_at, changes, day_number(T0 + days(2))) == (
        day_number(T0 + days(5)),
        True,
    )
    assert schedule_at(facts.initial_due_at, changes, day_number(T0)) == (
        day_number(T0 + days(5)),
        False,
    )
    assert schedule_at(facts.initial_due_at, changes, day_number(T0 + days(9))) == (
        day_number(T0 + days(8)),
        False,
    )


def test_withdrawal_closes_an_open_dossier() -> None:
    d = Dossier("X-4", AGENCY)
    facts, outs = fold(d.received(T0, T0 + days(5)), d.withdrawn(T0 + days(1)))
    assert facts.closure == "withdrawn"
    assert facts.status == DossierStatus.WITHDRAWN
    assert [o.value for o, _ in outs[1].occurrences] == ["withdrawal"]


def test_refusal_is_never_received_but_is_counted() -> None:
    d = Dossier("X-5", AGENCY)
    facts, outs = fold(d.refused(T0))
    assert facts.status == DossierStatus.REFUSED
    assert facts.received_at is None
    assert facts.day_columns()["open_until_day"] == OPEN_DAY
    assert [o.value for o, _ in outs[0].occurrences] == ["refusal"]


def test_an_act_impossible_from_the_status_is_refused_and_reopens_nothing() -> None:
    d = Dossier("X-6", AGENCY)
    facts, _ = fold(
        d.received(T0, T0 + days(5)),
        d.offered(T0),
        d.resolved(T0 + days(6), T0 + days(5)),
    )
    with pytest.raises(EventRefused) as refused:
        fold_event(facts, d.supplement_requested(T0 + days(7)), ACCESS)
    assert refused.value.reason == "illegal_transition"
    assert facts.closure == "resolved"
    assert facts.timeliness == "late"
    assert not facts.paused
    assert facts.status == DossierStatus.RESOLVED
    received = Dossier("X-8", AGENCY)
    facts, _ = fold(received.received(T0, T0 + days(5)))
    with pytest.raises(EventRefused) as refused:  # status 2 → 10: never
        fold_event(facts, received.delivered(T0 + days(1)), ACCESS)
    assert refused.value.reason == "illegal_transition"
    with pytest.raises(EventRefused) as refused:
        fold_event(facts, received.received(T0, T0 + days(5)), ACCESS)
    assert refused.value.reason == "duplicate_creation"


def test_imported_history_keeps_business_time() -> None:
    d = Dossier("X-7", AGENCY, imported=True)
    old = datetime(2023, 2, 1, 8, 0, tzinfo=VN_TZ)
    facts, _ = fold(d.received(old, old + days(3)))
    assert facts.imported
    assert facts.day_columns()["received_day"] == day_number(old)


@pytest.mark.parametrize("held", [0, *DossierStatus])
@pytest.mark.parametrize("kind", ["submitted", "received", "refused", "offered"])
def test_the_status_follows_the_shared_table_as_the_fold_always_did(
    held: int, kind: str
) -> None:
    """Issue 11 moved these status rules to the shared table; each of them
    still gives what the fold's own status lists gave, from every status
    (0: not seen yet)."""
    d = Dossier("X-9", AGENCY)
    event = {
        "submitted": lambda: new_event(
            DossierSubmittedV1(
                procedure_code="1.001193",
                receiving_agency_code=AGENCY,
                channel=Channel.ONLINE,
            ),
            dossier_code="X-9",
            producer="intake",
            occurred_at=T0,
        ),
        "received": lambda: d.received(T0, T0 + days(5)),
        "refused": lambda: d.refused(T0),
        "offered": lambda: d.offered(T0),
    }[kind]()
    before = {
        "submitted": {0: 1},
        "received": {0: 2, 1: 2},
        "refused": {0: 3, 1: 3},
        "offered": {0: 4, 2: 4},
    }[kind]
    held_facts = DossierFacts("X-9", status=held)
    if kind in ("received", "refused") and held == DossierStatus.REFUSED:
        # a refused dossier was created already: a second creation is
        # refused (ADR 0007's strict consumers), it moves nothing
        with pytest.raises(CreationRepeatedError):
            apply_event(held_facts, event)
        return
    facts = apply_event(held_facts, event).facts
    assert facts.status == before.get(held, held)
