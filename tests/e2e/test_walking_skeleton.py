"""One dossier through all four services, each its own process, over the real
broker: intake → routing → notification → reporting's timeline, one trace."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from motcua.shared.auth import Role
from motcua.shared.local_broker import LocalBroker, free_port
from motcua.shared.testing.brokers import BrokerUnderTest
from motcua.shared.testing.helpers import bearer, wait_for
from motcua.shared.testing.system import running_system

pytestmark = [pytest.mark.e2e, pytest.mark.broker]

AGENCY = "000.00.12.H14"


async def test_a_received_dossier_reaches_every_service_in_one_trace(
    kafka_broker: BrokerUnderTest, tmp_path: Path
) -> None:
    with ExitStack() as stack:
        bootstrap = kafka_broker.bootstrap_servers
        if kafka_broker.kind == "tansu":
            # A broker of its own: the session's tansu holds every earlier
            # test's dossier events, which fresh consumer groups would replay
            # (and notify) before reaching this test's dossier.
            bootstrap = stack.enter_context(
                LocalBroker("127.0.0.1", free_port())
            ).bootstrap_servers
        system = stack.enter_context(
            running_system(
                bootstrap_servers=bootstrap,
                profile=kafka_broker.profile,
                data_dir=tmp_path,
            )
        )
        await system.wait_ready()
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(
                f"{system.urls['intake']}/api/v1/dossiers",
                headers=bearer(AGENCY, Role.DESK_OFFICER),
                json={
                    "procedure_code": "1.001193",
                    "receiving_agency_code": AGENCY,
                    "applicant": {"full_name": "Lê Văn C", "id_number": "001203004567"},
                },
            )
            assert response.status_code == 201, response.text
            code = response.json()["code"]

            async def timeline() -> dict | None:
                r = await client.get(
                    f"{system.urls['reporting']}/api/v1/dossiers/{code}/timeline",
                    headers=bearer("*", Role.OPERATOR),
                )
                if r.status_code != 200:
                    return None
                body = r.json()
                services = {e["service"] for e in body["events"]}
                return (
                    body if {"intake", "routing", "notification"} <= services else None
                )

            body = await wait_for(
                timeline, timeout_s=60, message="timeline from all services"
            )
        events = body["events"]
        assert events[0]["event_type"] == "dossier.received"
        assert {e["trace_id"] for e in events} == {events[0]["trace_id"]}
        assert len(events[0]["trace_id"] or "") == 32
        occurred = [e["occurred_at"] for e in events]
        assert occurred == sorted(occurred)
