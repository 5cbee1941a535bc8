"""Composition root of the notification service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from motcua.notification.handlers import on_dossier_event
from motcua.notification.settings import NotificationSettings
from motcua.shared.contracts.notification import NotificationCreatedV1
from motcua.shared.contracts.topics import DOSSIER_EVENTS
from motcua.shared.service import ServiceRuntime, create_http_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: NotificationSettings | None = None) -> FastAPI:
    settings = settings or NotificationSettings()
    runtime = ServiceRuntime(
        settings,
        migrations=MIGRATIONS,
        publishes=[NotificationCreatedV1],
        description="Tells citizens what happens to their dossiers by SMS, email "
        "and post, exactly once per event and channel.",
    )
    runtime.add_consumer(on_dossier_event, topics=[DOSSIER_EVENTS])
    return create_http_app(
        runtime,
        title="motcua notification",
        description="Thông báo cho công dân qua SMS, thư điện tử và bưu chính.",
    )
