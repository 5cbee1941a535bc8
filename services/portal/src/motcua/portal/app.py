"""Composition root of the portal service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from motcua.portal.api import pages, router
from motcua.portal.client import Credentials, PortalClient
from motcua.portal.consumer import make_dossier_handler
from motcua.portal.mapping import HANDLED
from motcua.portal.poller import Poller, PollerMetrics
from motcua.portal.sender import Sender, SenderMetrics
from motcua.portal.settings import PortalSettings
from motcua.shared.contracts.topics import DOSSIER_EVENTS
from motcua.shared.leadership import leadership
from motcua.shared.personal_data import PersonalDataAccess, load_keys
from motcua.shared.service import ServiceRuntime, create_http_app

MIGRATIONS = Path(__file__).parent / "migrations"


def platform_credentials(settings: PortalSettings) -> Credentials:
    """What the service presents to the integration platform and the portal."""
    return Credentials(
        token_url=settings.token_url,
        client_id=settings.client_id,
        client_secret=settings.client_secret.get_secret_value(),
        adapter_url=settings.adapter_url.rstrip("/"),
        username=settings.username,
        password=settings.password.get_secret_value(),
        dstcode=settings.dstcode,
        madonvi=settings.madonvi,
    )


def build_client(settings: PortalSettings, runtime: ServiceRuntime) -> PortalClient:
    """The platform and portal client, pointed at the simulator by default."""
    return PortalClient(
        platform_credentials(settings),
        timeout_s=settings.call_timeout_s,
        ca_bundle=settings.ca_bundle,
        registry=runtime.metrics.registry,
    )


def create_app(settings: PortalSettings | None = None) -> FastAPI:
    settings = settings or PortalSettings()
    runtime = ServiceRuntime(
        settings,
        migrations=MIGRATIONS,
        description="Reports every dossier's status and processing steps to the "
        "national public service portal (DVCQG) and takes the online filings "
        "made there into intake.",
    )
    client = build_client(settings, runtime)
    sender = Sender(
        runtime.sessions,
        client,
        settings,
        SenderMetrics(runtime.metrics.registry),
        leadership=leadership(runtime.engine, "motcua-portal-sender"),
    )
    runtime.add_consumer(
        make_dossier_handler(
            PersonalDataAccess("portal", load_keys(settings.common)),
            include_imported=settings.include_imported,
            on_items=sender.wake,
        ),
        topics=[DOSSIER_EVENTS],
        handles=HANDLED,
        description="Dossier events the portal is told about: receptions, "
        "refusals, status changes and processing steps.",
    )
    poller = Poller(
        runtime.sessions,
        client,
        settings,
        metrics=PollerMetrics(runtime.metrics.registry),
        on_items=sender.wake,
        leadership=leadership(runtime.engine, "motcua-portal-poller"),
    )
    runtime.run_in_background(sender.run)
    runtime.run_in_background(poller.run)
    runtime.add_sampler("portal_queue", sender.sample)
    app = create_http_app(
        runtime,
        title="motcua portal",
        description="Đồng bộ hồ sơ với Cổng Dịch vụ công quốc gia qua nền tảng "
        "tích hợp, chia sẻ dữ liệu của tỉnh (LGSP).",
        routers=[router, pages],
        on_shutdown=[client.aclose, poller.aclose, sender.aclose],
    )
    app.state.sender = sender
    app.state.client = client
    app.state.poller = poller
    return app
