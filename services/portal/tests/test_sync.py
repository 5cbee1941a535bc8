"""Outbound sync over a real database: the consumer queues, the sender pushes
in order, retries, renews its credentials, parks and resends; reconciliation
and resync. The portal is reached over HTTP (in-process transport)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import structlog
from portal_double import PortalDouble
from portal_factories import APPLICANT, dossier_code, received
from portal_support import connected, settings_for
from test_mapping import STEP_STATUSES, walkthrough

from motcua.portal.reconciliation import reconcile, resync
from motcua.shared.testing.helpers import bearer


async def test_a_dossier_and_each_step_reach_the_portal_in_order(
    database_url: str, tmp_path: Path
) -> None:
    portal = PortalDouble()
    code = dossier_code()
    async with connected(settings_for(database_url, tmp_path), portal) as c:
        await c.service.feed(*walkthrough(code))
        await c.sync()
        record = portal.dossiers[code]
        assert record["TrangThaiHoSo"] == 10
        assert record["ChuHoSo"] == APPLICANT.full_name
        steps = [s["TrangThai"] for s in portal.progress[code]]
        assert steps == STEP_STATUSES
        # one login and one token for the whole dossier; calls are batched
        assert portal.stats["logins"] == 1
        assert portal.stats["token_requests"] == 1
        report = await reconcile(c.service.runtime.sessions, c.client)
        assert report.as_dict()["differences"] == 0


async def test_imported_history_is_not_pushed_unless_asked(
    database_url: str, tmp_path: Path
) -> None:
    portal = PortalDouble()
    code = dossier_code()
    async with connected(settings_for(database_url, tmp_path), portal) as c:
        await c.service.feed(received(code, imported=True), signed=False)
        await c.sync()
        assert code not in portal.dossiers
    other = dossier_code()
    settings = settings_for(database_url, tmp_path, include_imported=True)
    async with connected(settings, portal) as c:
        await c.service.feed(received(other, imported=True), signed=False)
        await c.sync()
        assert portal.dossiers[other]["TrangThaiHoSo"] == 2


async def test_failures_are_retried_and_sessions_renewed_not_per_call(
    database_url: str, tmp_path: Path
) -> None:
    portal = PortalDouble(error_rate=0.3, session_ttl_s=0.05)
    codes = [dossier_code() for _ in range(8)]
    settings = settings_for(database_url, tmp_path, max_attempts=50)
    async with connected(settings, portal) as c:
        for code in codes:
            await c.service.feed(*walkthrough(code))
        for _ in range(500):
            await c.sync()
            if all(
                len(portal.progress.get(x, [])) == len(STEP_STATUSES) for x in codes
            ):
                break
            await asyncio.sleep(0.005)  # the retries' backoff
        for code in codes:
            assert [s["TrangThai"] for s in portal.progress[code]] == STEP_STATUSES
        calls = sum(portal.stats["calls"].values())
        assert portal.stats["logins"] < calls
        report = await reconcile(c.service.runtime.sessions, c.client)
        assert report.as_dict()["differences"] == 0


async def test_an_item_is_parked_after_its_last_attempt_and_resent_by_an_operator(
    database_url: str, tmp_path: Path
) -> None:
    portal = PortalDouble(down_until=float("inf"))
    code = dossier_code()
    async with connected(settings_for(database_url, tmp_path), portal) as c:
        await c.service.feed(*walkthrough(code)[:3])
        operator = bearer("*", "operator")
        parked: list[dict[str, Any]] = []
        for _ in range(200):
            await c.sync()
            answer = await c.service.client.get(
                "/api/v1/portal/parked", headers=operator
            )
            parked = answer.json()
            if parked:
                break
            await asyncio.sleep(0.005)  # the retries' backoff
        [item] = parked  # the record; its steps wait behind it
        assert item["dossier_code"] == code
        assert item["service"] == "DongBoHoSoMC"
        assert item["attempts"] == 3
        assert "503" in item["last_error"]
        assert APPLICANT.id_number not in str(parked)
        portal.down_until = 0.0
        answer = await c.service.client.post(
            f"/api/v1/portal/parked/{item['id']}/resend", headers=operator
        )
        assert answer.json() == {"resent": [item["id"]]}
        await c.sync()
        assert portal.dossiers[code]["TrangThaiHoSo"] == 4
        assert len(portal.progress[code]) == 2
        again = await c.service.client.post(
            f"/api/v1/portal/parked/{item['id']}/resend", headers=operator
        )
        assert again.status_code == 404
        assert again.json()["error"]["code"] == "not_parked"
        citizen = await c.service.client.get(
            "/api/v1/portal/parked", headers=bearer("000.00.12.H14", "desk_officer")
        )
        assert citizen.status_code == 403


async def test_a_lost_acknowledgement_does_not_create_the_dossier_twice(
    database_url: str, tmp_path: Path
) -> None:
    portal = PortalDouble()
    code = dossier_code()
    async with connected(settings_for(database_url, tmp_path), portal) as c:
        first = received(code)
        portal.dossiers[code] = {
            "MaHoSo": code,
            "TrangThaiHoSo": 2,
        }  # sent, no ack seen
        await c.service.feed(first)
        await c.sync()
        assert portal.stats["calls"]["DongBoHoSoMC"] == 2  # creation refused, update
        assert portal.dossiers[code]["ChuHoSo"] == APPLICANT.full_name


async def test_reconciliation_lists_each_difference_and_resync_repairs_them(
    database_url: str, tmp_path: Path
) -> None:
    portal = PortalDouble()
    lost, behind, gap = dossier_code(), dossier_code(), dossier_code()
    async with connected(settings_for(database_url, tmp_path), portal) as c:
        for code in (lost, behind, gap):
            await c.service.feed(*walkthrough(code)[:6])
        await c.sync()
        del portal.dossiers[lost], portal.progress[lost]
        portal.dossiers[behind] = {**portal.dossiers[behind], "TrangThaiHoSo": 2}
        extra = {**portal.progress[gap][0], "NoiDungXuLy": "không phải của chúng ta"}
        portal.progress[gap] = [*portal.progress[gap][1:], extra]
        operator = bearer("*", "operator")
        report = (
            await c.service.client.get(
                "/api/v1/portal/reconciliation",
                params={"from": "2020-01-01", "to": "2100-12-31"},
                headers=operator,
            )
        ).json()
        assert report["dossiers"] == 3
        assert report["by_kind"] == {
            "missing_dossier": 1,
            "wrong_status": 1,
            "missing_step": 1,
            "extra_step": 1,
        }
        kinds = {(d["dossier_code"], d["kind"]) for d in report["items"]}
        assert (lost, "missing_dossier") in kinds
        assert (behind, "wrong_status") in kinds
        assert (gap, "missing_step") in kinds
        result = await reconcile(c.service.runtime.sessions, c.client)
        queued = await resync(c.service.runtime.sessions, result)
        assert queued["dossiers"] == 3
        await c.sync()
        after = await reconcile(c.service.runtime.sessions, c.client)
        left = {(d.dossier_code, d.kind.value) for d in after.differences}
        assert left == {(gap, "extra_step")}  # the portal's own step stays
        overview = (
            await c.service.client.get("/api/v1/portal/sync", headers=operator)
        ).json()
        assert overview["last_reconciliation"]["differences"] == 1
        assert overview["pending"] == 0
        assert overview["lag_p50_s"] is not None


async def test_a_bad_period_is_refused_in_vietnamese(
    database_url: str, tmp_path: Path
) -> None:
    async with connected(settings_for(database_url, tmp_path), PortalDouble()) as c:
        answer = await c.service.client.get(
            "/api/v1/portal/reconciliation",
            params={"from": "hôm qua"},
            headers=bearer("*", "operator"),
        )
        assert answer.status_code == 422
        assert answer.json()["error"]["code"] == "period_invalid"


@pytest.mark.parametrize(
    "secret", [APPLICANT.id_number, APPLICANT.phone, APPLICANT.email]
)
async def test_no_personal_data_in_the_logs(
    database_url: str, tmp_path: Path, secret: str
) -> None:
    portal = PortalDouble(error_rate=0.5)
    code = dossier_code()
    with structlog.testing.capture_logs() as logs:
        async with connected(settings_for(database_url, tmp_path), portal) as c:
            await c.service.feed(*walkthrough(code))
            for _ in range(5):
                await c.sync()
    assert logs
    assert secret not in str(logs)
