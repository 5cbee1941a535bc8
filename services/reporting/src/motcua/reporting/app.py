"""Composition root of the reporting service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from motcua.reporting import api
from motcua.reporting.projections import project_event
from motcua.reporting.settings import ReportingSettings
from motcua.shared.contracts.topics import DOSSIER_EVENTS, NOTIFICATION_EVENTS
from motcua.shared.service import ServiceRuntime, create_http_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    runtime = ServiceRuntime(
        settings,
        migrations=MIGRATIONS,
        description="Projects every dossier and notification event into timelines "
        "and reports.",
    )
    runtime.add_consumer(project_event, topics=[DOSSIER_EVENTS, NOTIFICATION_EVENTS])
    return create_http_app(
        runtime,
        title="motcua reporting",
        description="Báo cáo, tra cứu và giám sát luồng sự kiện.",
        routers=[api.router],
    )
