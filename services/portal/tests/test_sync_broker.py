"""The portal service over the real broker: signed dossier events on the
topic reach the portal as one record and its steps, in order, once each."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from portal_factories import dossier_code
from portal_support import Sim, client_for
from test_mapping import STEP_STATUSES, walkthrough

from motcua.portal.app import create_app
from motcua.portal.settings import PortalSettings
from motcua.shared.contracts import EventEnvelope
from motcua.shared.contracts.topics import DOSSIER_EVENTS
from motcua.shared.kafka import create_broker
from motcua.shared.settings import CommonSettings, KafkaSettings
from motcua.shared.testing import signing
from motcua.shared.testing.helpers import bearer, running_app, wait_for


async def publish_signed(kafka: KafkaSettings, *events: EventEnvelope[Any]) -> None:
    """Publish a dossier's events signed and chained as their producers would,
    the last one twice (a redelivery)."""
    bodies: list[bytes] = []
    for event in events:
        bodies.append(signing.test_chains().body(event, known=bodies))
    broker = create_broker(kafka, client_id="test-publisher")
    await broker.start()
    try:
        for event, body in [
            *zip(events, bodies, strict=True),
            (events[-1], bodies[-1]),
        ]:
            await broker.publish(
                body,
                DOSSIER_EVENTS,
                key=event.dossier_code.encode(),
                headers={
                    "event-id": str(event.event_id),
                    "event-type": event.event_type,
                },
            )
    finally:
        await broker.stop()


async def test_events_on_the_topic_reach_a_failing_portal_in_order(
    database_url: str, kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    """Over the real broker, with the portal failing 30 % of the calls and its
    sessions and tokens expiring: every record and step arrives once, in
    order; credentials are renewed, not fetched per call; the reconciliation
    finds nothing to repair."""
    settings = PortalSettings(
        database_url=database_url,
        kafka=kafka_settings,
        common=CommonSettings(data_dir=tmp_path, environment="test"),
        retry_base_delay_s=0.01,
        retry_max_delay_s=0.05,
        max_attempts=100,
        sender_poll_interval_s=0.05,
    )
    portal = Sim(settings)
    await portal.faults(error_rate=0.3, session_ttl_s=0.3, token_ttl_s=0.5)
    app = create_app(settings)
    client = client_for(settings, portal.app)
    app.state.sender.client = client
    app.state.poller.client = client
    app.state.client = client
    codes = [dossier_code() for _ in range(3)]
    operator = bearer("*", "operator")
    async with running_app(app) as http:
        for code in codes:
            await publish_signed(kafka_settings, *walkthrough(code))

        async def delivered() -> bool:
            steps = [await portal.steps(code) for code in codes]
            return all(len(s) >= len(STEP_STATUSES) for s in steps)

        await wait_for(delivered, timeout_s=120, message="the dossiers on the portal")
        stats = await portal.stats()
        await portal.faults()
        report = (
            await http.get("/api/v1/portal/reconciliation", headers=operator)
        ).json()
    await client.aclose()
    for code in codes:
        assert (await portal.record(code))["TrangThaiHoSo"] == 10
        assert [s["TrangThai"] for s in await portal.steps(code)] == STEP_STATUSES
    assert stats["errors"].get("99", 0) > 0
    assert stats["token_requests"] > 1  # renewed when they expired …
    assert 1 < stats["logins"] < sum(stats["calls"].values())  # … not per call
    assert report["dossiers"] >= len(codes)
    assert [d for d in report["items"] if d["dossier_code"] in codes] == []
    await portal.http.aclose()


async def test_events_on_the_topic_reach_the_portal_in_order(
    database_url: str, kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    settings = PortalSettings(
        database_url=database_url,
        kafka=kafka_settings,
        common=CommonSettings(data_dir=tmp_path, environment="test"),
    )
    portal = Sim(settings)
    app = create_app(settings)
    client = client_for(settings, portal.app)
    app.state.sender.client = client
    app.state.poller.client = client
    code = dossier_code()
    async with running_app(app):
        await publish_signed(kafka_settings, *walkthrough(code))

        async def delivered() -> bool:
            return len(await portal.steps(code)) >= len(STEP_STATUSES)

        await wait_for(delivered, timeout_s=90, message="the dossier on the portal")
        await asyncio.sleep(1.0)  # the redelivery, right behind, is dropped
    await client.aclose()
    held = await portal.dossier(code)
    assert held is not None
    assert held["dossier"]["TrangThaiHoSo"] == 10
    assert [s["TrangThai"] for s in held["progress"]] == STEP_STATUSES
    records = [r["TrangThaiHoSo"] for r in held["records"]]
    assert records == [2, 4, 5, 4, 6, 4, 4, 9, 10]  # each once
    await portal.http.aclose()
