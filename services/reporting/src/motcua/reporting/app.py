"""Composition root of the reporting service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from motcua.reporting import api, console
from motcua.reporting.context import ReportingContext
from motcua.reporting.projections import Projector
from motcua.reporting.settings import ReportingSettings
from motcua.shared.contracts.dossier import DossierRatedV1
from motcua.shared.contracts.topics import DOSSIER_EVENTS, NOTIFICATION_EVENTS
from motcua.shared.service import ServiceRuntime, create_http_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    runtime = ServiceRuntime(
        settings,
        migrations=MIGRATIONS,
        publishes=[DossierRatedV1],
        description="Projects every dossier and notification event into timelines, "
        "Biểu 06 reports and KPIs; serves the citizens' lookup and the operator "
        "console.",
    )
    context = ReportingContext.create(settings, runtime)
    runtime.add_consumer(
        Projector(context.hash_id),
        topics=[DOSSIER_EVENTS, NOTIFICATION_EVENTS],
        description="Read model of every dossier and notification event.",
    )
    app = create_http_app(
        runtime,
        title="motcua reporting",
        description="Báo cáo, tra cứu và giám sát luồng sự kiện.",
        routers=[api.router, console.router],
    )
    app.state.reporting = context
    return app
