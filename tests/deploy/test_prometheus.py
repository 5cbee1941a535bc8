"""The alert rules and the local Prometheus, checked with Debian's own tools.

``promtool test rules`` runs the unit tests of every alert
(deploy/prometheus/tests/); the rules' metric names must exist in the code, each
alert must be tested and documented in docs/operations.md; and the Prometheus
``motcua up --with-prometheus`` starts must accept its generated configuration
and load every rule. ``scripts/install-prometheus`` (run by ``./motcua test``)
installs the tools; where it could not, these tests are skipped, saying why.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from ruamel.yaml import YAML

from motcua.shared.cli.prometheus import (
    LocalPrometheus,
    duration_seconds,
    shorten_for,
    write_config,
)
from motcua.shared.cli.services import installed_services
from motcua.shared.local_broker import free_port

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "rules" / "motcua.rules.yml"
UNIT_TESTS = PROMETHEUS / "tests" / "motcua.rules.test.yml"
RUNBOOK = ROOT / "docs" / "operations.md"


def _tool(name: str) -> str:
    found = os.environ.get(f"MOTCUA_{name.upper()}") or shutil.which(name)
    if not found:
        pytest.skip(
            f"{name} is not installed (Debian's prometheus package; "
            "scripts/install-prometheus could not install it here)"
        )
    return found


def _load(path: Path) -> dict:
    return YAML(typ="safe", pure=True).load(path.read_text())


def _alerts(rules: dict) -> list[dict]:
    return [r for g in rules["groups"] for r in g["rules"] if "alert" in r]


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_tool("promtool"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_alert_passes_its_promtool_unit_tests() -> None:
    checked = _promtool("check", "rules", str(RULES), cwd=ROOT)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = _promtool("test", "rules", str(UNIT_TESTS), cwd=ROOT)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_promtool_catches_a_rule_that_drifts_from_its_tests(tmp_path: Path) -> None:
    """The unit tests can fail: with the lag threshold doubled, they do."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    text = RULES.read_text()
    assert ") > 500" in text
    (tmp_path / "rules" / RULES.name).write_text(text.replace(") > 500", ") > 1000"))
    shutil.copy(UNIT_TESTS, tmp_path / "tests" / UNIT_TESTS.name)
    tested = _promtool(
        "test", "rules", str(tmp_path / "tests" / UNIT_TESTS.name), cwd=tmp_path
    )
    assert tested.returncode != 0
    assert "MotcuaConsumerLagHigh" in tested.stdout + tested.stderr


def test_every_alert_is_unit_tested_firing_and_documented() -> None:
    tests = _load(UNIT_TESTS)["tests"]
    fired = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    quiet = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if not case.get("exp_alerts")
    }
    runbook = RUNBOOK.read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in runbook.splitlines()
        if line.startswith("#")
    }
    for alert in _alerts(_load(RULES)):
        name = alert["alert"]
        assert name in fired, f"{name}: no promtool case where it fires"
        assert name in quiet, f"{name}: no promtool case where it stays quiet"
        url = alert["annotations"]["runbook_url"]
        anchor = url.split("#", 1)[1]
        assert anchor in anchors, f"{name}: docs/operations.md has no #{anchor}"
        assert alert["labels"]["severity"] in ("warning", "critical")


def test_the_rules_read_metrics_the_services_export() -> None:
    """A renamed metric would silence its alert: every name a rule reads is
    declared in the code (or is Prometheus's own ``up``)."""
    sources = "\n".join(
        p.read_text()
        for base in (ROOT / "shared" / "src", ROOT / "services")
        for p in base.rglob("*.py")
        if "tests" not in p.parts
    )
    declared = set(re.findall(r'"(motcua_[a-z0-9_]+)"', sources))
    for alert in _alerts(_load(RULES)):
        for name in re.findall(r"\b(motcua_[a-z0-9_]+)", alert["expr"]):
            assert name in declared, f"{alert['alert']} reads {name}, never exported"


def test_shorter_for_windows_are_local_only() -> None:
    text = RULES.read_text()
    short = shorten_for(text, "1m")
    windows = [duration_seconds(w) for w in re.findall(r"for: (\S+)", short)]
    assert windows
    assert max(windows) == 60
    assert "for: 1m" in short
    assert text == RULES.read_text()  # the production file is untouched
    assert duration_seconds("1h30m") == 5400
    with pytest.raises(ValueError, match="duration"):
        duration_seconds("ten minutes")


def test_local_prometheus_loads_every_rule_and_scrapes_every_service(
    tmp_path: Path,
) -> None:
    """What ``motcua up --with-prometheus`` runs: promtool accepts its config,
    and the real Prometheus starts on it with every rule and target."""
    services = installed_services()
    local = LocalPrometheus(port=free_port(), folder=tmp_path / "prometheus")
    config = write_config(local, services, checkout=ROOT, alert_for="2m")
    checked = _promtool("check", "config", str(config), cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    process = subprocess.Popen(
        [
            _tool("prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{local.port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        rules: list[dict] = []
        targets: dict = {"activeTargets": []}
        with httpx.Client(base_url=local.url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                try:
                    body = client.get("/api/v1/rules").json()
                    rules = [r for g in body["data"]["groups"] for r in g["rules"]]
                    targets = client.get("/api/v1/targets").json()["data"]
                    if rules and len(targets["activeTargets"]) == len(services):
                        break
                except (httpx.HTTPError, ValueError):  # not serving JSON yet
                    pass
                time.sleep(0.3)
        assert {r["name"] for r in rules} == {a["alert"] for a in _alerts(_load(RULES))}
        assert max(r["duration"] for r in rules) == 120  # --alert-for 2m
        scraped = {t["labels"]["job"]: t["labels"] for t in targets["activeTargets"]}
        assert set(scraped) == {s.name for s in services}
        assert all(labels["system"] == "motcua" for labels in scraped.values())
    finally:
        process.terminate()
        process.wait(20)


def test_the_kubernetes_scrape_example_is_a_valid_configuration(
    tmp_path: Path,
) -> None:
    """Debian's Prometheus is built without Kubernetes discovery, so promtool
    checks the example with its discovery swapped for a static target (every
    other line as written, rules loaded); the relabelling keeps exactly the
    pods the manifests label as motcua services."""
    example = PROMETHEUS / "kubernetes-scrape.yml"
    config = _load(example)
    [job] = config["scrape_configs"]
    discovery = job.pop("kubernetes_sd_configs")
    assert discovery == [{"role": "pod", "namespaces": {"names": ["motcua"]}}]
    job["static_configs"] = [{"targets": ["127.0.0.1:8001"]}]
    config["rule_files"] = [str(RULES)]
    copy = tmp_path / "prometheus.yml"
    copy.write_text(json.dumps(config))
    checked = _promtool("check", "config", str(copy), cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(_alerts(_load(RULES)))} rules found" in checked.stdout
    keep = job["relabel_configs"][0]
    assert keep["action"] == "keep"
    labels = dict(
        zip(
            [
                name.removeprefix("__meta_kubernetes_pod_label_")
                for name in keep["source_labels"]
            ],
            keep["regex"].split(";"),
            strict=True,
        )
    )
    assert labels == {
        "app_kubernetes_io_part_of": "motcua",
        "app_kubernetes_io_component": "service",
        "__meta_kubernetes_pod_container_port_name": "http",
    }


def test_up_refuses_a_bad_alert_window_or_service_before_starting(
    tmp_path: Path,
) -> None:
    """Nothing starts (no port is taken) when an option is wrong."""
    motcua = [sys.executable, "-c", "from motcua.shared.cli.main import main; main()"]
    data = str(tmp_path / "var")
    for args, said in (
        (
            ["--with-prometheus", "--alert-for", "ten minutes"],
            "not a Prometheus duration",
        ),
        (["--without", "nosuch"], "no such service: nosuch"),
    ):
        done = subprocess.run(
            [*motcua, "up", "--data-dir", data, *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2, done.stdout + done.stderr
        assert said in done.stdout + done.stderr


def test_the_compose_prometheus_scrapes_every_compose_service(tmp_path: Path) -> None:
    """docker-compose.yml's Prometheus: one job per motcua container at its
    compose name and port, labelled as the rules expect, its rules mounted;
    promtool accepts the configuration (the rules' path as mounted)."""
    from deploy_checks import container_ports, load_compose, motcua_containers

    compose = load_compose(ROOT)
    containers = motcua_containers(ROOT, compose)
    prometheus = compose["services"]["prometheus"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in prometheus["volumes"]}
    config_file = ROOT / mounts["/etc/prometheus/prometheus.yml"]
    assert (ROOT / mounts["/etc/prometheus/rules"]).resolve() == RULES.parent
    config = _load(config_file)
    jobs = {
        job["job_name"]: job["static_configs"][0] for job in config["scrape_configs"]
    }
    assert set(jobs) == set(containers.values()), (
        "one scrape job per motcua service in deploy/prometheus/compose.yml"
    )
    for name, service in containers.items():
        [port] = container_ports(compose["services"][name])
        assert jobs[service]["targets"] == [f"{name}:{port}"]
        assert jobs[service]["labels"] == {"system": "motcua"}
    config["rule_files"] = [str(RULES)]
    copy = tmp_path / "prometheus.yml"
    copy.write_text(json.dumps(config))
    checked = _promtool("check", "config", str(copy), cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
