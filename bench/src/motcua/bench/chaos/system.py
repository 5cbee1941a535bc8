"""The system ``motcua chaos`` works on: a running ``motcua up`` (found through
``<data folder>/run/motcua-up.json``) or one it starts itself on free ports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from motcua.shared.local_broker import free_port

SERVICES = ("intake", "routing", "notification", "reporting")
SIMULATORS = {"sms": "sms-simulator", "mailbox": "smtp-simulator"}


class SystemNotFoundError(RuntimeError):
    pass


@dataclass
class System:
    data_dir: Path
    bootstrap_servers: str
    urls: dict[str, str]
    """Service and simulator name → base URL."""
    own: subprocess.Popen[bytes] | None = None
    """The ``motcua up`` chaos started (None: attached to the user's)."""
    env: dict[str, str] = field(default_factory=dict)

    @property
    def keystore(self) -> Path:
        """The agencies' signing keystore the system signs with (what an
        insider would steal): ``MOTCUA_SIGNING_KEYSTORE`` as the system sees
        it, else the development one under the data folder."""
        given = (self.env or os.environ).get("MOTCUA_SIGNING_KEYSTORE")
        return Path(given).resolve() if given else (self.data_dir / "keys").resolve()

    @property
    def state_path(self) -> Path:
        return self.data_dir / "run" / "motcua-up.json"

    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.state_path.read_text("utf-8"))
        return data

    def pid(self, name: str) -> int | None:
        if name == "broker":
            broker = self.state().get("broker") or {}
            return broker.get("pid")
        if name == "supervisor":
            return int(self.state()["supervisor"])
        process = self.state()["processes"].get(name) or {}
        pid = process.get("pid")
        return int(pid) if pid else None

    def ready(self, names: tuple[str, ...] = SERVICES) -> bool:
        with httpx.Client(timeout=2.0) as client:
            for name in names:
                try:
                    if client.get(f"{self.urls[name]}/readyz").status_code != 200:
                        return False
                except httpx.HTTPError:
                    return False
        return True

    def wait_ready(self, timeout_s: float = 120.0) -> float:
        """Seconds until every service answers ``/readyz``; raises on timeout."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            if self.ready():
                return time.monotonic() - started
            time.sleep(0.25)
        msg = f"the services were not ready within {timeout_s:.0f} s"
        raise SystemNotFoundError(msg)

    def stop(self) -> None:
        if self.own is None:
            return
        if self.own.poll() is None:
            self.own.send_signal(signal.SIGINT)
            try:
                self.own.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(self.own.pid, signal.SIGKILL)
                self.own.wait()


def attach(data_dir: Path) -> System:
    """The system a ``motcua up`` on ``data_dir`` runs."""
    path = data_dir / "run" / "motcua-up.json"
    if not path.exists():
        msg = (
            f"no running system found ({path} is missing): start one with "
            "`./motcua up`, or let chaos start its own with `--start`"
        )
        raise SystemNotFoundError(msg)
    state = json.loads(path.read_text("utf-8"))
    urls = {
        name: str(p["url"]).split()[0]
        for name, p in state["processes"].items()
        if p.get("url")
    }
    urls["sms"] = urls.get(SIMULATORS["sms"], "http://127.0.0.1:8011")
    urls["mailbox"] = urls.get(SIMULATORS["mailbox"], "http://127.0.0.1:8013")
    system = System(Path(state["data_dir"]), state["bootstrap_servers"], urls)
    missing = [s for s in SERVICES if s not in urls]
    if missing:
        msg = f"the running system lacks {', '.join(missing)}"
        raise SystemNotFoundError(msg)
    return system


def start(data_dir: Path, *, parked_ttl_s: float) -> System:
    """``motcua up`` on free ports in ``data_dir``, as a child of chaos."""
    data_dir.mkdir(parents=True, exist_ok=True)
    ports = {s: free_port() for s in (*SERVICES, "portal")}
    sim = {s: free_port() for s in ("SMS", "POSTAL", "MAILBOX", "SMTP", "PORTAL")}
    broker_port = free_port()
    env = {
        **os.environ,
        **{f"MOTCUA_{s.upper()}_HTTP_PORT": str(p) for s, p in ports.items()},
        **{f"MOTCUA_SIMULATOR_{s}_PORT": str(p) for s, p in sim.items()},
        "MOTCUA_NOTIFICATION_SMS_GATEWAY_URL": f"http://127.0.0.1:{sim['SMS']}",
        "MOTCUA_NOTIFICATION_POSTAL_API_URL": f"http://127.0.0.1:{sim['POSTAL']}",
        "MOTCUA_NOTIFICATION_SMTP_PORT": str(sim["SMTP"]),
        "MOTCUA_PORTAL_TOKEN_URL": f"http://127.0.0.1:{sim['PORTAL']}/lgsp/token",
        "MOTCUA_PORTAL_ADAPTER_URL": f"http://127.0.0.1:{sim['PORTAL']}/dvcqg",
        "MOTCUA_PORTAL_INTAKE_URL": f"http://127.0.0.1:{ports['intake']}",
        "MOTCUA_SIMULATOR_RECEIPT_DELAY_S": "0.2",
        "MOTCUA_LOG_LEVEL": "WARNING",
        **{f"MOTCUA_{s.upper()}_PARKED_TTL_S": str(parked_ttl_s) for s in SERVICES},
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)  # its own broker
    # its own keystore, made at start and signing from now on, as a new
    # deployment's (a test session's would let unsigned events pass as legacy)
    env.pop("MOTCUA_SIGNING_KEYSTORE", None)
    log = (data_dir / "motcua-up.log").open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from motcua.shared.cli.main import main; main()",
            "up",
            "--data-dir",
            str(data_dir),
            "--broker-port",
            str(broker_port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    path = data_dir / "run" / "motcua-up.json"
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists():
            try:
                system = attach(data_dir)
            except (SystemNotFoundError, ValueError, KeyError):
                time.sleep(0.2)
                continue
            system.own = process
            system.env = env
            system.wait_ready(timeout_s=max(1.0, deadline - time.monotonic()))
            return system
        time.sleep(0.2)
    process.kill()
    msg = f"motcua up did not start (see {data_dir / 'motcua-up.log'})"
    raise SystemNotFoundError(msg)
