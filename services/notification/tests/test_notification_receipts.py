"""SMS receipts arriving together are applied in one transaction (group
commit), each caller answered for its own receipt; a receipt that fails its
group is applied again alone, so it fails only its own call; a provider's
callback opens no trace of its own."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from notification_factories import dossier_code
from notification_support import (
    Notification,
    NotificationTopic,
    Simulators,
    running_notification,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from motcua.notification.receipts import Applied, Receipt, ReceiptBatcher
from motcua.notification.signing import sign
from motcua.notification.tables import Notice
from motcua.shared.db import utcnow
from motcua.shared.testing.helpers import wait_for

pytestmark = [pytest.mark.broker]


class _CountingRuntime:
    """The service's runtime, counting the transactions the batcher opens."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.opened = 0

    def transaction(self) -> AbstractAsyncContextManager[AsyncSession]:
        self.opened += 1
        return self.runtime.transaction()  # type: ignore[no-any-return]


async def _sending(service: Notification, code: str, count: int) -> list[uuid.UUID]:
    """SMS notices handed to the gateway, awaiting receipts (their lease far
    off, so the worker leaves them alone)."""
    keys = [uuid.uuid4() for _ in range(count)]
    async with service.app.state.runtime.transaction() as session:
        for key in keys:
            session.add(
                Notice(
                    idempotency_key=f"test:{key}",
                    dossier_code=code,
                    trigger_event_id=uuid.uuid4(),
                    trigger_event_type="dossier.received",
                    template="dossier.received",
                    channel="sms",
                    context={},
                    body="Ho so da duoc tiep nhan",
                    state="sending",
                    attempt=1,
                    provider="sms-gateway",
                    provider_idempotency_key=key,
                    lease_until=utcnow() + timedelta(hours=1),
                )
            )
    return keys


def _counting(batcher: ReceiptBatcher) -> _CountingRuntime:
    counting = _CountingRuntime(batcher.runtime)
    batcher.runtime = counting  # type: ignore[assignment]
    return counting


async def _delivered(service: Notification, code: str, count: int) -> list[Any]:
    topic = NotificationTopic(service.kafka)

    async def probe() -> list[Any]:
        events = await topic.events(code)
        done = [e for e in events if e.event_type == "notification.delivered"]
        return events if len(done) >= count else []

    return await wait_for(probe, timeout_s=30, message=f"{count} delivered")


async def test_receipts_arriving_together_share_one_commit(
    database_url: str, make_settings: Callable[..., Any], simulators: Simulators
) -> None:
    code = dossier_code()
    async with running_notification(make_settings(database_url)) as service:
        keys = await _sending(service, code, 4)
        batcher: ReceiptBatcher = service.worker.receipts
        counting = _counting(batcher)
        answers = await asyncio.gather(
            *(
                batcher.apply(Receipt(f"m{i}", k, "delivered"))
                for i, k in enumerate(keys)
            ),
            batcher.apply(Receipt("m0", keys[0], "delivered")),  # said twice
            batcher.apply(Receipt("x", uuid.uuid4(), "delivered")),
        )
        events = await _delivered(service, code, 4)
    assert answers == [Applied.APPLIED] * 4 + [Applied.REPEATED, Applied.UNKNOWN]
    assert counting.opened == 1
    assert sorted(e.data.provider_reference for e in events) == [
        "m0",
        "m1",
        "m2",
        "m3",
    ]


async def test_a_receipt_that_fails_its_group_fails_alone(
    database_url: str,
    make_settings: Callable[..., Any],
    simulators: Simulators,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code = dossier_code()
    async with running_notification(make_settings(database_url)) as service:
        good, bad = await _sending(service, code, 2)
        batcher: ReceiptBatcher = service.worker.receipts
        counting = _counting(batcher)
        apply_one = batcher._apply_one

        async def breaking(session: Any, notices: Any, receipt: Receipt) -> Applied:
            if receipt.reference == bad:
                raise RuntimeError("a receipt this build cannot apply")
            return await apply_one(session, notices, receipt)

        monkeypatch.setattr(batcher, "_apply_one", breaking)
        answers = await asyncio.gather(
            batcher.apply(Receipt("m-good", good, "delivered")),
            batcher.apply(Receipt("m-bad", bad, "delivered")),
            return_exceptions=True,
        )
        [event] = await _delivered(service, code, 1)
        async with service.app.state.runtime.sessions() as session:
            rows = await session.execute(
                sa.select(Notice).where(col(Notice.provider_idempotency_key) == bad)
            )
            [left] = rows.scalars()
    assert answers[0] == Applied.APPLIED
    assert isinstance(answers[1], RuntimeError)
    assert counting.opened == 3  # the group, then each receipt alone
    assert event.data.provider_reference == "m-good"
    assert left.state == "sending"  # the gateway sends that receipt again


async def test_provider_callbacks_open_no_trace_of_their_own(
    database_url: str,
    make_settings: Callable[..., Any],
    simulators: Simulators,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings(database_url)
    secret = settings.sms_callback_secret.get_secret_value()
    spans = InMemorySpanExporter()
    recording = TracerProvider()  # as with an exporter configured
    recording.add_span_processor(SimpleSpanProcessor(spans))
    monkeypatch.setattr(
        "motcua.shared.service.create_tracer_provider", lambda *_: recording
    )
    async with running_notification(settings) as service:
        body = json.dumps(
            {"message_id": "x", "reference": str(uuid.uuid4()), "status": "delivered"}
        ).encode()
        receipt = await service.client.post(
            "/api/v1/callbacks/sms/receipts", content=body, headers=sign(secret, body)
        )
        listing = await service.client.get("/api/v1/notifications/providers")
    assert (receipt.status_code, listing.status_code) == (404, 401)
    routes = {span.attributes.get("http.route") for span in spans.get_finished_spans()}
    # the gateway sends no trace context: a receipt's span would be a trace
    # of its own; the notice's delivered event carries the dossier's trace
    assert "/api/v1/notifications/providers" in routes
    assert not any("callbacks" in str(route) for route in routes)


async def test_failed_and_expired_receipts_in_a_group_of_delivered_ones(
    database_url: str, make_settings: Callable[..., Any], simulators: Simulators
) -> None:
    """Delivered receipts are written together; an expired SMS waits for a
    retry, a failed one fails for good (no dossier here to fall back on: it is
    dead-lettered); each is settled once."""
    code = dossier_code()
    async with running_notification(make_settings(database_url)) as service:
        delivered, expired, failed = await _sending(service, code, 3)
        ids = {k: n.id for k, n in (await _notices(service, code)).items()}
        batcher: ReceiptBatcher = service.worker.receipts
        answers = await asyncio.gather(
            batcher.apply(Receipt("m-ok", delivered, "delivered")),
            batcher.apply(Receipt("m-late", expired, "expired")),
            batcher.apply(Receipt("m-bad", failed, "failed", "no such number")),
            batcher.apply(Receipt("m-bad", failed, "failed")),  # said twice
        )
        by_id = {n.id: n for n in (await _notices(service, code)).values()}
        notices = {key: by_id[notice_id] for key, notice_id in ids.items()}
        events = await wait_for(
            lambda: _outcomes(service, code, 3), message="the three outcomes"
        )
    assert answers == [Applied.APPLIED] * 3 + [Applied.REPEATED]
    assert notices[delivered].state == "delivered"
    assert notices[delivered].provider_reference == "m-ok"
    assert notices[delivered].delivered_at is not None
    assert notices[delivered].lease_until is None
    assert notices[expired].state == "temporary-failure"  # the worker retries it
    assert notices[failed].state == "dead-lettered"
    assert "no such number" in notices[failed].last_error
    outcomes = {
        (e.event_type, e.data.notification_id, e.data.provider_reference)
        for e in events
    }
    assert {
        ("notification.delivered", ids[delivered], "m-ok"),
        ("notification.permanent_failure", ids[failed], "m-bad"),
        ("notification.dead_lettered", ids[failed], "m-bad"),
    } <= outcomes


async def _outcomes(service: Notification, code: str, count: int) -> list[Any]:
    events = await NotificationTopic(service.kafka).events(code)
    return events if len(events) >= count else []


async def _notices(service: Notification, code: str) -> dict[Any, Notice]:
    async with service.app.state.runtime.sessions() as session:
        rows = await session.execute(
            sa.select(Notice).where(col(Notice.dossier_code) == code)
        )
        return {n.provider_idempotency_key or n.id: n for n in rows.scalars()}
