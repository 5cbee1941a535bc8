"""Helpers of the portal tests: the service on a real database, wired to the
national portal simulator through an in-process transport; the tests look at
the simulator only through its HTTP API (``/_sim/*``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from motcua.portal.app import create_app, platform_credentials
from motcua.portal.client import PortalClient
from motcua.portal.sender import Sender
from motcua.portal.settings import PortalSettings
from motcua.portal.simulator.app import create_simulator
from motcua.portal.simulator.settings import credentials
from motcua.portal.simulator.state import Portal
from motcua.shared.settings import CommonSettings
from motcua.shared.testing.offline import NO_BROKER, OfflineService, offline


def settings_for(database_url: str, tmp_path: Path, **overrides: Any) -> PortalSettings:
    values: dict[str, Any] = {
        "retry_base_delay_s": 0.001,
        "retry_max_delay_s": 0.001,
        "max_attempts": 3,
        **overrides,
    }
    return PortalSettings(
        database_url=database_url,
        kafka=NO_BROKER,
        common=CommonSettings(data_dir=tmp_path, environment="test"),
        **values,
    )


def client_for(settings: PortalSettings, portal: FastAPI) -> PortalClient:
    return PortalClient(
        platform_credentials(settings),
        registry=CollectorRegistry(),
        transport=httpx.ASGITransport(app=portal),
    )


class Sim:
    """The simulator in process, seen through its HTTP API."""

    def __init__(self, settings: PortalSettings) -> None:
        self.app = create_simulator(Portal(credentials(settings)))
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://sim.test"
        )

    async def faults(self, **faults: Any) -> None:
        """Set the faults (none given: clear them all)."""
        answer = await self.http.post("/_sim/faults", json=faults)
        assert answer.status_code == 200, answer.text

    async def dossier(self, code: str) -> dict[str, Any] | None:
        """``{"dossier", "progress", "calls", "records"}``, None if not held."""
        answer = await self.http.get(f"/_sim/dossiers/{code}")
        if answer.status_code == 404:
            return None
        return dict(answer.json())

    async def record(self, code: str) -> dict[str, Any]:
        held = await self.dossier(code)
        assert held is not None, f"the portal does not hold {code}"
        return dict(held["dossier"])

    async def steps(self, code: str) -> list[dict[str, Any]]:
        held = await self.dossier(code)
        return [] if held is None else list(held["progress"])

    async def stats(self) -> dict[str, Any]:
        return dict((await self.http.get("/_sim/stats")).json())

    async def submit(self, filing: dict[str, Any]) -> str:
        answer = await self.http.post("/_sim/submissions", json=filing)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["MaHoSo"])


@dataclass
class Connected:
    service: OfflineService
    portal: Sim
    client: PortalClient

    @property
    def sender(self) -> Sender:
        sender: Sender = self.service.app.state.sender
        return sender

    async def sync(self, rounds: int = 50) -> None:
        """Run the sender until nothing is left to send now."""
        for _ in range(rounds):
            if not await self.sender.round():
                return


@asynccontextmanager
async def connected(
    settings: PortalSettings, **faults: Any
) -> AsyncIterator[Connected]:
    """The service (offline: no broker) and the simulator, with ``faults``."""
    portal = Sim(settings)
    if faults:
        await portal.faults(**faults)
    app = create_app(settings)
    client = client_for(settings, portal.app)
    app.state.sender.client = client
    app.state.poller.client = client
    app.state.client = client
    async with offline(app) as service:
        try:
            yield Connected(service, portal, client)
        finally:
            await client.aclose()
            await portal.http.aclose()
