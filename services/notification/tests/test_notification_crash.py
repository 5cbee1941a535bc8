"""kill -9 of the notification process while it is sending: nothing is lost,
and nothing is sent twice by the providers that honour idempotency keys (the
SMS gateway). SMTP has none: a resent email may arrive twice, always with the
same Message-ID (documented in the README)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from notification_factories import AGENCY, dossier_code, email, phone, received
from notification_support import Simulators, publish
from sqlalchemy.ext.asyncio import create_async_engine

from motcua.shared.auth import Role
from motcua.shared.local_broker import free_port
from motcua.shared.settings import KafkaSettings
from motcua.shared.testing.helpers import bearer, wait_for, wait_http_ok

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

DOSSIERS = 16


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "motcua.notification"],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def _in_flight(database_url: str) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int(
                await conn.scalar(
                    sa.text(
                        "SELECT count(*) FROM notification_notice "
                        "WHERE state = 'sending' AND provider_reference IS NULL"
                    )
                )
                or 0
            )
    finally:
        await engine.dispose()


async def test_kill_9_while_sending_loses_nothing_and_doubles_no_sms(
    database_url: str,
    kafka_settings: KafkaSettings,
    simulators: Simulators,
    tmp_path: Path,
) -> None:
    await simulators.control("sms", accept_delay_s=0.3)
    await simulators.control("smtp", accept_delay_s=0.3)
    port = free_port()
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "KAFKA_PROFILE": kafka_settings.profile or "tansu",
        "MOTCUA_DATA_DIR": str(tmp_path),
        "MOTCUA_ENVIRONMENT": "test",
        "MOTCUA_NOTIFICATION_DATABASE_URL": database_url,
        "MOTCUA_NOTIFICATION_HTTP_PORT": str(port),
        "MOTCUA_NOTIFICATION_SMS_GATEWAY_URL": simulators.sms,
        "MOTCUA_NOTIFICATION_POSTAL_API_URL": simulators.postal,
        "MOTCUA_NOTIFICATION_SMTP_PORT": str(simulators.smtp_port),
        "MOTCUA_NOTIFICATION_SENDING_LEASE_S": "2",
        "MOTCUA_NOTIFICATION_WORKER_CONCURRENCY": "8",
    }
    numbers = [phone() for _ in range(DOSSIERS)]
    addresses = [email() for _ in range(DOSSIERS)]
    codes = [dossier_code() for _ in range(DOSSIERS)]
    log = tmp_path / "notification.log"
    first = _start(env, log)
    try:
        await wait_http_ok(f"http://127.0.0.1:{port}/readyz")
        await publish(
            kafka_settings,
            *(
                received(c, phone_number=n, email_address=a)
                for c, n, a in zip(codes, numbers, addresses, strict=True)
            ),
        )

        async def sending() -> bool:
            sms = [m for m in await simulators.sms_messages() if m["to"] in numbers]
            return len(sms) >= 2 and await _in_flight(database_url) > 0

        await wait_for(
            sending, timeout_s=60, interval_s=0.02, message="notices in flight"
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    left_sending = await _in_flight(database_url)
    assert left_sending > 0, "the kill did not happen mid-send"

    await simulators.control("sms", accept_delay_s=0)
    await simulators.control("smtp", accept_delay_s=0)
    second = _start(env, log)
    try:
        await wait_http_ok(f"http://127.0.0.1:{port}/readyz")
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=10
        ) as client:
            undelivered: dict[str, list[str]] = {}

            async def all_delivered() -> bool:
                undelivered.clear()  # what a timeout reports: code → states
                for code in codes:
                    r = await client.get(
                        "/api/v1/notifications",
                        params={"dossier_code": code},
                        headers=bearer(AGENCY, Role.DESK_OFFICER),
                    )
                    items = r.json().get("items", []) if r.status_code == 200 else []
                    states = [i["state"] for i in items]
                    if len(items) != 2 or any(s != "delivered" for s in states):
                        undelivered[code] = states or [f"HTTP {r.status_code}"]
                return not undelivered

            try:
                await wait_for(
                    all_delivered,
                    timeout_s=120,
                    interval_s=0.3,
                    message="every notice delivered",
                )
            except AssertionError as exc:
                msg = f"{exc}; not delivered (dossier → notice states): {undelivered}"
                raise AssertionError(msg) from None
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.to_thread(second.wait, 30)
    sms = [m for m in await simulators.sms_messages() if m["to"] in numbers]
    assert sorted(m["to"] for m in sms) == sorted(numbers)  # each exactly once
    mails: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for mail in await simulators.mails():
        for to in mail["to"]:
            if to in addresses:
                mails[to].append(mail)
    assert set(mails) == set(addresses)  # none lost
    for copies in mails.values():  # a resent email is the same message
        assert len({m["message_id"] for m in copies}) == 1
