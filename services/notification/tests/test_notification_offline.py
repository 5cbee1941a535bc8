"""Notification without a broker (``motcua.shared.testing.offline``): what the
consumer writes for a reception, the events parked before it, and the
delivery worker's rounds while nothing happens."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from notification_factories import dossier_code, email, event, phone, received

from motcua.notification.app import create_app
from motcua.notification.settings import NotificationSettings
from motcua.notification.tables import DossierContact, Notice, Recipient
from motcua.notification.worker import DeliveryWorker
from motcua.shared.contracts.handoff import SupplementRequestedV1
from motcua.shared.messaging.tables import ParkedRecord
from motcua.shared.settings import CommonSettings
from motcua.shared.testing.helpers import wait_for
from motcua.shared.testing.offline import OfflineService, offline

NOWHERE = "http://127.0.0.1:9"  # the providers: nothing is sent in these tests


def settings(
    database_url: str, tmp_path: Path, **overrides: Any
) -> NotificationSettings:
    return NotificationSettings(
        database_url=database_url,
        common=CommonSettings(data_dir=tmp_path),
        sms_gateway_url=NOWHERE,
        postal_api_url=NOWHERE,
        smtp_port=9,
        **overrides,
    )


async def rows(svc: OfflineService, model: Any, code: str) -> list[Any]:
    async with svc.runtime.sessions() as session:
        found = await session.execute(
            sa.select(model).where(model.dossier_code == code)
        )
        return list(found.scalars())


async def test_a_reception_writes_its_rows_and_notices_and_takes_back_what_was_parked(
    database_url: str, tmp_path: Path
) -> None:
    code, number, address = dossier_code(), phone(), email()
    reception = received(code, phone_number=number, email_address=address)
    supplement = event(
        code, SupplementRequestedV1(requested_components=["Bản sao giấy chứng sinh"])
    )
    async with offline(create_app(settings(database_url, tmp_path))) as svc:
        # one batch: the supplement request overtakes the reception (parked),
        # the reception brings it back
        await svc.feed(supplement, reception, signed=False)
        dossiers = await rows(svc, DossierContact, code)
        recipients = await rows(svc, Recipient, code)
        notices = await rows(svc, Notice, code)
        parked = await rows(svc, ParkedRecord, code)
        # the same reception again changes nothing
        await svc.feed(reception, signed=False)
        assert len(await rows(svc, Notice, code)) == len(notices)
    assert [(d.status, d.procedure_name, d.recipient_role) for d in dossiers] == [
        (5, "Đăng ký khai sinh", "applicant")  # waiting for the supplement
    ]
    assert dossiers[0].notify_channels == ["sms", "email"]
    assert [(r.role, r.phone, r.email) for r in recipients] == [
        ("applicant", number, address)
    ]
    assert sorted((n.trigger_event_type, n.channel) for n in notices) == [
        ("dossier.received", "email"),
        ("dossier.received", "sms"),
        ("dossier.supplement_requested", "email"),
        ("dossier.supplement_requested", "sms"),
    ]
    assert parked == []
    for notice in notices:
        assert notice.idempotency_key == (
            f"{notice.trigger_event_id}:{notice.channel}:{recipients[0].id}"
        )
        assert notice.body
        assert notice.context["dossier_code"] == code
        assert (notice.subject is not None) == (notice.channel == "email")
        assert (notice.sms_segments is not None) == (notice.channel == "sms")


async def test_an_idle_delivery_worker_reads_nothing_until_something_is_committed(
    sqlite_database_url: str, tmp_path: Path
) -> None:
    """On SQLite the worker asks ``PRAGMA data_version`` at each poll: with
    nothing committed it claims nothing (it used to claim in a transaction
    of its own at every poll, and wake the relay for it)."""
    app = create_app(
        settings(sqlite_database_url, tmp_path, worker_poll_interval_s=0.02)
    )
    worker: DeliveryWorker = app.state.worker
    async with offline(app) as svc:
        looks: list[str] = []

        @sa.event.listens_for(svc.runtime.engine.sync_engine, "before_cursor_execute")
        def count(_c: Any, _cur: Any, statement: str, *_args: Any) -> None:
            if "FROM notification_notice" in statement:
                looks.append(statement)

        running = asyncio.create_task(worker.run())  # offline runs no workers
        try:
            # settled: the first rounds looked and found nothing due
            await wait_for(
                lambda: _settled(worker), message="the worker's first rounds"
            )
            seen = len(looks)
            await asyncio.sleep(0.5)  # some 25 polls
            assert len(looks) == seen
            code = dossier_code()
            await svc.feed(received(code, phone_number=phone()), signed=False)
            await wait_for(
                lambda: _looked(looks, seen), message="a claim after the commit"
            )
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running


async def _settled(worker: DeliveryWorker) -> bool:
    return worker._look_by is not None  # when its next look is due: settled


async def _looked(looks: list[str], seen: int) -> bool:
    return len(looks) > seen
