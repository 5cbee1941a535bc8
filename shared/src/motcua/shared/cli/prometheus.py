"""``motcua up --with-prometheus``: Debian's Prometheus beside the services.

It scrapes every service ``motcua up`` starts (one job per service, labelled
``system="motcua"`` as in production) and loads the production alert rules of
``deploy/prometheus/rules/``, so an operator sees locally what would page them.
``alert_for`` shortens the rules' ``for:`` windows in the local copy only (a
demonstration need not wait ten minutes); the files in ``deploy/`` are never
changed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from motcua.shared.service import ProcessSpec, ServiceDefinition

RULES_DIR = Path("deploy") / "prometheus" / "rules"
RUNBOOK = Path("docs") / "operations.md"
_FOR = re.compile(r"^(?P<indent>\s+)for: (?P<duration>\S+)\s*$", re.MULTILINE)
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w)")


class PrometheusUnavailableError(RuntimeError):
    pass


def duration_seconds(text: str) -> float:
    """A Prometheus duration (``90s``, ``1h30m``) in seconds."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        msg = f"not a Prometheus duration: {text!r}"
        raise ValueError(msg)
    return sum(int(n) * _UNITS[u] for n, u in parts)


def shorten_for(rules: str, limit: str) -> str:
    """The rules with every ``for:`` longer than ``limit`` set to ``limit``."""
    cap = duration_seconds(limit)

    def replace(m: re.Match[str]) -> str:
        if duration_seconds(m["duration"]) <= cap:
            return m[0]
        return f"{m['indent']}for: {limit}"

    return _FOR.sub(replace, rules)


def find_checkout(start: Path | None = None) -> Path:
    """The repository checkout holding the rules (``./motcua`` runs from it)."""
    base = (start or Path.cwd()).resolve()
    for folder in [base, *base.parents, *Path(__file__).resolve().parents]:
        if (folder / RULES_DIR).is_dir():
            return folder
    msg = f"cannot find {RULES_DIR} (run `./motcua up` from the repository)"
    raise PrometheusUnavailableError(msg)


def prometheus_binary(checkout: Path) -> str:
    """Debian's ``prometheus``, installed by ``scripts/install-prometheus`` if
    missing (``MOTCUA_PROMETHEUS`` names another binary)."""
    explicit = os.environ.get("MOTCUA_PROMETHEUS")
    if explicit:
        return explicit
    found = shutil.which("prometheus")
    installer = checkout / "scripts" / "install-prometheus"
    if found is None and installer.exists():
        subprocess.run([str(installer)], check=False)  # noqa: S603  (our script)
        found = shutil.which("prometheus")
    if found is None:
        msg = (
            "prometheus is not installed: `apt-get install prometheus` (Debian), "
            "or set MOTCUA_PROMETHEUS to its binary"
        )
        raise PrometheusUnavailableError(msg)
    return found


@dataclass(frozen=True)
class LocalPrometheus:
    port: int
    folder: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def write_config(
    local: LocalPrometheus,
    services: list[ServiceDefinition],
    *,
    checkout: Path,
    alert_for: str | None,
) -> Path:
    """prometheus.yml and the rules' local copy in ``local.folder``."""
    rules_out = local.folder / "rules"
    rules_out.mkdir(parents=True, exist_ok=True)
    for old in rules_out.glob("*.yml"):
        old.unlink()
    for source in sorted((checkout / RULES_DIR).glob("*.yml")):
        text = source.read_text()
        (rules_out / source.name).write_text(
            shorten_for(text, alert_for) if alert_for else text
        )
    config = {
        "global": {
            "scrape_interval": "5s",
            "evaluation_interval": "5s",
            "external_labels": {
                "runbook_base": (checkout / RUNBOOK).resolve().as_uri(),
            },
        },
        "rule_files": [str(rules_out / "*.yml")],
        "scrape_configs": [
            {
                "job_name": service.name,
                "metrics_path": "/metrics/",
                "static_configs": [
                    {
                        "targets": [f"127.0.0.1:{service.default_port}"],
                        "labels": {"system": "motcua"},
                    }
                ],
            }
            for service in services
        ],
    }
    path = local.folder / "prometheus.yml"
    path.write_text(json.dumps(config, indent=2))  # JSON is YAML
    return path


def prometheus_process(
    data_dir: Path,
    services: list[ServiceDefinition],
    *,
    port: int,
    alert_for: str | None,
) -> ProcessSpec:
    """The process spec ``motcua up`` starts for Prometheus."""
    if alert_for:
        duration_seconds(alert_for)  # refuse a bad value before anything starts
    checkout = find_checkout()
    binary = prometheus_binary(checkout)
    local = LocalPrometheus(port=port, folder=data_dir.resolve() / "prometheus")
    config = write_config(local, services, checkout=checkout, alert_for=alert_for)
    return ProcessSpec(
        name="prometheus",
        argv=[
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={local.folder / 'data'}",
            "--storage.tsdb.retention.time=2d",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--web.external-url={local.url}",
        ],
        url=local.url,
        health_url=f"{local.url}/-/ready",
    )
