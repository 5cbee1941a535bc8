"""Fixtures: the notification service and the provider simulators on real
ports (providers call back over HTTP), over the real broker and database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from motcua.notification.app import create_app
from motcua.notification.settings import NotificationSettings
from motcua.notification.simulators.common import SimulatorSettings
from motcua.notification.simulators.mail import create_mail_simulator
from motcua.notification.simulators.postal import create_postal_simulator
from motcua.notification.simulators.sms import create_sms_simulator
from motcua.shared.contracts import EventData, EventEnvelope, new_event, parse_event
from motcua.shared.contracts.topics import DOSSIER_EVENTS, NOTIFICATION_EVENTS
from motcua.shared.kafka import create_broker
from motcua.shared.local_broker import free_port
from motcua.shared.settings import CommonSettings, KafkaSettings
from motcua.shared.testing.helpers import wait_for


@contextlib.asynccontextmanager
async def serve(app: FastAPI, port: int) -> AsyncIterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1:``port`` inside this event loop."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        await wait_for(_started(server, task), timeout_s=60, message=f"server :{port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 30)


def _started(server: uvicorn.Server, task: asyncio.Task[Any]) -> Callable[[], Any]:
    async def probe() -> bool:
        if task.done():
            task.result()  # surface the startup error
        return server.started

    return probe


@dataclass
class Simulators:
    sms: str
    postal: str
    mailbox: str
    smtp_port: int
    client: httpx.AsyncClient

    async def sms_messages(self) -> list[dict[str, Any]]:
        return (await self.client.get(f"{self.sms}/api/messages")).json()

    async def mails(self) -> list[dict[str, Any]]:
        return (await self.client.get(f"{self.mailbox}/api/messages")).json()

    async def orders(self) -> list[dict[str, Any]]:
        return (await self.client.get(f"{self.postal}/api/orders")).json()

    async def control(self, which: str, **values: Any) -> None:
        url = {"sms": self.sms, "postal": self.postal, "smtp": self.mailbox}[which]
        response = await self.client.post(f"{url}/api/control", json=values)
        response.raise_for_status()


@pytest.fixture
async def simulators() -> AsyncIterator[Simulators]:
    settings = SimulatorSettings(
        receipt_delay_s=0.05, postal_accept_delay_s=0.05, postal_deliver_delay_s=0.2
    )
    smtp_port = free_port()
    async with (
        serve(create_sms_simulator(settings), free_port()) as sms,
        serve(create_postal_simulator(settings), free_port()) as postal,
        serve(
            create_mail_simulator(settings, smtp_port=smtp_port), free_port()
        ) as mailbox,
        httpx.AsyncClient(timeout=10) as client,
    ):
        yield Simulators(sms, postal, mailbox, smtp_port, client)


@dataclass
class Notification:
    """The service under test, on a real port, and a way to talk to it."""

    url: str
    app: FastAPI
    client: httpx.AsyncClient
    kafka: KafkaSettings
    topic_events: list[EventEnvelope[EventData]] = field(default_factory=list)

    @property
    def worker(self) -> Any:
        return self.app.state.worker


def notification_settings(
    database_url: str,
    kafka: KafkaSettings,
    sims: Simulators,
    tmp_path: Path,
    port: int,
    **overrides: Any,
) -> NotificationSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "kafka": kafka,
        "common": CommonSettings(data_dir=tmp_path, environment="test"),
        "http_port": port,
        "sms_gateway_url": sims.sms,
        "postal_api_url": sims.postal,
        "smtp_port": sims.smtp_port,
        "retry_base_delay_s": 0.05,
        "retry_max_delay_s": 0.5,
        "worker_poll_interval_s": 0.05,
        "circuit_reset_s": 0.5,
        "waybill_pool_autofill": 50,
    }
    values.update(overrides)
    return NotificationSettings(**values)


@contextlib.asynccontextmanager
async def running_notification(
    settings: NotificationSettings,
) -> AsyncIterator[Notification]:
    app = create_app(settings)
    async with (
        serve(app, settings.http_port) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as client,
    ):
        runtime = app.state.runtime

        async def ready() -> bool:
            return runtime.broker_connected and all(
                getattr(s, "consumer", None) is not None and s.consumer.assignment()
                for s in runtime.broker.subscribers
            )

        await wait_for(ready, timeout_s=60, message="notification consumers assigned")
        yield Notification(url, app, client, settings.kafka)


@pytest.fixture
def make_settings(
    kafka_settings: KafkaSettings, simulators: Simulators, tmp_path: Path
) -> Callable[..., NotificationSettings]:
    def make(database_url: str, **overrides: Any) -> NotificationSettings:
        return notification_settings(
            database_url, kafka_settings, simulators, tmp_path, free_port(), **overrides
        )

    return make


async def publish(kafka: KafkaSettings, *events: EventEnvelope[Any]) -> None:
    """Publish dossier events as intake and routing would (key = dossier code)."""
    broker = create_broker(kafka, client_id="test-publisher")
    await broker.start()
    try:
        for event in events:
            await broker.publish(
                event.to_json(),
                DOSSIER_EVENTS,
                key=event.dossier_code.encode(),
                headers={
                    "event-id": str(event.event_id),
                    "event-type": event.event_type,
                },
            )
    finally:
        await broker.stop()


class NotificationTopic:
    """Reads ``motcua.notification.events`` from the start, filtered by dossier."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.kafka = kafka

    async def events(self, dossier_code: str) -> list[EventEnvelope[EventData]]:
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(
            NOTIFICATION_EVENTS,
            bootstrap_servers=self.kafka.bootstrap_servers,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
        )
        await consumer.start()
        found: list[EventEnvelope[EventData]] = []
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=300, max_records=5000)
                if not batch:
                    break
                for records in batch.values():
                    for record in records:
                        if record.key and record.key.decode() == dossier_code:
                            found.append(parse_event(record.value))
        finally:
            await consumer.stop()
        return found


__all__ = ["new_event", "publish"]
