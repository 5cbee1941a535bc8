"""A generated historical import plus a generated day of traffic, over the real
broker: Biểu 06 for the period must equal a count made here, independently of
the reporting code, straight from what the generator decided."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
from reporting_support import OPERATOR, Dossier, publish, unique_agency, wait_projected

from motcua.reporting.app import create_app
from motcua.reporting.settings import ReportingSettings
from motcua.shared.contracts import VN_TZ, now_vn
from motcua.shared.contracts.common import Channel
from motcua.shared.testing.helpers import running_app

pytestmark = pytest.mark.broker


@dataclass
class Story:
    """What the generator decided for one dossier (Vietnam dates)."""

    received: datetime
    due: datetime
    channel: Channel
    finished: datetime | None  # result recorded
    withdrawn: datetime | None


def independent_count(stories: list[Story], first: date, last: date) -> dict[str, int]:
    counts = dict.fromkeys(
        (
            "received_online",
            "received_direct",
            "carried_over",
            "resolved_early",
            "resolved_on_time",
            "resolved_late",
            "in_progress_within",
            "in_progress_overdue",
        ),
        0,
    )
    for s in stories:
        got = s.received.date()
        ended = s.finished or s.withdrawn
        end = ended.date() if ended else None
        if got > last or (end is not None and end < first):
            continue
        if got < first:
            counts["carried_over"] += 1
        elif s.channel is Channel.ONLINE:
            counts["received_online"] += 1
        else:
            counts["received_direct"] += 1
        if end is not None and end <= last:
            if s.withdrawn:
                counts["resolved_on_time"] += 1
            elif end < s.due.date():
                counts["resolved_early"] += 1
            elif end == s.due.date():
                counts["resolved_on_time"] += 1
            else:
                counts["resolved_late"] += 1
        elif s.due.date() > last:
            counts["in_progress_within"] += 1
        else:
            counts["in_progress_overdue"] += 1
    return counts


def generate(agency: str, today: date, rng: random.Random) -> tuple[list, list[Story]]:
    events, stories = [], []
    for n in range(1, 81):
        history = n <= 60  # imported from the legacy system; the rest is today
        day = today - timedelta(days=rng.randrange(1, 90)) if history else today
        received = datetime.combine(
            day, time(7 + rng.randrange(9), rng.randrange(60)), VN_TZ
        )
        if not history:
            received = min(received, now_vn() - timedelta(minutes=1))
        due = received + timedelta(days=rng.choice((0, 1, 3, 7, 15)))
        channel = rng.choice(list(Channel))
        dossier = Dossier(f"{agency}-{day:%y%m%d}-{n:04d}", agency, imported=history)
        events.append(dossier.received(received, due, channel=channel))
        finished = withdrawn = None
        roll = rng.random()
        limit = now_vn() - received
        if roll < 0.1:
            withdrawn = received + limit * rng.random()
            events.append(dossier.withdrawn(withdrawn))
        elif roll < 0.8:
            finished = received + limit * rng.random()
            events.append(dossier.resolved(finished, due))
            events.append(dossier.delivered(finished))
        stories.append(Story(received, due, channel, finished, withdrawn))
    return events, stories


async def test_bieu06_matches_an_independent_count(
    reporting_settings: ReportingSettings, unique: str
) -> None:
    agency = unique_agency(unique, "I")
    today = now_vn().date()
    events, stories = generate(agency, today, random.Random(unique))
    first, last = today - timedelta(days=30), today
    app = create_app(reporting_settings)
    async with running_app(app) as client:
        await publish(reporting_settings.kafka, events)
        await wait_projected(app, [e.event_id for e in events])
        response = await client.get(
            "/api/v1/reports/bieu-06",
            params={
                "from": first.isoformat(),
                "to": last.isoformat(),
                "agency": agency,
            },
            headers=OPERATOR,
        )
    total = response.json()["total"]
    expected = independent_count(stories, first, last)
    assert {k: total[k] for k in expected} == expected
    assert total["invariant_ok"] is True
    assert total["received"] == total["resolved"] + total["in_progress"]
    assert total["received"] > 0
