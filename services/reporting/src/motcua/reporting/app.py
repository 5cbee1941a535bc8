"""Composition root of the reporting service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI
from prometheus_client import Gauge

from motcua.reporting import api, console, queries
from motcua.reporting.context import ReportingContext
from motcua.reporting.projections import Projector
from motcua.reporting.settings import ReportingSettings
from motcua.reporting.verification import Checkpointer
from motcua.shared.contracts.dossier import DossierRatedV1
from motcua.shared.contracts.topics import (
    CHECKPOINTS,
    DOSSIER_EVENTS,
    NOTIFICATION_EVENTS,
)
from motcua.shared.service import ServiceRuntime, create_http_app
from motcua.shared.signing.http import jwks_router

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
        Projector(context.access),
        topics=[DOSSIER_EVENTS, NOTIFICATION_EVENTS],
        description="Read model of every dossier and notification event.",
    )
    runtime.observe_lag(settings.groups)
    _sample_deadlines(runtime, settings)
    checkpointer = Checkpointer(runtime, settings.signing.checkpoint_interval_s)
    runtime.run_in_background(checkpointer.run)
    runtime.extra_topics.append(CHECKPOINTS)
    app = create_http_app(
        runtime,
        title="motcua reporting",
        description="Báo cáo, tra cứu và giám sát luồng sự kiện.",
        routers=[
            api.router,
            console.router,
            jwks_router(lambda: runtime.keys.keyring()),
        ],
    )
    app.state.reporting = context
    return app


def _sample_deadlines(runtime: ServiceRuntime, settings: ReportingSettings) -> None:
    """Gauges of open dossiers past or near their appointment (the overdue
    alert watches them rise)."""
    registry = runtime.metrics.registry
    overdue = Gauge(
        "motcua_reporting_dossiers_overdue",
        "Open dossiers past their appointment (due_at), not paused",
        registry=registry,
    )
    nearly_due = Gauge(
        "motcua_reporting_dossiers_nearly_due",
        "Open dossiers due within nearly_due_hours, not paused",
        registry=registry,
    )
    window = timedelta(hours=settings.nearly_due_hours)

    async def sample() -> None:
        async with runtime.sessions() as session:
            late, soon = await queries.deadline_counts(
                session, now=datetime.now(UTC), window=window
            )
        overdue.set(late)
        nearly_due.set(soon)

    runtime.add_sampler("dossier_deadlines", sample)
