"""``motcua up``'s supervisor: a process that dies is started again with a
growing pause while the others run on; stopping takes the services down while
the broker is still there, the broker last."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from motcua.shared.cli.supervisor import Supervisor
from motcua.shared.local_broker import free_port, port_open
from motcua.shared.service import ProcessSpec

CRASHING = "import sys; sys.exit(3)"
DRAINING = """
import signal, socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
def drain(*_):
    time.sleep(0.5)  # finishing a batch, committing, publishing the outbox
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        seen = "broker up"
    except OSError:
        seen = "broker gone"
    open(out, "w").write(seen)
    sys.exit(0)
signal.signal(signal.SIGTERM, drain)
while True:
    time.sleep(0.1)
"""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _spec(name: str, code: str, *args: str) -> ProcessSpec:
    return ProcessSpec(name, [sys.executable, "-c", code, *args], url="")


def _wait_exit(supervisor: Supervisor, name: str) -> None:
    child = next(c for c in supervisor.children if c.name == name)
    assert child.process is not None
    child.process.wait(10)


def test_a_dead_process_is_started_again_with_a_growing_pause(tmp_path: Path) -> None:
    clock = Clock()
    supervisor = Supervisor(data_dir=tmp_path, broker_port=free_port(), clock=clock)
    steady = supervisor.add(
        _spec("steady", "import time; time.sleep(60)"), kind="helper"
    )
    crashing = supervisor.add(_spec("crashing", CRASHING), kind="service")
    try:
        pauses = []
        for _ in range(4):
            _wait_exit(supervisor, "crashing")
            supervisor.check_once()  # sees it dead: schedules the restart
            assert crashing.restart_at is not None
            pauses.append(crashing.restart_at - clock.now)
            supervisor.check_once()  # too early: still waiting
            assert not crashing.running()
            clock.now = crashing.restart_at
            supervisor.check_once()  # started again
        assert pauses == [1.0, 2.0, 4.0, 8.0]
        assert crashing.restarts == 4
        assert steady.running()  # the others were never touched
        assert steady.restarts == 0
        # after a minute of running, the next failure waits 1 s again
        crashing.started_at = clock.now - 61
        _wait_exit(supervisor, "crashing")
        supervisor.check_once()
        assert crashing.restart_at == clock.now + 1.0
        log = [
            json.loads(line)
            for line in (tmp_path / "logs" / "supervisor.log").read_text().splitlines()
        ]
        assert [e["event"] for e in log[:3]] == [
            "process_exited",
            "process_restarted",
            "process_exited",
        ]
        assert log[0]["process"] == "crashing"
        assert log[0]["exit_code"] == 3
    finally:
        supervisor._forced = True
        supervisor.stop_all()


def test_services_stop_while_the_broker_is_up_and_a_dead_broker_is_replaced(
    tmp_path: Path,
) -> None:
    port = free_port()
    supervisor = Supervisor(data_dir=tmp_path, broker_port=port)
    supervisor.start_broker()
    assert supervisor.broker is not None
    out = tmp_path / "seen"
    supervisor.add(_spec("service", DRAINING, str(port), str(out)), kind="service")
    try:
        time.sleep(0.3)  # let the child install its handler
        first = supervisor.broker.cluster_id
        assert supervisor.broker.process is not None
        supervisor.broker.process.kill()
        supervisor.broker.process.wait()
        supervisor.check_once()  # a new, empty broker, with a new cluster id
        assert port_open("127.0.0.1", port)
        assert supervisor.broker.cluster_id != first
    finally:
        supervisor.stop_all()
    assert out.read_text() == "broker up"
    assert not port_open("127.0.0.1", port)
