"""A multi-agency dossier from reception to postal return, across every service
and the provider simulators, each its own process, over a real broker.

Commune desk → Sở Tư pháp → Công an tỉnh → Sở Tư pháp → commune desk, officers
acting through routing's API; the citizen is told by SMS and email; the result
goes back by post and the postal operator's "delivered" callback closes the
dossier; reporting's timeline and Biểu 06 see all of it.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from motcua.shared.auth import Role
from motcua.shared.contracts import now_vn
from motcua.shared.local_broker import LocalBroker, free_port
from motcua.shared.testing.brokers import BrokerUnderTest
from motcua.shared.testing.helpers import (
    bearer,
    service_process,
    wait_for,
    wait_http_ok,
)
from motcua.shared.testing.system import running_system

pytestmark = [pytest.mark.e2e, pytest.mark.broker]

DESK = "000.01.31.H14"  # Trung tâm Phục vụ hành chính công xã Kim Long
JUSTICE = "000.00.05.H14"  # Sở Tư pháp
PROVINCE_POLICE = "000.00.20.H14"  # Công an tỉnh
PHONE = "0912345678"


def _simulators(stack: ExitStack, logs: Path) -> dict[str, Any]:
    sms, postal, mailbox, smtp = (free_port() for _ in range(4))
    run = "motcua.notification.simulators"
    env = {
        "MOTCUA_SIMULATOR_POSTAL_DELIVER_DELAY_S": "0.5",
        "MOTCUA_SIMULATOR_RECEIPT_DELAY_S": "0.1",
    }
    for name, args in (
        ("sms", ["sms", "--port", str(sms)]),
        ("postal", ["postal", "--port", str(postal)]),
        ("smtp", ["smtp", "--port", str(mailbox), "--smtp-port", str(smtp)]),
    ):
        stack.enter_context(
            service_process(run, env, logs / f"{name}-simulator.log", args=args)
        )
    return {
        "sms": f"http://127.0.0.1:{sms}",
        "postal": f"http://127.0.0.1:{postal}",
        "mailbox": f"http://127.0.0.1:{mailbox}",
        "smtp_port": smtp,
    }


async def test_a_multi_agency_dossier_travels_and_returns_by_post(
    kafka_broker: BrokerUnderTest, tmp_path: Path
) -> None:
    (tmp_path / "logs").mkdir()
    with ExitStack() as stack:
        bootstrap = kafka_broker.bootstrap_servers
        if kafka_broker.kind == "tansu":
            bootstrap = stack.enter_context(
                LocalBroker("127.0.0.1", free_port())
            ).bootstrap_servers
        sim = _simulators(stack, tmp_path / "logs")
        system = stack.enter_context(
            running_system(
                bootstrap_servers=bootstrap,
                profile=kafka_broker.profile,
                data_dir=tmp_path,
                extra_env={
                    "MOTCUA_NOTIFICATION_SMS_GATEWAY_URL": sim["sms"],
                    "MOTCUA_NOTIFICATION_POSTAL_API_URL": sim["postal"],
                    "MOTCUA_NOTIFICATION_SMTP_PORT": str(sim["smtp_port"]),
                },
            )
        )
        for url in [*system.urls.values(), sim["sms"], sim["postal"], sim["mailbox"]]:
            await wait_http_ok(f"{url}/healthz")
        await system.wait_ready()
        await _journey(system.urls, sim)


async def _journey(urls: dict[str, str], sim: dict[str, Any]) -> None:
    desk = bearer(DESK, Role.DESK_OFFICER, subject="desk-1")
    justice = bearer(JUSTICE, Role.AGENCY_OFFICER, subject="stp-1")
    police = bearer(PROVINCE_POLICE, Role.AGENCY_OFFICER, subject="ca-1")
    operator = bearer("*", Role.OPERATOR)
    routing = f"{urls['routing']}/api/v1"
    async with httpx.AsyncClient(timeout=15) as client:
        response = await client.post(
            f"{urls['intake']}/api/v1/dossiers",
            headers=desk,
            json={
                "procedure_code": "2.000488",
                "receiving_agency_code": DESK,
                "applicant": {
                    "full_name": "Nguyễn Thị Lan",
                    "id_number": "001190012345",
                    "phone": PHONE,
                    "email": "lan@example.vn",
                },
                "result_delivery": "post",
                "postal_address": {
                    "receiver_name": "Nguyễn Thị Lan",
                    "address": "Thôn 3, xã Kim Long, tỉnh Mẫu",
                    "phone": PHONE,
                },
            },
        )
        assert response.status_code == 201, response.text
        code = response.json()["code"]
        assert code.startswith(f"{DESK}-")

        # The citizen hears about the reception by SMS and by email.
        async def told() -> bool:
            sms = (await client.get(f"{sim['sms']}/api/messages")).json()
            mail = (await client.get(f"{sim['mailbox']}/api/messages")).json()
            return code in str(sms) and code in str(mail)

        await wait_for(told, timeout_s=60, message="SMS and email of the reception")

        async def act(
            action: str, who: dict[str, str], body: dict[str, Any] | None = None
        ) -> None:
            async def done() -> bool:
                r = await client.post(
                    f"{routing}/dossiers/{code}/{action}", headers=who, json=body
                )
                assert r.status_code in (200, 201, 404, 409), r.text
                return r.status_code in (200, 201)

            # 404/409 while routing has not yet seen the previous event
            await wait_for(done, timeout_s=60, interval_s=0.2, message=action)

        await act("acknowledge", desk)
        await act("complete", desk)
        # Another agency's officer may not take it over.
        r = await client.post(f"{routing}/dossiers/{code}/acknowledge", headers=police)
        assert r.status_code == 403
        await act("acknowledge", justice)
        await act("complete", justice)
        await act("acknowledge", police)
        await act("complete", police)
        await act("acknowledge", justice)
        await act(
            "result", justice, {"summary": "Đã ký Phiếu lý lịch tư pháp số 125/LLTP"}
        )
        await act("complete", justice)
        await act("acknowledge", desk)

        # Result by post: an order with a waybill, then the operator's
        # "delivered" callback closes the dossier.
        async def delivered() -> dict[str, Any] | None:
            r = await client.get(
                f"{urls['reporting']}/api/v1/dossiers/{code}/timeline", headers=operator
            )
            if r.status_code != 200:
                return None
            events = r.json()["events"]
            types = [e["event_type"] for e in events]
            return r.json() if "dossier.result_delivered" in types else None

        timeline = await wait_for(
            delivered, timeout_s=90, interval_s=0.3, message="result delivered by post"
        )
        orders = (await client.get(f"{sim['postal']}/api/orders")).json()
        assert code in str(orders)

        events = timeline["events"]
        types = [e["event_type"] for e in events]
        services = {e["service"] for e in events}
        assert {"intake", "routing", "notification"} <= services
        for expected in (
            "dossier.received",
            "dossier.routed",
            "dossier.step_completed",
            "dossier.result_recorded",
            "notification.delivered",
            "notification.postal_order_created",
            "notification.postal_status_changed",
            "dossier.result_delivered",
        ):
            assert expected in types, expected
        assert types.index("dossier.received") == 0

        # The control sheet lists every hand-over with a timeliness mark.
        sheet = (
            await client.get(f"{routing}/dossiers/{code}/control-sheet", headers=desk)
        ).json()
        rows = sheet["hand_overs"]
        handed = [
            ((r["from_agency"] or {}).get("code"), (r["to_agency"] or {}).get("code"))
            for r in rows
        ]
        assert (DESK, JUSTICE) in handed
        assert (JUSTICE, PROVINCE_POLICE) in handed
        assert (PROVINCE_POLICE, JUSTICE) in handed
        assert (JUSTICE, DESK) in handed
        marked = [r for r in rows if r["timeliness"]]
        assert marked
        assert {r["timeliness"] for r in marked} <= {"early", "on_time", "late"}

        # Biểu 06 for the current month counts it as resolved at Sở Tư pháp.
        today = now_vn()
        report = (
            await client.get(
                f"{urls['reporting']}/api/v1/reports/bieu-06",
                headers=operator,
                params={
                    "period": "custom",
                    "from": today.date().isoformat(),
                    "to": today.date().isoformat(),
                    "group_by": "agency",
                },
            )
        ).json()
        assert report["invariant_ok"] is True
        justice_rows = [
            row for row in report["rows"] if row["keys"].get("agency") == JUSTICE
        ]
        assert len(justice_rows) == 1
        figures = justice_rows[0]["figures"]
        assert figures["received"] == 1
        assert figures["resolved"] == 1
        assert figures["postal_return"] == 1
