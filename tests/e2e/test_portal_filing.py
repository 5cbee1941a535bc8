"""A citizen files on the national portal; the province receives it, tells
the citizen and routes it, and the portal hears back: every service, the
portal service and the simulators as their own processes, over a real broker.

A filing posted to the simulator's ``/_sim/submissions`` becomes an online
dossier in intake under the portal's code (ADR 0015) with its SMS and its
routing; the portal holds it as received (status 2, off the queue of filings)
and receives the officer's step as progress; a filing intake refuses (an
unknown procedure) is answered on the portal with status 3 and the reason.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from motcua.bench import portal
from motcua.shared.auth import Role
from motcua.shared.local_broker import LocalBroker, free_port
from motcua.shared.testing.brokers import BrokerUnderTest
from motcua.shared.testing.helpers import (
    bearer,
    service_process,
    wait_for,
    wait_http_ok,
)
from motcua.shared.testing.system import SERVICES, running_system

pytestmark = [pytest.mark.e2e, pytest.mark.broker]

DESK = "000.01.31.H14"  # Trung tâm Phục vụ hành chính công xã Kim Long
PHONE = "0912345678"


def _simulators(stack: ExitStack, data_dir: Path) -> dict[str, str]:
    sms = free_port()
    stack.enter_context(
        service_process(
            "motcua.notification.simulators",
            {"MOTCUA_SIMULATOR_RECEIPT_DELAY_S": "0.1"},
            data_dir / "logs" / "sms-simulator.log",
            args=["sms", "--port", str(sms)],
        )
    )
    portal_url, _ = portal.start_simulator(stack, data_dir)
    return {"sms": f"http://127.0.0.1:{sms}", "portal": portal_url}


async def test_a_filing_on_the_portal_becomes_a_dossier_and_its_answer_goes_back(
    kafka_broker: BrokerUnderTest, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    with ExitStack() as stack:
        bootstrap = kafka_broker.bootstrap_servers
        if kafka_broker.kind == "tansu":
            bootstrap = stack.enter_context(
                LocalBroker("127.0.0.1", free_port())
            ).bootstrap_servers
        sim = _simulators(stack, tmp_path)
        system = stack.enter_context(
            running_system(
                bootstrap_servers=bootstrap,
                profile=kafka_broker.profile,
                data_dir=tmp_path,
                services=(*SERVICES, "portal"),
                extra_env={
                    **portal.service_env(sim["portal"]),
                    "MOTCUA_NOTIFICATION_SMS_GATEWAY_URL": sim["sms"],
                    "MOTCUA_PORTAL_POLL_INTERVAL_S": "0.5",
                },
            )
        )
        await system.wait_ready()
        await wait_http_ok(f"{sim['sms']}/healthz")
        await wait_http_ok(f"{sim['portal']}/_sim/stats")
        async with httpx.AsyncClient(timeout=15) as client:
            await _accepted(client, system.urls, sim)
            await _refused(client, sim)
            stats = (await client.get(f"{sim['portal']}/_sim/stats")).json()
            assert stats["logins"] < sum(stats["calls"].values())


async def _submit(client: httpx.AsyncClient, portal: str, **fields: Any) -> str:
    filing = {
        "MaTTHC": "1.001193",
        "MaDonViTiepNhan": DESK,
        "ChuHoSo": "Nguyễn Thị Lan",
        "SoGiayToChuHoSo": "001190012345",
        "SoDienThoai": PHONE,
        "Email": "lan@example.vn",
        "HinhThuc": 0,
        "TaiLieuNop": [
            {"TenTepDinhKem": "to_khai.pdf", "MaThanhPhanHoSo": "to_khai"},
            {"TenTepDinhKem": "chung_sinh.pdf", "MaThanhPhanHoSo": "giay_chung_sinh"},
        ],
        **fields,
    }
    created = await client.post(f"{portal}/_sim/submissions", json=filing)
    assert created.status_code == 201, created.text
    code: str = created.json()["MaHoSo"]
    return code


async def _on_portal(
    client: httpx.AsyncClient, portal: str, code: str, check: Any, message: str
) -> dict[str, Any]:
    async def seen() -> dict[str, Any] | None:
        answer = await client.get(f"{portal}/_sim/dossiers/{code}")
        held: dict[str, Any] | None = (
            answer.json() if answer.status_code == 200 else None
        )
        return held if held is not None and check(held) else None

    found = await wait_for(seen, timeout_s=30, interval_s=0.2, message=message)
    assert found is not None  # (wait_for fails on a timeout)
    return found


async def _accepted(
    client: httpx.AsyncClient, urls: dict[str, str], sim: dict[str, str]
) -> None:
    desk = bearer(DESK, Role.DESK_OFFICER, subject="desk-1")
    code = await _submit(client, sim["portal"])

    async def in_intake() -> dict[str, Any] | None:
        r = await client.get(f"{urls['intake']}/api/v1/dossiers/{code}", headers=desk)
        return r.json() if r.status_code == 200 else None

    dossier = await wait_for(in_intake, timeout_s=30, interval_s=0.1, message="intake")
    assert dossier is not None
    # received (2), or already taken into processing (4): routing's answer
    # may reach intake before the first look
    assert dossier["channel"] == "online"
    assert dossier["status"] in (2, 4)
    assert dossier["filed_by"] == "online_portal"

    async def told() -> bool:
        return code in str((await client.get(f"{sim['sms']}/api/messages")).json())

    await wait_for(told, timeout_s=60, message="SMS of the reception")

    async def acknowledged() -> bool:  # routing has it: the desk takes step 1
        r = await client.post(
            f"{urls['routing']}/api/v1/dossiers/{code}/acknowledge", headers=desk
        )
        assert r.status_code in (200, 201, 404, 409), r.text
        return r.status_code in (200, 201)

    await wait_for(acknowledged, timeout_s=60, interval_s=0.2, message="routing")
    held = await _on_portal(
        client,
        sim["portal"],
        code,
        lambda h: h["dossier"]["TrangThaiHoSo"] >= 2 and h["progress"],
        "the reception and its first step on the portal",
    )
    assert held["records"][0]["TrangThaiHoSo"] == 2
    assert held["dossier"]["KenhThucHien"] in (2, "2")
    queued = (await client.get(f"{sim['portal']}/_sim/stats")).json()["queued"]
    assert queued == 0  # received: off the portal's queue of filings


async def _refused(client: httpx.AsyncClient, sim: dict[str, str]) -> None:
    code = await _submit(client, sim["portal"], MaTTHC="9.999999")
    held = await _on_portal(
        client,
        sim["portal"],
        code,
        lambda h: h["dossier"]["TrangThaiHoSo"] in (3, "3"),
        "the refusal on the portal",
    )
    assert "Thủ tục" in held["dossier"]["GhiChu"]
    assert (await client.get(f"{sim['portal']}/_sim/stats")).json()["queued"] == 0
