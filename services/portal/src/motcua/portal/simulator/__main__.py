"""``python -m motcua.portal.simulator [--host H] [--port N]`` (what
``motcua portal simulator`` and ``motcua up`` run)."""

from __future__ import annotations

import argparse

import uvicorn

from motcua.portal.simulator.app import create_simulator
from motcua.portal.simulator.settings import SimulatorSettings, credentials
from motcua.portal.simulator.state import Portal
from motcua.shared.logging import configure_logging


def main() -> None:
    settings = SimulatorSettings()
    parser = argparse.ArgumentParser(
        prog="motcua portal simulator",
        description="National public service portal (DVCQG) simulator",
    )
    parser.add_argument("--host", default=settings.host, help="Bind address.")
    parser.add_argument("--port", type=int, default=settings.port, help="HTTP port.")
    args = parser.parse_args()
    configure_logging("portal-simulator")
    portal = Portal(
        credentials(),
        token_ttl_s=settings.token_ttl_s,
        session_ttl_s=settings.session_ttl_s,
        first_number=settings.first_number,
    )
    uvicorn.run(
        create_simulator(portal),
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
