"""The whole system as separate processes on free ports: what ``motcua up``
runs, for end-to-end tests and the benchmark."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from motcua.shared.local_broker import free_port
from motcua.shared.testing.helpers import service_process

SERVICES = ("intake", "routing", "notification", "reporting")


@dataclass
class RunningSystem:
    urls: dict[str, str]
    data_dir: Path
    env: dict[str, str]
    processes: dict[str, object] = field(default_factory=dict)

    def log(self, service: str) -> str:
        path = self.data_dir / "logs" / f"{service}.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextmanager
def running_system(
    *,
    bootstrap_servers: str,
    profile: str,
    data_dir: Path,
    database_urls: dict[str, str] | None = None,
    extra_env: dict[str, str] | None = None,
    services: tuple[str, ...] = SERVICES,
) -> Iterator[RunningSystem]:
    """Start each service as ``python -m motcua.<service>``; stop them after."""
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
        yield system
