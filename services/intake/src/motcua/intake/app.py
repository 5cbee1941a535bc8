"""Composition root of the intake service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from motcua.intake import api
from motcua.intake.settings import IntakeSettings
from motcua.shared.contracts.dossier import DossierReceivedV1
from motcua.shared.service import ServiceRuntime, create_http_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    runtime = ServiceRuntime(
        settings,
        migrations=MIGRATIONS,
        publishes=[DossierReceivedV1],
        description="Receives dossiers at the one-stop desk and online; publishes "
        "their reception events through the transactional outbox.",
    )
    return create_http_app(
        runtime,
        title="motcua intake",
        description="Tiếp nhận hồ sơ: the one-stop desk and online reception.",
        routers=[api.router],
    )
