"""``motcua chaos``'s short form: a system of its own (``motcua up`` on free
ports), under load, a service killed with -9, the broker frozen, the whole
system stopped and started again, every poison and forged record of the
catalogue, the public lookup brute-forced and the shared topic read for
personal data: nothing lost, nothing doubled, everything refused with the
expected reason, no forgery applied (the full run is in the closing note)."""

from __future__ import annotations

from pathlib import Path

import pytest

from motcua.bench.chaos.cli import EXPERIMENTS
from motcua.bench.chaos.run import Plan, run

pytestmark = [pytest.mark.broker, pytest.mark.e2e, pytest.mark.timeout(400)]


async def test_the_short_chaos_run_loses_doubles_and_lets_through_nothing(
    tmp_path: Path,
) -> None:
    plan = Plan(
        rate=3.0,
        load_s=4.0,
        kill=("notification",),
        kill_load_s=4.0,
        freeze_s=3.0,
        restart_dossiers=10,
        brute_force_tries=12,
        settle_s=120.0,
    )
    report = await run(
        plan,
        data_dir=tmp_path,
        start=True,
        experiments=EXPERIMENTS,
        parked_wait_s=None,
        seed=7,
        say=lambda _text: None,
    )
    by_name = {e["name"]: e for e in report["experiments"]}
    problems = {
        name: (e["lost"], e["doubled"], e["not_refused"], e["applied_forgeries"])
        for name, e in by_name.items()
        if not e["ok"]
    }
    assert problems == {}
    assert report["ok"], report["reporting_health"]
    assert sum(e["accepted"] for e in by_name.values() if "load" in e["name"]) > 0
    assert by_name["whole system stop and start"]["accepted"] == 10
    poison = by_name["poison and forged records"]
    assert set(poison["refused"]) >= {
        "malformed",
        "unknown_event_type",
        "signature_invalid",
        "chain_broken",
        "invalid_payload",
        "duplicate_creation",
        "illegal_transition",
        "parked_expired",
    }
    lookup = by_name["public lookup brute-forced"]
    assert lookup["details"]["citizen"] == 200
    assert lookup["refused"]["too_many_requests"] > 0
    assert by_name["personal data on motcua.dossier.events"]["accepted"] > 0
