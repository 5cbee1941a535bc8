"""What ``motcua up`` starts beside the portal service: the national portal
simulator on 127.0.0.1:8014 (``MOTCUA_SIMULATOR_PORTAL_PORT`` moves it)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from motcua.shared.service import ProcessSpec

SIMULATOR_PORT = 8014


def simulator_port() -> int:
    return int(os.environ.get("MOTCUA_SIMULATOR_PORTAL_PORT") or SIMULATOR_PORT)


def simulator_available() -> bool:
    """The simulator package runs as a module (``python -m``)."""
    return importlib.util.find_spec("motcua.portal.simulator.__main__") is not None


def processes(_data_dir: Path) -> list[ProcessSpec]:
    if not simulator_available():
        return []
    port = simulator_port()
    return [
        ProcessSpec(
            name="portal-simulator",
            argv=[
                sys.executable,
                "-m",
                "motcua.portal.simulator",
                "--port",
                str(port),
            ],
            url=f"http://127.0.0.1:{port}",
            health_url=f"http://127.0.0.1:{port}/_sim/stats",
        )
    ]
