"""The whole system as separate processes on free ports: what ``motcua up``
runs, for end-to-end tests and the benchmark."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from motcua.shared.local_broker import free_port
from motcua.shared.testing.helpers import service_process, wait_http_ok

SERVICES = ("intake", "routing", "notification", "reporting")


@dataclass
class RunningSystem:
    urls: dict[str, str]
    data_dir: Path
    env: dict[str, str]
    processes: dict[str, object] = field(default_factory=dict)
    replica_urls: dict[str, list[str]] = field(default_factory=dict)
    """Every instance's URL per service (the first is ``urls[service]``)."""

    def log(self, service: str) -> str:
        path = self.data_dir / "logs" / f"{service}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def wait_ready(self, *, timeout_s: float = 120.0) -> None:
        """Wait until every service answers ``/readyz``; a failure carries
        the warnings and errors its log holds, so a CI run says why."""
        for service, url in self.urls.items():
            try:
                await wait_http_ok(f"{url}/readyz", timeout_s=timeout_s)
            except AssertionError as exc:
                lines = [
                    line
                    for line in self.log(service).splitlines()
                    if '"level": "warning"' in line or '"level": "error"' in line
                ]
                # the probe's own warnings say less than the connect loop's
                lines = [ln for ln in lines if '"not_ready"' not in ln][-15:] + [
                    ln for ln in lines if '"not_ready"' in ln
                ][-3:]
                tail = "\n".join(lines)
                msg = f"{service} not ready: {exc}\n{service}'s warnings:\n{tail}"
                raise AssertionError(msg) from None


@contextmanager
def running_system(
    *,
    bootstrap_servers: str,
    profile: str,
    data_dir: Path,
    database_urls: dict[str, str] | None = None,
    extra_env: dict[str, str] | None = None,
    services: tuple[str, ...] = SERVICES,
    replicas: int = 1,
) -> Iterator[RunningSystem]:
    """Start each service as ``python -m motcua.<service>``; stop them after.

    ``replicas`` > 1 starts that many instances of each service in the same
    consumer groups, on ports of their own (``<service>#2``… in
    ``processes`` and ``replica_urls``); they share a database, so it must be
    PostgreSQL (``database_urls``)."""
    if replicas > 1 and not database_urls:
        msg = "several instances of a service need PostgreSQL (database_urls)"
        raise ValueError(msg)
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "KAFKA_PROFILE": profile,
        "MOTCUA_DATA_DIR": str(data_dir),
        "MOTCUA_ENVIRONMENT": "test",
        **(extra_env or {}),
    }
    urls: dict[str, str] = {}
    for service in services:
        port = free_port()
        env[f"MOTCUA_{service.upper()}_HTTP_PORT"] = str(port)
        urls[service] = f"http://127.0.0.1:{port}"
        if database_urls and service in database_urls:
            env[f"MOTCUA_{service.upper()}_DATABASE_URL"] = database_urls[service]
    if "portal" in urls and "intake" in urls:  # filings go to this system's intake
        env.setdefault("MOTCUA_PORTAL_INTAKE_URL", urls["intake"])
    system = RunningSystem(urls=urls, data_dir=data_dir, env=env)
    with ExitStack() as stack:
        for service in services:
            system.processes[service] = stack.enter_context(
                service_process(
                    f"motcua.{service}", env, data_dir / "logs" / f"{service}.log"
                )
            )
            system.replica_urls[service] = [urls[service]]
            for n in range(2, replicas + 1):
                port = free_port()
                name = f"{service}#{n}"
                system.replica_urls[service].append(f"http://127.0.0.1:{port}")
                system.processes[name] = stack.enter_context(
                    service_process(
                        f"motcua.{service}",
                        {**env, f"MOTCUA_{service.upper()}_HTTP_PORT": str(port)},
                        data_dir / "logs" / f"{service}-{n}.log",
                    )
                )
        yield system
