"""Composition root of the intake service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from motcua.intake import (
    api,
    catalogue_api,
    catalogue_store,
    followups_api,
    forms_api,
    portal_api,
)
from motcua.intake.api_common import install_domain_errors
from motcua.intake.context import IntakeContext
from motcua.intake.handlers import (
    HANDLED_EVENTS,
    on_dossier_event,
)
from motcua.intake.settings import IntakeSettings
from motcua.shared.contracts.dossier import (
    DossierCompletionRequestedV2,
    DossierReceivedV2,
    DossierRefusedV2,
    DossierSupplementReceivedV1,
    DossierWithdrawnV1,
)
from motcua.shared.contracts.handoff import (
    FeeRequestedV1,
    ProcessingStoppedV1,
    ResultDeliveredV1,
    ResultRecordedV1,
    SupplementRequestedV1,
)
from motcua.shared.contracts.topics import DOSSIER_EVENTS
from motcua.shared.service import ServiceRuntime, create_http_app

MIGRATIONS = Path(__file__).parent / "migrations"
"""Also used by ``motcua import dossiers`` (see importer.py)."""

PUBLISHES = (
    DossierReceivedV2,
    DossierRefusedV2,
    DossierCompletionRequestedV2,
    DossierSupplementReceivedV1,
    DossierWithdrawnV1,
    # Only for imported history (`imported=True`):
    ResultRecordedV1,
    ResultDeliveredV1,
    ProcessingStoppedV1,
    SupplementRequestedV1,
    FeeRequestedV1,
)


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    runtime = ServiceRuntime(
        settings,
        migrations=MIGRATIONS,
        publishes=PUBLISHES,
        description="Receives dossiers at the one-stop desk and online, with their "
        "legal appointment; publishes reception, refusal, completion, supplement "
        "and withdrawal events through the transactional outbox.",
    )
    runtime.add_consumer(
        on_dossier_event,
        topics=[DOSSIER_EVENTS],
        group_id=settings.consumer_group,
        handles=HANDLED_EVENTS,
        description="Keeps each dossier's status current (supplement requested, "
        "in progress, resolved, delivered …).",
    )
    context = IntakeContext.create(settings, runtime)

    async def load_catalogue() -> None:
        await catalogue_store.sync_from_file(runtime.sessions, context.catalogue)
        context.procedures.invalidate()

    app = create_http_app(
        runtime,
        title="motcua intake",
        description="Tiếp nhận hồ sơ: the one-stop desk and online reception; "
        "procedure catalogue, agencies and legal due dates.",
        routers=[
            api.router,
            followups_api.router,
            forms_api.router,
            catalogue_api.router,
            portal_api.router,
        ],
        on_startup=[load_catalogue],
    )
    install_domain_errors(app)
    app.state.intake = context
    return app
