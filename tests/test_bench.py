"""The benchmark: its pure parts, and a short smoke run over the real system
(no timing is asserted: speed is what the bench reports, not what tests check)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from motcua.bench import portal as bench_portal
from motcua.bench.mix import KINDS, reception
from motcua.bench.stats import percentile, rate, summary_ms
from motcua.shared.testing.brokers import BrokerUnderTest


def test_percentiles_use_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile([], 50) is None
    assert summary_ms([0.001, 0.002])["max"] == 2.0
    assert rate(10, 0.0, 2.0) == 5.0
    assert rate(0, 0.0, 2.0) is None


def test_the_mix_covers_every_kind_and_postal_returns() -> None:
    rng = random.Random(1)
    drawn = [reception(n, rng) for n in range(500)]
    assert {kind.name for kind, _ in drawn} == {k.name for k in KINDS}
    by_post = [body for _, body in drawn if body["result_delivery"] == "post"]
    assert by_post
    assert all(
        body["postal_address"]["phone"] == body["applicant"]["phone"]
        for body in by_post
    )
    assert len({body["applicant"]["id_number"] for _, body in drawn}) == 500


def test_a_dossiers_hops_add_up_to_its_submit_to_notified(tmp_path: Path) -> None:
    from motcua.bench import hops

    rows = hops._Rows(
        received_row={"A": (10.010, "e1"), "B": (20.0, "e2")},
        notification_batch={"e1": 10.100},
        reporting_batch={"e1": 10.090},
        notices={
            # SMS delivered by its receipt, email answered later by SMTP
            "A": [(10.120, None, 10.300), (10.121, None, 10.350)],
            "B": [(20.2, None, None)],  # not delivered: no hops
        },
    )
    seen = {
        "A": hops.Seen(
            submitted=10.0,
            notified=10.500,
            received_sent=10.050,
            delivered_sent=10.400,
            visible=10.200,
        ),
        "B": hops.Seen(20.0, None, None, None),
    }
    found = hops.breakdown(seen, rows)
    assert found["dossiers"] == 1
    p50 = [s["p50"] for s in found["hops"].values()]
    assert p50 == pytest.approx([10, 40, 50, 20, 180, 0, 100, 100])
    assert sum(p50) == pytest.approx(found["total"]["p50"])
    assert found["hops"]["notices → provider answered"]["slowest_share_percent"] == 36
    reporting = [s["p50"] for s in found["reporting"].values()]
    assert reporting == pytest.approx([40, 110])
    assert "| **submit → notified** | 500.0 |" in "\n".join(
        hops.markdown("half load", found)
    )


STACKS = """\
run (uvicorn/main.py:1);apply (motcua/shared/messaging/consumer.py:10);execute (sqlalchemy/orm/session.py:5) 6
run (uvicorn/main.py:1);apply (motcua/shared/messaging/consumer.py:10);verify (joserfc/jws.py:3) 3
run (uvicorn/main.py:1);Runner.run (asyncio/runners.py:118) 1
"""


def test_profiles_are_added_up_by_frame_and_by_layer(tmp_path: Path) -> None:
    from motcua.bench.profile import hot_frames, layer_shares

    raw = tmp_path / "flame.txt"
    raw.write_text(STACKS, encoding="utf-8")
    frames = {frame: (inclusive, own) for frame, inclusive, own in hot_frames(raw)}
    assert frames["apply (messaging/consumer.py)"] == (90.0, 0.0)
    assert frames["execute (orm/session.py)"] == (60.0, 60.0)
    assert layer_shares(raw) == {
        "database (SQLAlchemy, driver)": 60.0,
        "signing (JWS, RFC 8785)": 30.0,
        "event loop (asyncio, uvloop)": 10.0,
    }


@pytest.mark.e2e
@pytest.mark.broker
async def test_a_short_bench_run_reconciles(
    kafka_broker: BrokerUnderTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from motcua.bench.runner import Bench, BenchConfig, markdown

    if kafka_broker.kind != "tansu":
        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_broker.bootstrap_servers)
    config = BenchConfig(
        rate=3,
        rate_seconds=2,
        max_seconds=2,
        concurrency=2,
        raw_messages=500,
        drain_timeout_s=90,
        half_seconds=2,
        idle_seconds=1,
        data_dir=tmp_path / "system",
        results_dir=tmp_path / "results",
    )
    result = await Bench(config).run()
    reconciliation = result["reconciliation"]
    assert reconciliation["clean"], reconciliation
    assert reconciliation["counts"]["accepted by intake (201)"] > 0
    assert result["broker_raw_limit"]["messages"] == 500
    assert {"intake", "routing", "notification", "reporting"} <= set(
        result["peak_rss_mb"]
    )
    assert "Reconciliation: clean" in markdown(result)
    statements = result["sql_statements_per_dossier"]
    assert all(statements[s] > 0 for s in ("intake", "routing", "reporting"))
    received = result["traffic_per_dossier"]["motcua.dossier.events"]
    assert received["dossier.received"][0] == pytest.approx(1.0, abs=0.3)
    assert set(result["idle_cpu_ms_per_s"]) >= {"intake", "broker"}
    assert [p["phase"].split(" ")[0] for p in result["phases"]] == [
        "fixed",
        "max,",
        "half",
    ]
    assert "| reconciliation | clean | clean | yes |" in markdown(result)
    # the per-hop table of the fixed-rate phases, from the services' own rows
    hops = result["hops"]
    assert set(hops) == {p["phase"] for p in result["phases"]} - {
        result["phases"][1]["phase"]
    }
    for found in hops.values():
        assert found["dossiers"] > 0
        assert all(s["n"] == found["dossiers"] for s in found["hops"].values())
    assert "| broker → notification's batch |" in markdown(result)
    # every benchmark dossier is on the national portal simulator
    if not bench_portal.simulator_available():
        return  # lands with issue 13's other half
    portal = result["portal"]
    assert portal["clean"], portal
    assert portal["on_the_portal"] == portal["benchmark_dossiers"] > 0
    assert portal["reconciliation"]["differences"] == 0
    assert portal["sync_calls"] > 0
    assert "National portal: clean" in markdown(result)
    assert "portal" in result["peak_rss_mb"]
