"""The SMS gateway simulator of ``motcua up`` keeps a journal: stopped and
started again (a whole-system restart) it still lists what it accepted and
sends the delivery receipts it owed, as a real gateway would."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager

from motcua.notification.simulators.common import SimulatorSettings, secrets
from motcua.notification.simulators.sms import create_sms_simulator


async def _messages(app: object) -> list[dict]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        return (await client.get("/api/messages")).json()


async def test_a_restarted_gateway_remembers_and_still_sends_the_receipt(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "simulators" / "sms.jsonl"
    password = secrets()[2]
    auth = base64.b64encode(f"motcua:{password}".encode()).decode()
    first = create_sms_simulator(
        SimulatorSettings(receipt_delay_s=3600), journal=journal
    )
    async with LifespanManager(first):
        transport = httpx.ASGITransport(app=first)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as c:
            sent = await c.post(
                "/api/sms/send",
                json={
                    "brand_name": "MOTCUA",
                    "to": "84912345678",
                    "text": "Ho so da duoc tiep nhan",
                    "callback_url": "http://127.0.0.1:9/receipts",
                },
                headers={"Authorization": f"Basic {auth}", "Idempotency-Key": "k-1"},
            )
        assert sent.status_code == 202
        [before] = await _messages(first)
        assert before["status"] == "accepted"  # the receipt is still owed
    second = create_sms_simulator(SimulatorSettings(receipt_delay_s=0), journal=journal)
    async with LifespanManager(second):
        for _ in range(100):
            [after] = await _messages(second)
            if after["status"] == "delivered":
                break
            await asyncio.sleep(0.05)
        assert after["message_id"] == before["message_id"]
        assert after["status"] == "delivered"
