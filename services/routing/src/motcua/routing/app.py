"""Composition root of the routing service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from motcua.routing.handlers import on_dossier_event
from motcua.routing.settings import RoutingSettings
from motcua.shared.contracts.handoff import HandoffOfferedV1
from motcua.shared.contracts.topics import DOSSIER_EVENTS
from motcua.shared.service import ServiceRuntime, create_http_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: RoutingSettings | None = None) -> FastAPI:
    settings = settings or RoutingSettings()
    runtime = ServiceRuntime(
        settings,
        migrations=MIGRATIONS,
        publishes=[HandoffOfferedV1],
        description="Routes dossiers between agencies by competence and keeps a "
        "deadline clock per hand-off.",
    )
    runtime.add_consumer(on_dossier_event, topics=[DOSSIER_EVENTS])
    return create_http_app(
        runtime,
        title="motcua routing",
        description="Luân chuyển hồ sơ liên thông giữa các cơ quan.",
    )
