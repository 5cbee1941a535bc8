"""One chaos run: the experiments in order against one system."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from motcua.bench.chaos import experiments as ex
from motcua.bench.chaos.experiments import HealthProbe, Plan, Result
from motcua.bench.chaos.load import Load
from motcua.bench.chaos.system import System, attach, start

__all__ = ["Plan", "run"]

STARTED_PARKED_TTL_S = 15.0
"""The parked TTL of a system chaos starts: short, so the run sees parked
records expire into the dead-letter topics."""


async def run(
    plan: Plan,
    *,
    data_dir: Path,
    start: bool,
    experiments: Sequence[str],
    parked_wait_s: float | None,
    seed: int,
    say: Callable[[str], Any] = print,
) -> dict[str, Any]:
    ex._PRINTER[0] = say
    if start:
        own = data_dir / f"chaos-{time.strftime('%Y%m%dT%H%M%S')}"
        say(f"starting a system of its own in {own} …")
        system = _start(own)
        wait = STARTED_PARKED_TTL_S + 60 if parked_wait_s is None else parked_wait_s
    else:
        system = attach(data_dir)
        wait = parked_wait_s or 0.0
    plan.parked_wait_s = wait
    say(
        f"chaos on {'its own system' if start else 'the running system'} "
        f"({system.data_dir}), seed {seed}"
    )
    load = Load(system, seed=seed)
    results: list[Result] = []
    try:
        async with HealthProbe(system) as probe:
            for name in experiments:
                results += await _experiment(name, system, load, plan, probe)
            health = probe.summary()
    finally:
        system.stop()
    return {
        "system": "started by chaos" if start else "running",
        "data_dir": str(system.data_dir),
        "seed": seed,
        "plan": dict(vars(plan)),
        "experiments": [r.as_dict() for r in results],
        "reporting_health": health,
        "ok": all(r.ok for r in results) and not health["failed"],
    }


def _start(folder: Path) -> System:
    return start(folder, parked_ttl_s=STARTED_PARKED_TTL_S)


async def _experiment(
    name: str, system: System, load: Load, plan: Plan, probe: HealthProbe
) -> list[Result]:
    if name == "load":
        return [await ex.steady_load(system, load, plan)]
    if name == "kill":
        return [
            await ex.kill_service(system, load, plan, service, probe)
            for service in plan.kill
        ]
    if name == "freeze":
        return [await ex.freeze_broker(system, load, plan)]
    if name == "restart":
        return [await ex.restart_everything(system, load, plan, probe)]
    if name == "poison":
        return [await ex.poison(system, load, plan, probe)]
    if name == "lookup":
        return [await ex.brute_force_lookup(system, load, plan)]
    if name == "personal-data":
        return [await ex.personal_data_on_topic(system, load)]
    msg = f"unknown experiment {name}"
    raise ValueError(msg)
