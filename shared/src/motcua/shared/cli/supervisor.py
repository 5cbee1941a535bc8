"""``motcua up``: the broker and every service as separate processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
from rich.console import Console
from rich.table import Table

from motcua.shared.cli.services import installed_services, load_object
from motcua.shared.local_broker import LocalBroker, port_open
from motcua.shared.service import ProcessSpec

console = Console(stderr=True)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    health_url: str | None
    log_path: Path


class Supervisor:
    def __init__(self, *, data_dir: Path, broker_port: int, host: str) -> None:
        self.data_dir = data_dir.resolve()
        self.broker_port = broker_port
        self.host = host
        self.broker: LocalBroker | None = None
        self.children: list[Child] = []
        self.extra_env: dict[str, str] = {}
        self._stopping = False

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["MOTCUA_DATA_DIR"] = str(self.data_dir)
        env.setdefault("PYTHONUNBUFFERED", "1")
        if self.broker is not None:
            env["KAFKA_BOOTSTRAP_SERVERS"] = self.broker.bootstrap_servers
            env["KAFKA_PROFILE"] = "tansu"
        env.update(self.extra_env)
        return env

    def start_broker(self) -> str:
        if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            return f"external Kafka at {os.environ['KAFKA_BOOTSTRAP_SERVERS']}"
        if port_open(self.host, self.broker_port):
            os.environ["KAFKA_BOOTSTRAP_SERVERS"] = f"{self.host}:{self.broker_port}"
            os.environ.setdefault("KAFKA_PROFILE", "tansu")
            return f"broker already listening on {self.host}:{self.broker_port}"
        self.broker = LocalBroker(self.host, self.broker_port).start()
        return f"tansu (memory storage) on {self.broker.bootstrap_servers}"

    def spawn(self, spec: ProcessSpec) -> None:
        log_dir = self.data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"{spec.name}.log"
        with log_path.open("ab") as log_file:
            process = subprocess.Popen(  # noqa: S603  (our own interpreter and modules)
                spec.argv,
                env=self.environment(),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us, and we stop them in order
            )
        self.children.append(
            Child(spec.name, process, spec.url, spec.health_url, log_path)
        )

    def start_all(self, without: frozenset[str] = frozenset()) -> None:
        """Every service (but those in ``without``, which the operator runs
        alone) and the helper processes of all of them."""
        for service in installed_services():
            if service.extra_processes:
                for spec in load_object(service.extra_processes)(self.data_dir):
                    self.spawn(spec)
        for service in installed_services():
            if service.name in without:
                continue
            url = f"http://127.0.0.1:{service.default_port}"
            self.spawn(
                ProcessSpec(
                    name=service.name,
                    argv=[sys.executable, "-m", f"motcua.{service.name}"],
                    url=url,
                    health_url=f"{url}/readyz",
                )
            )

    def wait_ready(self, timeout_s: float = 90.0) -> bool:
        deadline = time.monotonic() + timeout_s
        pending = {c.name: c for c in self.children if c.health_url}
        with httpx.Client(timeout=1.0) as client:
            while pending and time.monotonic() < deadline:
                for name, child in list(pending.items()):
                    if child.process.poll() is not None:
                        console.print(f"[red]{name} exited[/red]; see {child.log_path}")
                        return False
                    try:
                        if client.get(child.health_url or "").status_code == 200:
                            del pending[name]
                    except httpx.HTTPError:
                        pass
                time.sleep(0.2)
        if pending:
            console.print(
                f"[red]not ready after {timeout_s:.0f} s:[/red] {', '.join(pending)}"
            )
        return not pending

    def print_summary(self, broker: str) -> None:
        table = Table(title="motcua is running", show_lines=False)
        table.add_column("process")
        table.add_column("address")
        table.add_column("log")
        table.add_row("broker", broker, "")
        links = {s.name: s.links for s in installed_services()}
        links["prometheus"] = (("alerts", "/alerts"),)
        for child in self.children:
            extra = "  ".join(
                f"{label}: {child.url}{path}"
                for label, path in links.get(child.name, ())
            )
            table.add_row(
                child.name, f"{child.url}  {extra}".strip(), str(child.log_path)
            )
        console.print(table)
        console.print(f"Data folder: {self.data_dir}    Stop with Ctrl-C.")

    def watch(self) -> int:
        while not self._stopping:
            for child in self.children:
                code = child.process.poll()
                if code is not None:
                    console.print(
                        f"[red]{child.name} stopped (exit {code})[/red]; see {child.log_path}"
                    )
                    return 1
            time.sleep(0.5)
        return 0

    def request_stop(self, _signum: int, _frame: FrameType | None) -> None:
        self._stopping = True

    def stop_all(self) -> None:
        console.print("Stopping…")
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for child in reversed(self.children):
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.process.wait(remaining)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
        if self.broker is not None:
            self.broker.stop()
        console.print("Stopped.")


def _keystore(data_dir: Path) -> None:
    """The agencies' signing keys: created under the data folder at the first
    start (development), before any service signs with them."""
    from motcua.shared.settings import CommonSettings, SigningSettings
    from motcua.shared.signing.local import ensure_keystore

    store, created = ensure_keystore(
        CommonSettings(data_dir=data_dir), SigningSettings()
    )
    if created:
        console.print(f"Signing keys created in {store.folder} (development only).")


def run_up(
    *,
    data_dir: Path,
    broker_port: int,
    host: str = "127.0.0.1",
    prometheus: ProcessSpec | None = None,
    without: frozenset[str] = frozenset(),
) -> int:
    supervisor = Supervisor(data_dir=data_dir, broker_port=broker_port, host=host)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    if prometheus is not None:  # the console links to its alerts
        supervisor.extra_env["MOTCUA_REPORTING_ALERTS_URL"] = f"{prometheus.url}/alerts"
    try:
        _keystore(supervisor.data_dir)
        broker = supervisor.start_broker()
        supervisor.start_all(without)
        if prometheus is not None:
            supervisor.spawn(prometheus)
        if not supervisor.wait_ready():
            return 1
        supervisor.print_summary(broker)
        return supervisor.watch()
    finally:
        supervisor.stop_all()
