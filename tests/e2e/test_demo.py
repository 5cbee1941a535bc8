"""``motcua demo`` against the whole system, each service its own process, over
a real broker: a generated history imported with ``motcua import dossiers``, a
day of traffic through the APIs, and Biểu 06 equal to the independent count.
Run twice, so the second run shows earlier dossiers do not disturb it."""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path

import pytest

from motcua.bench.demo_run import DemoConfig, run_demo
from motcua.shared.local_broker import LocalBroker, free_port
from motcua.shared.testing.brokers import BrokerUnderTest
from motcua.shared.testing.system import running_system

pytestmark = [pytest.mark.e2e, pytest.mark.broker]


@pytest.mark.timeout(300)
async def test_the_demo_matches_bieu_06(
    kafka_broker: BrokerUnderTest, tmp_path: Path
) -> None:
    with ExitStack() as stack:
        bootstrap = kafka_broker.bootstrap_servers
        if kafka_broker.kind == "tansu":  # a broker of its own, as the skeleton test
            bootstrap = stack.enter_context(
                LocalBroker("127.0.0.1", free_port())
            ).bootstrap_servers
        system = stack.enter_context(
            running_system(
                bootstrap_servers=bootstrap,
                profile=kafka_broker.profile,
                data_dir=tmp_path,
                extra_env={"MOTCUA_LOG_LEVEL": "WARNING"},
            )
        )
        await system.wait_ready()
        results = []
        for seed in (11, 11):  # the same seed: codes must still not collide
            config = DemoConfig(
                intake_url=system.urls["intake"],
                routing_url=system.urls["routing"],
                reporting_url=system.urls["reporting"],
                history=40,
                today=15,
                seed=seed,
                out=tmp_path / "demo",
                wait_s=120,
                import_env={**os.environ, **system.env},
            )
            results.append(await run_demo(config))
    for result in results:
        mismatches = [c for c in result.comparison if not c.ok]
        assert not mismatches, (mismatches, result.errors)
        assert result.invariant_ok
        assert result.ok
        assert not result.errors
        figures = {c.key: c.reported for c in result.comparison}
        assert figures["received"] == figures["resolved"] + figures["in_progress"]
        accepted = [s for s in result.stories if not s.refused]
        closed_before = [
            s
            for s in accepted
            if (end := s.finished or s.withdrawn) and end.date() < result.first_day
        ]
        assert figures["received"] == len(accepted) - len(closed_before) > 0
        assert sum(1 for s in result.stories if s.source == "today") == 15
        assert result.console_url.startswith(
            f"{system.urls['reporting']}/console#token="
        )
    first, second = ({s.code for s in r.stories} for r in results)
    assert not first & second
