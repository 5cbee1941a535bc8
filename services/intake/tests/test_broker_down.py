"""Submissions keep working while the broker is down; their events flow once
it is back (SQLite and PostgreSQL)."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from intake_support import DESK, dossier, intake_settings, outbox_events, published

from motcua.intake.app import create_app
from motcua.shared.auth import Role
from motcua.shared.local_broker import LocalBroker, free_port
from motcua.shared.settings import KafkaSettings
from motcua.shared.testing.helpers import bearer, read_metric, wait_for

pytestmark = pytest.mark.broker


async def test_submissions_while_the_broker_is_down_are_published_when_it_returns(
    database_url: str, tmp_path: Path, unique: str
) -> None:
    port = free_port()
    kafka = KafkaSettings(
        bootstrap_servers=f"127.0.0.1:{port}", profile="tansu", partitions=3
    )
    settings = intake_settings(database_url, kafka, tmp_path, f"intake-{unique}")
    app = create_app(settings.model_copy(update={"metrics_sample_interval_s": 0.2}))
    # the broker, once back, outlives the service: the service stops as it
    # would in production, not against a broker that vanished a moment before
    # (that shutdown is bounded by aiokafka's retries and timed out under load)
    broker = ExitStack()
    with broker:
        await _submit_then_publish(app, kafka, port, broker)


async def _submit_then_publish(
    app: FastAPI, kafka: KafkaSettings, port: int, broker: ExitStack
) -> None:
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t"
        ) as client:
            headers = bearer(DESK, Role.DESK_OFFICER)
            codes = []
            for _ in range(3):
                response = await client.post(
                    "/api/v1/dossiers", json=dossier(), headers=headers
                )
                assert response.status_code == 201, response.text
                codes.append(response.json()["code"])
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["broker"] == "connecting"
            # what Kubernetes asks: the HTTP API stays in service meanwhile
            serving = await client.get("/readyz", params={"broker": "optional"})
            assert serving.status_code == 200
            assert serving.json()["checks"]["broker"] == "connecting"
            runtime = app.state.runtime
            assert (
                await runtime.relay.pending_count() == 0 or not runtime.broker_connected
            )
            event_ids = {e["event_id"] for e in await outbox_events(runtime.sessions)}
            assert len(event_ids) == 3

            async def backlog_on_metrics() -> bool:  # what the outbox alert reads
                pending = await read_metric(client, "motcua_outbox_pending")
                age = await read_metric(
                    client, "motcua_outbox_oldest_unpublished_age_seconds"
                )
                return pending == 3 and age is not None and age >= 1.0

            await wait_for(backlog_on_metrics, message="outbox backlog and age")

            broker.enter_context(LocalBroker("127.0.0.1", port))

            async def back() -> bool:
                return (await client.get("/readyz")).status_code == 200

            await wait_for(back, timeout_s=60, interval_s=0.3, message="broker back")
            records = await published(kafka, event_ids, timeout_s=30)
            assert {r["dossier_code"] for r in records.values()} == set(codes)

            async def drained() -> bool:
                return await runtime.relay.pending_count() == 0

            await wait_for(drained, message="outbox drained")

            async def age_back_to_zero() -> bool:
                age = await read_metric(
                    client, "motcua_outbox_oldest_unpublished_age_seconds"
                )
                return age == 0.0

            await wait_for(age_back_to_zero, message="outbox age 0 once drained")
