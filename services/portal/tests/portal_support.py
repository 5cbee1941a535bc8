"""Helpers of the portal tests: the service on a real database, wired to a
portal (the double until the simulator lands) through an in-process transport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from portal_double import PortalDouble
from prometheus_client import CollectorRegistry

from motcua.portal.app import create_app
from motcua.portal.client import Credentials, PortalClient
from motcua.portal.sender import Sender
from motcua.portal.settings import PortalSettings
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
        Credentials(
            token_url=settings.token_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret.get_secret_value(),
            adapter_url=settings.adapter_url,
            username=settings.username,
            password=settings.password.get_secret_value(),
            dstcode=settings.dstcode,
            madonvi=settings.madonvi,
        ),
        registry=CollectorRegistry(),
        transport=httpx.ASGITransport(app=portal),
    )


@dataclass
class Connected:
    service: OfflineService
    portal: PortalDouble
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
    settings: PortalSettings, portal: PortalDouble
) -> AsyncIterator[Connected]:
    app = create_app(settings)
    client = client_for(settings, portal.app())
    app.state.sender.client = client
    app.state.poller.client = client
    app.state.client = client
    async with offline(app) as service:
        try:
            yield Connected(service, portal, client)
        finally:
            await client.aclose()
