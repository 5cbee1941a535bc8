"""Composition root of the notification service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from motcua.notification.api import callbacks, router
from motcua.notification.domain.delivery import RetryPolicy
from motcua.notification.events import PUBLISHED
from motcua.notification.handlers import HANDLED_EVENTS, make_dossier_handler
from motcua.notification.notices import DeliveryPolicy
from motcua.notification.providers.base import Providers
from motcua.notification.providers.postal import PostalProvider
from motcua.notification.providers.sms_gateway import SmsGatewayProvider
from motcua.notification.providers.smtp import SmtpProvider
from motcua.notification.rendering import TemplateRenderer
from motcua.notification.settings import NotificationSettings
from motcua.notification.worker import DeliveryWorker
from motcua.shared.contracts.common import NotificationChannel
from motcua.shared.contracts.topics import DOSSIER_EVENTS
from motcua.shared.personal_data import PersonalDataAccess, load_keys
from motcua.shared.service import ServiceRuntime, create_http_app

MIGRATIONS = Path(__file__).parent / "migrations"


def build_providers(settings: NotificationSettings) -> Providers:
    """The real adapters, pointed at the simulators by default."""
    base = settings.resolved_callback_base_url
    return Providers(
        {
            NotificationChannel.SMS: SmsGatewayProvider(
                base_url=settings.sms_gateway_url,
                username=settings.sms_username,
                password=settings.sms_password.get_secret_value(),
                brand_name=settings.sms_brand_name,
                callback_url=f"{base}/api/v1/callbacks/sms/receipts",
                timeout_s=settings.send_timeout_s,
            ),
            NotificationChannel.EMAIL: SmtpProvider(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.email_sender,
                username=settings.smtp_username,
                password=settings.smtp_password.get_secret_value()
                if settings.smtp_password
                else None,
                starttls=settings.smtp_starttls,
                use_tls=settings.smtp_use_tls,
                timeout_s=settings.send_timeout_s,
            ),
            NotificationChannel.POST: PostalProvider(
                base_url=settings.postal_api_url,
                token=settings.postal_api_token.get_secret_value(),
                customer_code=settings.postal_customer_code,
                callback_url=f"{base}/api/v1/callbacks/postal/status",
                timeout_s=settings.send_timeout_s,
            ),
        }
    )


def create_app(settings: NotificationSettings | None = None) -> FastAPI:
    settings = settings or NotificationSettings()
    runtime = ServiceRuntime(
        settings,
        migrations=MIGRATIONS,
        publishes=PUBLISHED,
        description="Tells citizens what happens to their dossiers by SMS, email "
        "and post, exactly once per event, channel and recipient; places and "
        "tracks result-return orders with the postal operator.",
    )
    policy = DeliveryPolicy(
        renderer=TemplateRenderer(
            sms_unaccented=settings.sms_unaccented,
            sms_max_segments=settings.sms_max_segments,
        ),
        retry=RetryPolicy(
            max_attempts=settings.max_attempts,
            base_delay_s=settings.retry_base_delay_s,
            max_delay_s=settings.retry_max_delay_s,
        ),
        fallback_order=tuple(settings.fallback_order),
    )
    providers = build_providers(settings)
    worker = DeliveryWorker(runtime, settings, policy, providers)
    runtime.add_consumer(
        make_dossier_handler(
            policy,
            worker.wake,
            PersonalDataAccess("notification", load_keys(settings.common)),
        ),
        topics=[DOSSIER_EVENTS],
        handles=HANDLED_EVENTS,
        description="Dossier events that tell the citizen something.",
    )
    runtime.run_in_background(worker.run)
    app = create_http_app(
        runtime,
        title="motcua notification",
        description="Thông báo cho công dân qua SMS, thư điện tử và bưu chính; "
        "trả kết quả qua dịch vụ bưu chính công ích.",
        routers=[router, callbacks],
        on_shutdown=[providers.aclose],
        untraced=["/api/v1/callbacks/"],
    )
    app.state.worker = worker
    return app
