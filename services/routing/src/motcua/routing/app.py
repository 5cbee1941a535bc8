"""Composition root of the routing service."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from motcua.routing import api
from motcua.routing.context import Clock, Routing
from motcua.routing.domain import DeadlinePolicy
from motcua.routing.handlers import (
    HANDLED_EVENTS,
    DossierEventHandler,
)
from motcua.routing.scheduler import DeadlineScheduler
from motcua.routing.settings import RoutingSettings
from motcua.shared.contracts.envelope import now_vn
from motcua.shared.contracts.handoff import (
    ApologyIssuedV1,
    DossierDispatchQueuedV1,
    DossierNearlyDueV1,
    DossierOverdueV1,
    DossierRoutedV1,
    FeePaidV1,
    FeeRequestedV1,
    HandoffAcknowledgedV1,
    HandoffEscalatedV1,
    HandoffOfferedV1,
    HandoffReturnedV1,
    ProcessingResumedV1,
    ProcessingStoppedV1,
    ResultDeliveredV1,
    ResultRecordedV1,
    StepCompletedV1,
    SupplementRequestedV1,
)
from motcua.shared.contracts.topics import DOSSIER_EVENTS, NOTIFICATION_EVENTS
from motcua.shared.domain.agencies import load_registry
from motcua.shared.domain.calendar import load_calendar
from motcua.shared.personal_data import PersonalDataAccess, load_keys
from motcua.shared.service import ServiceRuntime, create_http_app

MIGRATIONS = Path(__file__).parent / "migrations"

PUBLISHES = (
    DossierRoutedV1,
    DossierDispatchQueuedV1,
    HandoffOfferedV1,
    HandoffAcknowledgedV1,
    StepCompletedV1,
    HandoffReturnedV1,
    HandoffEscalatedV1,
    SupplementRequestedV1,
    FeeRequestedV1,
    FeePaidV1,
    ProcessingResumedV1,
    ProcessingStoppedV1,
    ResultRecordedV1,
    ResultDeliveredV1,
    DossierNearlyDueV1,
    DossierOverdueV1,
    ApologyIssuedV1,
)


def create_app(
    settings: RoutingSettings | None = None, *, clock: Clock = now_vn
) -> FastAPI:
    """The routing service. ``clock`` gives "now" to actions and the deadline
    scheduler (tests pass their own to move time)."""
    settings = settings or RoutingSettings()
    runtime = ServiceRuntime(
        settings,
        migrations=MIGRATIONS,
        publishes=PUBLISHES,
        description="Routes dossiers between agencies by competence and keeps a "
        "deadline clock per hand-off.",
    )
    policy = DeadlinePolicy(
        calendar=load_calendar(),
        nearly_due=timedelta(hours=settings.nearly_due_working_hours),
        escalate_after=timedelta(hours=settings.escalate_after_working_hours),
    )
    routing = Routing(
        runtime=runtime, registry=load_registry(), policy=policy, clock=clock
    )
    runtime.add_consumer(
        DossierEventHandler(
            routing, PersonalDataAccess("routing", load_keys(settings.common))
        ),
        topics=[DOSSIER_EVENTS, NOTIFICATION_EVENTS],
        group_id=settings.consumer_group,
        handles=HANDLED_EVENTS,
        description="Routes received dossiers; resumes on supplements; stops on "
        "withdrawal; marks results delivered by post.",
    )
    scheduler = DeadlineScheduler(
        routing,
        interval_s=settings.deadline_scan_interval_s,
        batch_size=settings.deadline_scan_batch,
    )
    runtime.run_in_background(scheduler.run)
    app = create_http_app(
        runtime,
        title="motcua routing",
        description="Luân chuyển hồ sơ liên thông giữa các cơ quan: hàng đợi của "
        "từng cơ quan, thao tác của cán bộ, thời hạn từng bước, phiếu kiểm soát.",
        routers=[api.router],
    )
    app.state.routing = routing
    app.state.deadlines = scheduler
    return app
