"""The Kubernetes manifests of deploy/kubernetes, checked offline.

Each overlay is rendered once with ``kubectl kustomize`` (as an operator
applies it), then checked three ways: every core resource against the
Kubernetes schemas (kubernetes-validate, strict), the whole rendering for its
security posture (checkov, installed by ``scripts/install-checkov`` in its own
environment), and against the code: every service has its Deployment,
Service, disruption budget and migration Job with the right image, port,
probes and settings; consumers scale on lag no further than their topics'
partitions; every topic is declared; no secret is written down; the memory
requested covers what the benchmark measured.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from deploy_checks import expected_topics, known_variables, secret_variables
from ruamel.yaml import YAML

from motcua.shared.cli.services import installed_services

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
OVERLAYS = ("small", "large")
KUBERNETES_VERSION = "1.29"  # the oldest minor the manifests promise to fit
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
CUSTOM_KINDS = {"KafkaTopic", "ScaledObject", "PodMonitor", "PrometheusRule"}
SCALED = ("routing", "notification", "reporting")  # consumers that scale on lag
UNMEASURED = {"portal": "routing"}
"""Services the benchmark does not run yet, and the one they are sized like."""

Resource = dict[str, Any]


@cache
def render(path: str) -> str:
    """``kubectl kustomize`` of a folder under deploy/kubernetes (once per run)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (Debian's kubernetes-client package)")
    done = subprocess.run(
        [kubectl, "kustomize", str(KUBERNETES / path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def resources(path: str) -> list[Resource]:
    return [d for d in YAML(typ="safe", pure=True).load_all(render(path)) if d]


def one(docs: list[Resource], kind: str, name: str) -> Resource:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, (
        f"{kind}/{name}: {len(found)} found (a new service needs its folder in "
        "deploy/kubernetes/base: docs/deploy.md, 'Adding a service')"
    )
    return found[0]


def env_keys(docs: list[Resource], names: list[str]) -> set[str]:
    return {
        key for n in names for key in one(docs, "ConfigMap", n).get("data", {}) or {}
    }


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_every_overlay_renders_and_fits_the_kubernetes_schemas(overlay: str) -> None:
    for path in (f"overlays/{overlay}", f"overlays/{overlay}/topics"):
        docs = resources(path)
        assert docs
        for doc in docs:
            if doc["kind"] in CUSTOM_KINDS:
                continue  # not in the Kubernetes schemas: checked below
            try:
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{path}: {doc['kind']}/{doc['metadata']['name']}: {exc}")


def test_the_schema_check_can_fail() -> None:
    docs = resources("overlays/small")
    broken = json.loads(json.dumps(one(docs, "Deployment", "motcua-intake")))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"][
        "paht"
    ] = "/readyz"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def _checkov(folder: Path) -> list[dict[str, Any]]:
    if not CHECKOV.exists():
        pytest.skip("checkov is not installed (scripts/install-checkov could not)")
    done = subprocess.run(
        [
            str(CHECKOV),
            "--directory",
            str(folder),
            "--config-file",
            str(KUBERNETES / ".checkov.yaml"),
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(done.stdout)
    failed: list[dict[str, Any]] = report["results"]["failed_checks"]
    return failed


_PRIVILEGED_ROOT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: careless, namespace: motcua}
spec:
  selector: {matchLabels: {app: careless}}
  template:
    metadata: {labels: {app: careless}}
    spec:
      containers:
        - name: careless
          image: motcua-intake:0.1.0
          securityContext: {privileged: true, runAsUser: 0}
"""


def test_checkov_passes_every_overlay_and_fails_a_careless_pod(
    tmp_path: Path,
) -> None:
    """One checkov run (it is slow to start): both overlays must pass every
    check; a privileged, root, limitless Deployment beside them must not."""
    for overlay in OVERLAYS:
        for path in (f"overlays/{overlay}", f"overlays/{overlay}/topics"):
            name = path.replace("/", "-") + ".yaml"
            (tmp_path / name).write_text(render(path))
    (tmp_path / "careless.yaml").write_text(_PRIVILEGED_ROOT)
    failed = _checkov(tmp_path)
    ours = [f for f in failed if not f["file_path"].endswith("careless.yaml")]
    assert ours == [], [(f["check_id"], f["resource"]) for f in ours]
    careless = {f["check_id"] for f in failed}
    # privileged, root, no limits, no probes
    assert {"CKV_K8S_16", "CKV_K8S_23", "CKV_K8S_11", "CKV_K8S_13"} <= careless


def _services() -> Iterator[Any]:
    yield from installed_services()


def test_every_service_has_its_workload_as_the_code_declares_it(overlay: str) -> None:
    docs = resources(f"overlays/{overlay}")
    assert not [d for d in docs if d["kind"] == "Secret"], "secrets are never written"
    common = one(docs, "ConfigMap", "motcua-common")["data"]
    for service in _services():
        name = f"motcua-{service.name}"
        deployment = one(docs, "Deployment", name)
        pod = deployment["spec"]["template"]["spec"]
        [container] = pod["containers"]
        assert re.fullmatch(rf"(.*/)?motcua-{service.name}[:@].+", container["image"])
        assert container["ports"] == [
            {"name": "http", "containerPort": service.default_port}
        ]
        # ready while the database answers: a Kafka outage leaves HTTP serving
        assert (
            container["readinessProbe"]["httpGet"]["path"] == "/readyz?broker=optional"
        )
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        refs = [next(iter(ref.values()))["name"] for ref in container["envFrom"]]
        assert refs == ["motcua-common", name, "motcua-common", name]
        # the variables written here are ones the service reads, never secrets
        keys = env_keys(docs, ["motcua-common", name])
        unknown = keys - known_variables(service)
        assert not unknown, f"{service.name} reads no {sorted(unknown)}"
        assert not keys & secret_variables(service), "a secret in a ConfigMap"
        own = one(docs, "ConfigMap", name)["data"]
        prefix = f"MOTCUA_{service.name.upper()}_"
        assert own[f"{prefix}MIGRATE_ON_START"] == "false"
        assert own[f"{prefix}HTTP_HOST"] == "0.0.0.0"
        assert common["MOTCUA_ENVIRONMENT"] == "production"
        # migrations: the Job runs them, the pods wait for them
        job = one(docs, "Job", f"{name}-migrate")
        [migrate] = job["spec"]["template"]["spec"]["containers"]
        assert migrate["command"] == ["motcua", service.name, "migrate"]
        assert migrate["image"] == container["image"]
        [wait] = pod["initContainers"]
        assert wait["command"][:5] == [
            "motcua",
            service.name,
            "migrate",
            "--check",
            "--wait",
        ]
        # reachable, and drained one at a time
        svc = one(docs, "Service", name)
        assert svc["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
        pdb = one(docs, "PodDisruptionBudget", name)
        assert pdb["spec"]["selector"]["matchLabels"] == svc["spec"]["selector"]


def test_consumers_scale_on_lag_up_to_their_partitions(overlay: str) -> None:
    docs = resources(f"overlays/{overlay}")
    topics = {
        t["spec"]["topicName"]: t["spec"]["partitions"]
        for t in resources(f"overlays/{overlay}/topics")
    }
    assert set(topics) >= set(expected_topics())
    partitions = int(
        one(docs, "ConfigMap", "motcua-common")["data"]["KAFKA_PARTITIONS"]
    )
    assert topics["motcua.dossier.events"] == partitions
    assert topics["motcua.notification.events"] == partitions
    for name in SCALED:
        scaled = one(docs, "ScaledObject", f"motcua-{name}")
        spec = scaled["spec"]
        assert spec["scaleTargetRef"]["name"] == f"motcua-{name}"
        assert "replicas" not in one(docs, "Deployment", f"motcua-{name}")["spec"]
        watched = [t["metadata"]["topic"] for t in spec["triggers"]]
        assert all(t["type"] == "kafka" for t in spec["triggers"])
        assert {t["metadata"]["consumerGroup"] for t in spec["triggers"]} == {name}
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        assert spec["maxReplicaCount"] <= min(topics[t] for t in watched)
    for topic in resources(f"overlays/{overlay}/topics"):
        assert topic["metadata"]["labels"]["strimzi.io/cluster"]
        assert topic["spec"]["replicas"] >= 3


def _peak_rss_mib() -> dict[str, float]:
    """The highest peak RSS per process over the benchmark results."""
    peaks: dict[str, float] = {}
    for path in (ROOT / "bench" / "results").glob("*.md"):
        for m in re.finditer(
            r"^\| (\w[\w-]*) \| ([\d.]+) \| [\d.-]+ \| [\d.]+ \|$",
            path.read_text(),
            re.M,
        ):
            peaks[m[1]] = max(peaks.get(m[1], 0.0), float(m[2]) * 1e6 / 2**20)
    return peaks


def _mib(quantity: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return int(number) * (1024 if unit == "Gi" else 1)


def test_memory_requests_cover_the_benchmarks_peak(overlay: str) -> None:
    docs = resources(f"overlays/{overlay}")
    peaks = _peak_rss_mib()
    for service in _services():
        [container] = one(docs, "Deployment", f"motcua-{service.name}")["spec"][
            "template"
        ]["spec"]["containers"]
        requested = _mib(container["resources"]["requests"]["memory"])
        limit = _mib(container["resources"]["limits"]["memory"])
        measured = UNMEASURED.get(service.name, service.name)
        assert measured in peaks, f"no benchmark figure for {service.name}"
        assert requested >= peaks[measured], (service.name, requested)
        assert limit >= 2 * peaks[measured], (service.name, limit)


def test_the_prometheus_rule_is_the_rules_file() -> None:
    rule = one(resources("overlays/small"), "PrometheusRule", "motcua")
    source = YAML(typ="safe", pure=True).load(
        (ROOT / "deploy" / "prometheus" / "rules" / "motcua.rules.yml").read_text()
    )
    assert rule["spec"]["groups"] == source["groups"], (
        "run scripts/sync-prometheus-rule"
    )
    monitor = one(resources("overlays/small"), "PodMonitor", "motcua")
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "http"
    assert {"targetLabel": "system", "replacement": "motcua"} in endpoint["relabelings"]
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/name"
