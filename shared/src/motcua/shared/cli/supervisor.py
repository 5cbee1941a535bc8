"""``motcua up``: the broker and every service as separate processes.

Supervision: a process that dies is started again, after a pause that doubles
with each quick failure (1 s, 2 s … 30 s; back to 1 s once it has run a
minute), and the rest keep running. The local broker too: a new one starts
empty, and the services' outbox relays publish again what it lost (ADR 0008).

Stopping (Ctrl-C, SIGTERM): the services first, all at once, each given time
to finish its batch, commit its offsets and publish its outbox while the broker
is still there; then the helper processes; the broker last. Every child runs in
its own session, so a Ctrl-C in the terminal reaches only the supervisor and
nothing stops out of order. A second Ctrl-C stops everything at once. SIGHUP
stops everything the same way and starts it all again in the same data folder
(what an operator's stop and start does: ``motcua chaos`` uses it).

``<data folder>/run/motcua-up.json`` says what runs: the supervisor's pid, the
broker's, and each process's pid, address and kind, rewritten at every start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx
from rich.console import Console
from rich.table import Table

from motcua.shared.cli.services import installed_services, load_object
from motcua.shared.local_broker import BrokerUnavailableError, LocalBroker, port_open
from motcua.shared.service import ProcessSpec

console = Console(stderr=True)

SERVICE_DRAIN_S = 30.0
"""How long a stopping service may take to finish its work."""
HELPER_STOP_S = 10.0
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
STEADY_AFTER_S = 60.0
"""A process that ran this long before dying is restarted at once-ish again."""


@dataclass
class Child:
    spec: ProcessSpec
    log_path: Path
    kind: str
    """``service`` (stopped first) or ``helper`` (simulators, extra processes)."""
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff_s: float = FIRST_BACKOFF_S
    restart_at: float | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def url(self) -> str:
        return self.spec.url

    @property
    def health_url(self) -> str | None:
        return self.spec.health_url

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Supervisor:
    data_dir: Path
    broker_port: int
    host: str = "127.0.0.1"
    extra: Sequence[ProcessSpec] = ()
    """More helper processes to run and supervise (e.g. a metrics scraper)."""
    without: frozenset[str] = frozenset()
    """Services not to start (the operator runs them alone)."""
    extra_env: dict[str, str] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic
    broker: LocalBroker | None = None
    children: list[Child] = field(default_factory=list)
    _stopping: bool = False
    _forced: bool = False
    _restart_all: bool = False

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.resolve()

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["MOTCUA_DATA_DIR"] = str(self.data_dir)
        env.setdefault("PYTHONUNBUFFERED", "1")
        if self.broker is not None:
            env["KAFKA_BOOTSTRAP_SERVERS"] = self.broker.bootstrap_servers
            env["KAFKA_PROFILE"] = "tansu"
        env.update(self.extra_env)
        return env

    # -- starting ------------------------------------------------------------------

    def start_broker(self) -> str:
        if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            return f"external Kafka at {os.environ['KAFKA_BOOTSTRAP_SERVERS']}"
        if port_open(self.host, self.broker_port):
            os.environ["KAFKA_BOOTSTRAP_SERVERS"] = f"{self.host}:{self.broker_port}"
            os.environ.setdefault("KAFKA_PROFILE", "tansu")
            return f"broker already listening on {self.host}:{self.broker_port}"
        self.broker = LocalBroker(self.host, self.broker_port, own_session=True)
        self.broker.start()
        self.write_state()
        return f"tansu (memory storage) on {self.broker.bootstrap_servers}"

    def add(self, spec: ProcessSpec, *, kind: str) -> Child:
        log_dir = self.data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        child = Child(spec, log_dir / f"{spec.name}.log", kind)
        self.children.append(child)
        self._launch(child)
        return child

    def _launch(self, child: Child) -> None:
        with child.log_path.open("ab") as log_file:
            child.process = subprocess.Popen(  # noqa: S603  (our own interpreter and modules)
                child.spec.argv,
                env=self.environment(),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us, and we stop them in order
            )
        child.started_at = self.clock()
        child.restart_at = None
        self.write_state()

    def write_state(self) -> None:
        """What runs, for operators and ``motcua chaos`` (JSON, replaced whole)."""
        import json

        run = self.data_dir / "run"
        run.mkdir(parents=True, exist_ok=True)
        broker = self.broker
        state = {
            "supervisor": os.getpid(),
            "data_dir": str(self.data_dir),
            "broker": None
            if broker is None
            else {
                "pid": broker.process.pid if broker.process else None,
                "bootstrap_servers": broker.bootstrap_servers,
                "cluster_id": broker.cluster_id,
            },
            "bootstrap_servers": os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
            or (broker.bootstrap_servers if broker else ""),
            "processes": {
                c.name: {
                    "pid": c.process.pid if c.process else None,
                    "kind": c.kind,
                    "url": c.url,
                    "health_url": c.health_url,
                    "restarts": c.restarts,
                }
                for c in self.children
            },
        }
        path = run / "motcua-up.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2), encoding="utf-8")
        temporary.replace(path)

    def start_all(self) -> None:
        from motcua.shared.personal_data import ensure_dev_keys

        if not os.environ.get("MOTCUA_PERSONAL_DATA_KEYS") and not os.environ.get(
            "MOTCUA_PERSONAL_DATA_KEYS_FILE"
        ):
            ensure_dev_keys(self.data_dir)  # one ring for every service (ADR 0007)
        for service in installed_services():
            if service.extra_processes:
                for spec in load_object(service.extra_processes)(self.data_dir):
                    self.add(spec, kind="helper")
        for spec in self.extra:
            self.add(spec, kind="helper")
        for service in installed_services():
            if service.name in self.without:
                continue
            port = os.environ.get(f"MOTCUA_{service.name.upper()}_HTTP_PORT")
            url = f"http://127.0.0.1:{port or service.default_port}"
            self.add(
                ProcessSpec(
                    name=service.name,
                    argv=[sys.executable, "-m", f"motcua.{service.name}"],
                    url=url,
                    health_url=f"{url}/readyz",
                ),
                kind="service",
            )

    def wait_ready(self, timeout_s: float = 90.0) -> bool:
        deadline = time.monotonic() + timeout_s
        pending = {c.name: c for c in self.children if c.health_url}
        with httpx.Client(timeout=1.0) as client:
            while pending and time.monotonic() < deadline:
                for name, child in list(pending.items()):
                    if not child.running():
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
        console.print(
            f"Data folder: {self.data_dir}    A process that stops is started "
            "again. Stop all with Ctrl-C."
        )

    # -- supervising -------------------------------------------------------------

    def watch(self, *, poll_s: float = 0.5) -> int:
        while not self._stopping:
            if self._restart_all:
                self.restart_all()
            self.check_once()
            time.sleep(poll_s)
        return 0

    def request_restart(self, _signum: int, _frame: FrameType | None) -> None:
        self._restart_all = True

    def restart_all(self) -> None:
        """Stop everything in order and start it all again, same data folder:
        the broker comes back empty (ADR 0008)."""
        self._restart_all = False
        console.print("[yellow]Restarting everything (SIGHUP)…[/yellow]")
        _log(self.data_dir, "system_restarting", "supervisor", None, 0.0)
        self.stop_all()
        children, self.children = self.children, []
        if self.broker is not None:
            self.broker.start()
        for child in children:
            child.restarts += 1
            child.backoff_s = FIRST_BACKOFF_S
            self.children.append(child)
            self._launch(child)
        _log(self.data_dir, "system_restarted", "supervisor", None, 0.0)
        if self.wait_ready():
            console.print("[green]Everything runs again.[/green]")

    def check_once(self) -> None:
        """Restart what died (the broker first: the others need it)."""
        now = self.clock()
        self._check_broker()
        for child in self.children:
            if child.running():
                continue
            if child.restart_at is None:
                code = child.process.returncode if child.process else None
                if now - child.started_at >= STEADY_AFTER_S:
                    child.backoff_s = FIRST_BACKOFF_S
                child.restart_at = now + child.backoff_s
                console.print(
                    f"[yellow]{child.name} stopped (exit {code}); starting it again "
                    f"in {child.backoff_s:.0f} s[/yellow]; see {child.log_path}"
                )
                _log(self.data_dir, "process_exited", child.name, code, child.backoff_s)
                child.backoff_s = min(child.backoff_s * 2, MAX_BACKOFF_S)
            elif now >= child.restart_at:
                child.restarts += 1
                self._launch(child)
                console.print(
                    f"[green]{child.name} started again[/green] "
                    f"(restart {child.restarts})"
                )
                _log(self.data_dir, "process_restarted", child.name, None, 0.0)

    def _check_broker(self) -> None:
        broker = self.broker
        if broker is None or broker.process is None or broker.process.poll() is None:
            return
        code = broker.process.returncode
        console.print(
            f"[yellow]the broker stopped (exit {code}); starting a new, empty one: "
            "the services publish again what it lost[/yellow]"
        )
        _log(self.data_dir, "process_exited", "broker", code, 0.0)
        broker.process = None
        try:
            broker.start()
        except BrokerUnavailableError as exc:  # the next check tries again
            console.print(f"[red]the broker does not start again: {exc}[/red]")
            return
        self.write_state()
        _log(self.data_dir, "process_restarted", "broker", None, 0.0)

    def request_stop(self, _signum: int, _frame: FrameType | None) -> None:
        if self._stopping:
            self._forced = True  # a second Ctrl-C: no more waiting
            console.print("[red]Stopping at once.[/red]")
            for child in self.children:
                if child.running():
                    assert child.process is not None
                    child.process.kill()
        self._stopping = True

    # -- stopping --------------------------------------------------------------------

    def stop_all(self) -> None:
        console.print("Stopping: services first, then the broker…")
        self._stop([c for c in self.children if c.kind == "service"], SERVICE_DRAIN_S)
        self._stop([c for c in self.children if c.kind != "service"], HELPER_STOP_S)
        if self.broker is not None:
            self.broker.stop()
        console.print("Stopped.")

    def _stop(self, children: list[Child], grace_s: float) -> None:
        for child in children:
            if child.running():
                assert child.process is not None
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for child in children:
            process = child.process
            if process is None:
                continue
            remaining = 0.1 if self._forced else max(0.1, deadline - time.monotonic())
            try:
                process.wait(remaining)
            except subprocess.TimeoutExpired:
                console.print(
                    f"[red]{child.name} did not stop within {grace_s:.0f} s: killed[/red]"
                )
                process.kill()
                process.wait()


def _log(data_dir: Path, event: str, name: str, code: int | None, delay: float) -> None:
    """A JSON line in ``logs/supervisor.log`` (what operators and ``motcua
    chaos`` read)."""
    import json

    path = data_dir / "logs" / "supervisor.log"
    line: dict[str, object] = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "event": event,
        "process": name,
    }
    if code is not None:
        line["exit_code"] = code
    if delay:
        line["restart_in_s"] = delay
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


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
    extra: Sequence[ProcessSpec] = (),
) -> int:
    supervisor = Supervisor(
        data_dir=data_dir,
        broker_port=broker_port,
        host=host,
        extra=[*extra, *([prometheus] if prometheus is not None else [])],
        without=without,
    )
    if prometheus is not None:  # the console links to its alerts
        supervisor.extra_env["MOTCUA_REPORTING_ALERTS_URL"] = f"{prometheus.url}/alerts"
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    signal.signal(signal.SIGHUP, supervisor.request_restart)
    try:
        _keystore(supervisor.data_dir)
        broker = supervisor.start_broker()
        supervisor.start_all()
        if not supervisor.wait_ready():
            return 1
        supervisor.print_summary(broker)
        return supervisor.watch()
    finally:
        supervisor.stop_all()
        (supervisor.data_dir / "run" / "motcua-up.json").unlink(missing_ok=True)
