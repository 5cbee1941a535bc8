"""``motcua demo``, the pure part: what the generator decides (a legacy history
file, a day of traffic and what the officers do with it) and an independent
count of Biểu 06 from those decisions.

The count follows the rules in services/reporting/README.md ("Biểu 06 rules")
and never looks at reporting's code:

- only accepted dossiers count (refusals are counted apart, on their day);
- received in the period: (4) online, (5) direct or postal; (6) carried over:
  received before the period and not closed before it starts;
- resolved (result recorded or withdrawn inside the period): (8) early, (9) on
  time, (10) late by comparing the finish date with the appointment date
  (Vietnam time); a withdrawal, or no appointment, is on time;
- in progress at the period end: (12) within time if the appointment is on or
  after the period end, there is none, or the clock is paused; else (13).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from motcua.bench.mix import COMMUNE_DESKS, KINDS, MOBILE_PREFIXES, Kind
from motcua.shared.contracts import VN_TZ
from motcua.shared.domain.calendar import TimeLimit, WorkCalendar

# -- report periods (official: the 15th to the 14th, NĐ 09/2019) ---------------------


def official_month(year: int, month: int) -> tuple[date, date]:
    first = date(year - 1, 12, 15) if month == 1 else date(year, month - 1, 15)
    return first, date(year, month, 14)


def month_containing(day: date) -> tuple[date, date]:
    if day.day <= 14:
        return official_month(day.year, day.month)
    if day.month == 12:
        return official_month(day.year + 1, 1)
    return official_month(day.year, day.month + 1)


def quarter_containing(day: date) -> tuple[date, date]:
    """Quarter 1 runs 15/12 to 14/3, quarter 2 15/3 to 14/6, and so on."""
    _, last_of_month = month_containing(day)
    year, month = last_of_month.year, last_of_month.month
    last_month = ((month - 1) // 3 + 1) * 3
    first, _ = official_month(year, last_month - 2)
    return first, date(year, last_month, 14)


# -- Biểu 06 columns -------------------------------------------------------------------

COLUMNS: tuple[tuple[str, str], ...] = (
    ("received", "(3) Tổng số hồ sơ tiếp nhận"),
    ("received_online", "(4) Trực tuyến"),
    ("received_direct", "(5) Trực tiếp, dịch vụ bưu chính"),
    ("carried_over", "(6) Từ kỳ trước chuyển sang"),
    ("resolved", "(7) Tổng số đã giải quyết"),
    ("resolved_early", "(8) Trước hạn"),
    ("resolved_on_time", "(9) Đúng hạn"),
    ("resolved_late", "(10) Quá hạn"),
    ("in_progress", "(11) Tổng số đang giải quyết"),
    ("in_progress_within", "(12) Trong hạn"),
    ("in_progress_overdue", "(13) Quá hạn"),
    ("withdrawal", "Rút hồ sơ (ngoài biểu)"),
    ("refusal", "Từ chối tiếp nhận (ngoài biểu)"),
)
"""(key in reporting's figures, label) in the order of the form."""


@dataclass
class Story:
    """What happened to one dossier, as the generator decided it or as the
    services answered (reception and withdrawal times, appointments)."""

    code: str
    agency: str
    received: datetime
    due: datetime | None
    channel: str  # direct, online, postal
    source: str  # history or today
    refused: bool = False
    finished: datetime | None = None  # result recorded
    withdrawn: datetime | None = None
    paused: bool = False  # waiting for a supplement or a fee, or stopped


def _vn_day(moment: datetime) -> date:
    return moment.astimezone(VN_TZ).date()


def independent_count(stories: list[Story], first: date, last: date) -> dict[str, int]:
    counts = dict.fromkeys((key for key, _ in COLUMNS), 0)
    for s in stories:
        got = _vn_day(s.received)
        if s.refused:
            if first <= got <= last:
                counts["refusal"] += 1
            continue
        if s.withdrawn is not None and first <= _vn_day(s.withdrawn) <= last:
            counts["withdrawal"] += 1
        ended = s.finished or s.withdrawn
        end = _vn_day(ended) if ended else None
        if got > last or (end is not None and end < first):
            continue
        if got < first:
            counts["carried_over"] += 1
        elif s.channel == "online":
            counts["received_online"] += 1
        else:
            counts["received_direct"] += 1
        due = _vn_day(s.due) if s.due else None
        if end is not None and end <= last:
            if s.finished is None or due is None or end == due:
                counts["resolved_on_time"] += 1
            elif end < due:
                counts["resolved_early"] += 1
            else:
                counts["resolved_late"] += 1
        elif s.paused or due is None or due > last:
            counts["in_progress_within"] += 1
        else:
            counts["in_progress_overdue"] += 1
    counts["received"] = (
        counts["received_online"] + counts["received_direct"] + counts["carried_over"]
    )
    counts["resolved"] = (
        counts["resolved_early"] + counts["resolved_on_time"] + counts["resolved_late"]
    )
    counts["in_progress"] = counts["in_progress_within"] + counts["in_progress_overdue"]
    return counts


@dataclass(frozen=True)
class Comparison:
    key: str
    label: str
    expected: int
    reported: int | None

    @property
    def ok(self) -> bool:
        return self.expected == self.reported


def compare(expected: dict[str, int], reported: dict[str, int]) -> list[Comparison]:
    return [
        Comparison(key, label, expected[key], reported.get(key))
        for key, label in COLUMNS
    ]


# -- a legacy history file ---------------------------------------------------------------


def limit_for(limits: dict[str, dict[str, str]], procedure: str, channel: str) -> str:
    """The legal time limit of a procedure for a channel (catalogue's
    ``time_limits``: ``default`` plus per-channel exceptions)."""
    per_channel = limits[procedure]
    return per_channel.get(channel, per_channel["default"])


def _pick_kind(rng: random.Random) -> Kind:
    return rng.choices(KINDS, weights=[k.weight for k in KINDS])[0]


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    span = (end - start).total_seconds()
    return start + timedelta(seconds=rng.random() * max(span, 0.0))


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), VN_TZ)


@dataclass
class HistoryPlan:
    """Shares of the outcomes of imported dossiers."""

    refused: float = 0.04
    withdrawn: float = 0.05
    in_progress: float = 0.10
    stopped: float = 0.02
    awaiting_supplement: float = 0.03
    """Status 5 rows, imported with the time their pause began (paused_at)."""
    resolved_not_delivered: float = 0.20
    early: float = 0.55
    on_time: float = 0.30  # the rest is late


@dataclass
class HistoryRow:
    row: dict[str, Any]
    story: Story


def _resolution_time(
    rng: random.Random,
    plan: HistoryPlan,
    received: datetime,
    due: datetime,
    now: datetime,
) -> datetime:
    """A result time before ``now``: early, on time or late when possible."""
    due_day = _vn_day(due)
    options: list[tuple[str, datetime, datetime]] = []
    early_end = min(_at(due_day, 0), now)
    if early_end > received:
        options.append(("early", received, early_end))
    on_time_start = max(received, _at(due_day, 7))
    on_time_end = min(due, now)
    if on_time_end > on_time_start:
        options.append(("on_time", on_time_start, on_time_end))
    late_start = _at(due_day + timedelta(days=1), 7, 30)
    late_end = min(due + timedelta(days=12), now)
    if late_end > late_start:
        options.append(("late", late_start, late_end))
    if not options:
        return _between(rng, received, now)
    weights = {"early": plan.early, "on_time": plan.on_time}
    late = max(0.0, 1 - plan.early - plan.on_time)
    chosen = rng.choices(
        options, weights=[weights.get(name, late) or 1e-9 for name, _, _ in options]
    )[0]
    return _between(rng, chosen[1], chosen[2])


def history(
    count: int,
    *,
    now: datetime,
    rng: random.Random,
    calendar: WorkCalendar,
    limits: dict[str, dict[str, str]],
    taken: set[str],
    plan: HistoryPlan | None = None,
    days_back: int = 92,
) -> list[HistoryRow]:
    """``count`` dossiers received at the commune desks over the ``days_back``
    days before today, in the import format of services/intake/README.md.
    Codes use sequence numbers from 5000 up and avoid ``taken`` (which grows)."""
    plan = plan or HistoryPlan()
    today = _vn_day(now)
    rows: list[HistoryRow] = []
    for n in range(count):
        kind = _pick_kind(rng)
        agency = COMMUNE_DESKS[rng.randrange(len(COMMUNE_DESKS))]
        day = today - timedelta(days=rng.randint(1, days_back))
        while not calendar.is_working_day(day):
            day -= timedelta(days=1)
        received = _at(day, 7, 15) + timedelta(minutes=rng.randrange(9 * 60 + 15))
        channel = rng.choices(["direct", "online", "postal"], weights=[55, 35, 10])[0]
        due = calendar.due_at(
            received, TimeLimit.parse(limit_for(limits, kind.procedure_code, channel))
        )
        code = _free_code(agency, day, rng, taken)
        phone = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**7):07d}"
        row: dict[str, Any] = {
            "code": code,
            "receiving_agency_code": agency,
            "received_at": received.isoformat(),
            "procedure_code": kind.procedure_code,
            "channel": channel,
            "due_at": due.isoformat(),
            "applicant": {
                "full_name": f"Người dân lịch sử {n + 1}",
                "id_number": f"{rng.randrange(10**9):09d}"
                if rng.random() < 0.3
                else f"0011{rng.randrange(50, 99):02d}{rng.randrange(10**6):06d}",
                "phone": phone,
            },
        }
        story = Story(code, agency, received, due, channel, "history")
        _decide_outcome(rng, plan, row, story, now)
        rows.append(HistoryRow(row, story))
    return rows


def _decide_outcome(
    rng: random.Random,
    plan: HistoryPlan,
    row: dict[str, Any],
    story: Story,
    now: datetime,
) -> None:
    received, due = story.received, story.due
    assert due is not None
    limit = now - timedelta(minutes=5)
    roll = rng.random()
    edges: list[float] = []
    for share in (
        plan.refused,
        plan.withdrawn,
        plan.in_progress,
        plan.stopped,
        plan.awaiting_supplement,
    ):
        edges.append((edges[-1] if edges else 0.0) + share)
    if roll < edges[0]:
        row.update(status=3, reasons=["Hồ sơ không đủ thành phần theo quy định"])
        row.pop("due_at")
        story.refused, story.due = True, None
    elif roll < edges[1]:
        at = _between(rng, received, min(due, limit))
        row.update(
            status=7, withdrawn_at=at.isoformat(), reasons=["Công dân rút hồ sơ"]
        )
        story.withdrawn = at
    elif roll < edges[2]:
        row["status"] = 4
    elif roll < edges[3]:
        at = _between(rng, received, min(due, limit))
        row.update(
            status=8, stopped_at=at.isoformat(), reasons=["Chờ ý kiến cơ quan khác"]
        )
        story.paused = True
    elif roll < edges[4]:
        at = _between(rng, received, min(due, limit))
        row.update(
            status=5, paused_at=at.isoformat(), reasons=["Thiếu bản sao giấy tờ"]
        )
        story.paused = True
    else:
        resolved = _resolution_time(rng, plan, received, due, limit)
        story.finished = resolved
        row.update(resolved_at=resolved.isoformat(), result_summary="Đã có kết quả")
        if rng.random() < plan.resolved_not_delivered:
            row["status"] = 9
        else:
            delivered = min(
                resolved + timedelta(hours=rng.uniform(0.5, 72)), max(resolved, limit)
            )
            row.update(status=10, delivered_at=delivered.isoformat())


def _free_code(agency: str, day: date, rng: random.Random, taken: set[str]) -> str:
    seq = rng.randrange(5000, 10000)
    while True:
        code = f"{agency}-{day:%y%m%d}-{seq:04d}"
        if code not in taken:
            taken.add(code)
            return code
        seq = 5000 + (seq - 5000 + 1) % 5000


def replace_code(entry: HistoryRow, rng: random.Random, taken: set[str]) -> None:
    """Give a row another code (its first one is already in intake)."""
    received = entry.story.received.astimezone(VN_TZ)
    code = _free_code(entry.story.agency, received.date(), rng, taken)
    entry.row["code"] = code
    entry.story.code = code


# -- a day of traffic ---------------------------------------------------------------------


class Plan(StrEnum):
    """What the officers (or the citizen) do with a dossier received today."""

    DELIVER = "deliver"  # walked to the result, then returned at the desk
    RESOLVE = "resolve"  # walked to the result (status 9), not returned yet
    PARTIAL = "partial"  # a step or two, then left in progress
    SUPPLEMENT = "supplement"  # the desk asks for a supplement (paused)
    WITHDRAW = "withdraw"  # the citizen withdraws it at intake
    UNTOUCHED = "untouched"  # still waiting in the first queue


PLAN_WEIGHTS: dict[Plan, int] = {
    Plan.DELIVER: 30,
    Plan.RESOLVE: 15,
    Plan.PARTIAL: 15,
    Plan.SUPPLEMENT: 5,
    Plan.WITHDRAW: 10,
    Plan.UNTOUCHED: 25,
}


@dataclass
class Decision:
    plan: Plan
    partial_actions: int = 0


def decide(rng: random.Random) -> Decision:
    plan = rng.choices(list(PLAN_WEIGHTS), weights=list(PLAN_WEIGHTS.values()))[0]
    return Decision(plan, rng.randint(1, 3) if plan is Plan.PARTIAL else 0)


def result_step(roles: list[str]) -> int:
    """The step (1-based) where the result is recorded: the last one held by
    an agency other than the receiving desk, else the last step."""
    for number in range(len(roles), 0, -1):
        if roles[number - 1] != "receiving_desk":
            return number
    return len(roles)


@dataclass
class NextAction:
    name: str  # routing's path segment, or "" when the plan is done
    body: dict[str, Any] = field(default_factory=dict)


def next_action(
    decision: Decision,
    dossier: dict[str, Any],
    *,
    actions_done: int,
    result_delivery: str,
) -> NextAction:
    """What the holding agency's officer does next, from routing's view of the
    dossier (``GET /api/v1/dossiers/{code}``)."""
    done = NextAction("")
    plan, status = decision.plan, dossier["status"]
    state, step = dossier.get("handoff_state"), dossier["current_step"]
    steps = [s["role"] for s in dossier["steps"]]
    if plan in (Plan.UNTOUCHED, Plan.WITHDRAW) or status in (7, 10):
        return done
    if dossier.get("holder") is None or state not in ("offered", "acknowledged"):
        return done
    if plan is Plan.PARTIAL and actions_done >= decision.partial_actions:
        return done
    if state == "offered":
        return NextAction("acknowledge")
    if plan is Plan.SUPPLEMENT:
        if status != 4:
            return done
        return NextAction(
            "supplement-request",
            {"components": ["Bản sao giấy tờ tùy thân"], "reason": "Bản chụp mờ"},
        )
    if status == 4 and step >= result_step(steps):
        if plan is Plan.PARTIAL:
            return done
        return NextAction("result", {"summary": "Đã có kết quả giải quyết"})
    if status == 9 and plan is Plan.RESOLVE:
        return done
    if step < len(steps):
        return NextAction("complete")
    if status == 9 and plan is Plan.DELIVER and result_delivery != "post":
        return NextAction("delivery", {"method": result_delivery})
    return done  # a result by post is closed by the postal operator's callback
