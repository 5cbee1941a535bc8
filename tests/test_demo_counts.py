"""``motcua demo``'s pure parts: report periods, the generated history, the
officers' next action and the independent count of Biểu 06 (no broker)."""

from __future__ import annotations

import random
from datetime import date, datetime

from motcua.bench.demo import (
    Decision,
    Plan,
    Story,
    history,
    independent_count,
    month_containing,
    next_action,
    quarter_containing,
    result_step,
)
from motcua.bench.mix import KINDS
from motcua.shared.contracts import VN_TZ
from motcua.shared.domain.calendar import load_calendar

LIMITS = {k.procedure_code: {"default": "3wd", "online": "same-day"} for k in KINDS}


def vn(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=VN_TZ)


def test_official_periods_cut_on_the_fifteenth() -> None:
    assert month_containing(date(2026, 12, 1)) == (
        date(2026, 11, 15),
        date(2026, 12, 14),
    )
    assert month_containing(date(2026, 12, 15)) == (
        date(2026, 12, 15),
        date(2027, 1, 14),
    )
    assert quarter_containing(date(2026, 12, 1)) == (
        date(2026, 9, 15),
        date(2026, 12, 14),
    )
    assert quarter_containing(date(2026, 12, 20)) == (
        date(2026, 12, 15),
        date(2027, 3, 14),
    )
    assert quarter_containing(date(2026, 3, 14)) == (
        date(2025, 12, 15),
        date(2026, 3, 14),
    )
    assert quarter_containing(date(2026, 6, 1)) == (
        date(2026, 3, 15),
        date(2026, 6, 14),
    )


def test_the_independent_count_follows_the_readme_rules() -> None:
    first, last = date(2026, 9, 15), date(2026, 12, 14)

    def story(received: date, due: date, **kw: object) -> Story:
        return Story("c", "a", vn(received), vn(due, 17), "direct", "history", **kw)

    stories = [
        story(date(2026, 10, 1), date(2026, 10, 5), finished=vn(date(2026, 10, 3))),
        story(date(2026, 10, 1), date(2026, 10, 5), finished=vn(date(2026, 10, 5))),
        story(date(2026, 10, 1), date(2026, 10, 5), finished=vn(date(2026, 10, 9))),
        story(date(2026, 10, 1), date(2026, 10, 5), withdrawn=vn(date(2026, 10, 9))),
        # carried over, resolved inside the period
        story(date(2026, 9, 1), date(2026, 9, 20), finished=vn(date(2026, 9, 16))),
        # closed before the period: not counted at all
        story(date(2026, 9, 1), date(2026, 9, 10), finished=vn(date(2026, 9, 9))),
        # in progress: overdue at the period end, within (due after it), paused
        story(date(2026, 11, 1), date(2026, 12, 14)),
        story(date(2026, 12, 1), date(2026, 12, 15)),
        story(date(2026, 11, 1), date(2026, 11, 5), paused=True),
        # refused: beside the form only
        Story("r", "a", vn(date(2026, 10, 2)), None, "online", "history", refused=True),
    ]
    stories.append(Story("o", "a", vn(date(2026, 12, 1)), None, "online", "today"))
    counts = independent_count(stories, first, last)
    assert counts["received_online"] == 1
    assert counts["received_direct"] == 7
    assert counts["carried_over"] == 1
    assert (
        counts["resolved_early"],
        counts["resolved_on_time"],
        counts["resolved_late"],
    ) == (2, 2, 1)
    assert (counts["in_progress_within"], counts["in_progress_overdue"]) == (3, 1)
    assert counts["withdrawal"] == 1
    assert counts["refusal"] == 1
    assert counts["received"] == counts["resolved"] + counts["in_progress"] == 9


def test_the_history_is_importable_and_unique() -> None:
    now = datetime(2026, 12, 1, 14, 0, tzinfo=VN_TZ)
    taken = {"000.01.31.H14-261125-5000"}
    rows = history(
        400,
        now=now,
        rng=random.Random(3),
        calendar=load_calendar(),
        limits=LIMITS,
        taken=taken,
    )
    codes = [r.row["code"] for r in rows]
    assert len(set(codes)) == 400
    assert "000.01.31.H14-261125-5000" not in codes
    statuses = {r.row["status"] for r in rows}
    assert statuses == {3, 4, 5, 7, 8, 9, 10}
    done = [r for r in rows if r.row["status"] in (9, 10)]
    assert len(done) > 0.6 * len(rows)
    for r in rows:
        row, s = r.row, r.story
        assert row["code"].startswith(
            f"{row['receiving_agency_code']}-{s.received:%y%m%d}-"
        )
        assert s.received.date() < now.date()
        for key in ("resolved_at", "delivered_at", "withdrawn_at", "stopped_at"):
            if key in row:
                moment = datetime.fromisoformat(row[key])
                assert s.received <= moment < now
        if "delivered_at" in row:
            assert row["delivered_at"] >= row["resolved_at"]
    early = sum(1 for r in done if r.story.finished.date() < r.story.due.date())
    late = sum(1 for r in done if r.story.finished.date() > r.story.due.date())
    assert early
    assert late
    assert early + late < len(done)


def _dossier(status: int, step: int, state: str, roles: list[str]) -> dict[str, object]:
    return {
        "status": status,
        "current_step": step,
        "handoff_state": state,
        "holder": {"code": "x"},
        "steps": [{"role": r} for r in roles],
    }


def test_officers_walk_to_the_result_and_back_to_the_desk() -> None:
    roles = [
        "receiving_desk",
        "competent_agency",
        "specialist:police",
        "competent_agency",
        "receiving_desk",
    ]
    assert result_step(roles) == 4
    assert result_step(["receiving_desk"]) == 1
    deliver = Decision(Plan.DELIVER)

    def act(
        status: int,
        step: int,
        state: str,
        plan: Decision = deliver,
        delivery: str = "desk",
    ) -> str:
        return next_action(
            plan,
            _dossier(status, step, state, roles),
            actions_done=0,
            result_delivery=delivery,
        ).name

    assert act(4, 1, "offered") == "acknowledge"
    assert act(4, 1, "acknowledged") == "complete"
    assert act(4, 4, "acknowledged") == "result"
    assert act(9, 4, "acknowledged") == "complete"
    assert act(9, 5, "acknowledged") == "delivery"
    assert act(9, 5, "acknowledged", delivery="post") == ""
    assert act(9, 4, "acknowledged", Decision(Plan.RESOLVE)) == ""
    assert act(4, 1, "acknowledged", Decision(Plan.SUPPLEMENT)) == "supplement-request"
    assert act(4, 1, "offered", Decision(Plan.UNTOUCHED)) == ""
    partial = Decision(Plan.PARTIAL, partial_actions=2)
    assert (
        next_action(
            partial,
            _dossier(4, 2, "offered", roles),
            actions_done=2,
            result_delivery="desk",
        ).name
        == ""
    )
    assert (
        next_action(
            partial,
            _dossier(4, 4, "acknowledged", roles),
            actions_done=1,
            result_delivery="desk",
        ).name
        == ""
    )
    assert act(10, 5, "acknowledged") == ""
