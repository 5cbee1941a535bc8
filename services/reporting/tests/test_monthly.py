"""Monthly figures: a dossier's flow columns land in the official month of the
day they happened, and moving a dossier moves its figures (pure)."""

from __future__ import annotations

from datetime import date, datetime

from reporting_support import Dossier, days, reporting_access

from motcua.reporting.bieu06 import classify
from motcua.reporting.facts import DossierFacts
from motcua.reporting.monthly import FLOW_KEYS, Figures, contribution, difference
from motcua.reporting.periods import month_index, official_year, split_period
from motcua.reporting.projections import fold as fold_event
from motcua.shared.contracts import VN_TZ

ACCESS = reporting_access()
AGENCY = "000.00.31.H56"


def fold(*events) -> DossierFacts:
    facts = DossierFacts(events[0].dossier_code)
    for event in events:
        facts = fold_event(facts, event, ACCESS).facts
    return facts


def test_received_and_resolved_land_in_their_own_official_months() -> None:
    d = Dossier("M-1", AGENCY)
    received = datetime(2025, 3, 10, 9, tzinfo=VN_TZ)  # official month 3
    facts = fold(
        d.received(received, received + days(10)), d.resolved(received + days(6), None)
    )
    figures = contribution(facts.row_values()).changed()
    march, april = (
        month_index(date(2025, 3, 10).toordinal()),
        month_index(date(2025, 3, 16).toordinal()),
    )
    group = (AGENCY, "commune", "HT", "1.001193")
    assert figures[(march, *group)]["received_direct"] == 1
    assert figures[(april, *group)]["resolved_early"] == 1  # before the appointment
    assert figures[(april, *group)]["hours_count"] == 1
    assert figures[(april, *group)]["hours_total"] == 144.0


def test_routing_moves_the_figures_to_the_competent_agency() -> None:
    d = Dossier("M-2", AGENCY)
    at = datetime(2025, 5, 2, 9, tzinfo=VN_TZ)
    before = fold(d.received(at, at + days(3)))
    after = fold_event(before, d.routed(at, "000.00.99.H56"), ACCESS).facts
    delta = difference(before.row_values(), after.row_values()).changed()
    month = month_index(at.date().toordinal())
    assert delta[(month, AGENCY, "commune", "HT", "1.001193")]["received_direct"] == -1
    assert (
        delta[(month, "000.00.99.H56", "commune", "HT", "1.001193")]["received_direct"]
        == 1
    )
    assert difference(after.row_values(), after.row_values()).changed() == {}


def test_whole_months_add_up_to_the_period() -> None:
    year = official_year(2025)
    split = split_period(year.start_day, year.end_day)
    assert split.months is not None
    total = Figures()
    expected = dict.fromkeys(FLOW_KEYS, 0)
    for n, start in enumerate(
        (
            datetime(2024, 12, 20, tzinfo=VN_TZ),
            datetime(2025, 6, 14, 16, tzinfo=VN_TZ),
            datetime(2025, 12, 10, tzinfo=VN_TZ),
        )
    ):
        d = Dossier(f"M-3{n}", AGENCY)
        facts = fold(
            d.received(start, start + days(2)),
            d.resolved(start + days(n + 1), start + days(2)),
        )
        values = facts.row_values()
        total.merge(contribution(values))
        for key in classify(values, start=year.start_day, end=year.end_day):
            if key in expected:
                expected[key] += 1
    summed = dict.fromkeys(FLOW_KEYS, 0)
    for (month, *_), measures in total.changed().items():
        if split.months[0] <= month <= split.months[1]:
            for key in FLOW_KEYS:
                summed[key] += int(measures[key])
    assert summed == expected
    assert summed["received_direct"] == 3


def test_a_dossier_nobody_received_adds_nothing_to_any_month() -> None:
    """A withdrawal (or result) of a code reporting never saw received: a
    forgery or an event ahead of its reception counts nowhere until the
    reception comes."""
    d = Dossier("000.00.31.H56-250301-0001", AGENCY)
    at = datetime(2025, 3, 2, 9, 0, tzinfo=VN_TZ)
    orphan = fold(d.withdrawn(at))
    assert orphan.closure == "withdrawn"
    assert not contribution(orphan.row_values()).changed()
    received = fold(d.received(at, at + days(3)), d.withdrawn(at))
    assert contribution(received.row_values()).changed()
