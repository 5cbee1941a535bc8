"""Outbound sync over a real database against the national portal simulator:
the consumer queues, the sender pushes in order, retries, renews its
credentials, parks and resends; reconciliation and resync."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import structlog
from portal_factories import APPLICANT, dossier_code, received
from portal_support import Connected, connected, settings_for
from test_mapping import PEOPLE, STEP_STATUSES, walkthrough

from motcua.portal.mapping import ItemKind, map_event
from motcua.portal.reconciliation import reconcile, resync
from motcua.portal.tables import PortalDossier, PortalItem
from motcua.shared.db import utcnow
from motcua.shared.testing.helpers import bearer

OPERATOR = bearer("*", "operator")


async def settle(c: Connected, done: Any, rounds: int = 500) -> None:
    """Sync until ``done()`` (retries wait their backoff)."""
    for _ in range(rounds):
        await c.sync()
        if await done():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the portal did not get everything")


async def test_a_dossier_and_each_step_reach_the_portal_in_order(
    database_url: str, tmp_path: Path
) -> None:
    code = dossier_code()
    async with connected(settings_for(database_url, tmp_path)) as c:
        await c.service.feed(*walkthrough(code))
        await c.sync()
        record = await c.portal.record(code)
        assert record["TrangThaiHoSo"] == 10
        assert record["ChuHoSo"] == APPLICANT.full_name
        steps = await c.portal.steps(code)
        assert [s["TrangThai"] for s in steps] == STEP_STATUSES
        stats = await c.portal.stats()
        assert stats["logins"] == 1  # one session for every call
        assert stats["token_requests"] == 1
        assert stats["calls"]["CapNhatTienDoHoSoMC"] < len(STEP_STATUSES)  # batched
        report = await reconcile(c.service.runtime.sessions, c.client)
        assert report.as_dict()["differences"] == 0


async def test_a_batch_reads_each_dossiers_portal_record_once(
    database_url: str, tmp_path: Path
) -> None:
    """A dossier's events in one consumed batch: its last record is read from
    the database once, then kept as the batch changes it."""
    code = dossier_code()
    async with connected(settings_for(database_url, tmp_path)) as c:
        reads: list[str] = []

        def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.lstrip().upper().startswith("SELECT") and (
                "FROM portal_dossier" in statement
            ):
                reads.append(statement)

        engine = c.service.runtime.engine.sync_engine
        sa.event.listen(engine, "before_cursor_execute", seen)
        try:
            await c.service.feed(*walkthrough(code))
        finally:
            sa.event.remove(engine, "before_cursor_execute", seen)
        assert len(reads) == 1, reads
        await c.sync()
        assert (await c.portal.record(code))["TrangThaiHoSo"] == 10
        steps = await c.portal.steps(code)
        assert [s["TrangThai"] for s in steps] == STEP_STATUSES


async def test_one_round_sends_a_record_and_the_steps_its_acknowledgement_lets_go(
    database_url: str, tmp_path: Path
) -> None:
    """The open items are read once per round: the steps behind a dossier's
    record go as soon as the portal acknowledges it, planned again from that
    read, in order; a round's reads take no write lock on SQLite."""
    codes = [dossier_code(), dossier_code()]
    async with connected(settings_for(database_url, tmp_path)) as c:
        for code in codes:
            await c.service.feed(*walkthrough(code))
        statements: list[str] = []

        def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement)

        engine = c.service.runtime.engine.sync_engine
        sa.event.listen(engine, "before_cursor_execute", seen)
        try:
            more = await c.sender.round()
        finally:
            sa.event.remove(engine, "before_cursor_execute", seen)
        assert not more  # nothing else is due
        for code in codes:
            assert (await c.portal.record(code))["TrangThaiHoSo"] == 10
            steps = await c.portal.steps(code)
            assert [s["TrangThai"] for s in steps] == STEP_STATUSES
        open_reads = [s for s in statements if "portal_item.state IN" in s]
        assert len(open_reads) == 1, open_reads
        if c.service.runtime.engine.dialect.name == "sqlite":
            assert statements[0] == "BEGIN"  # deferred: a read takes no lock
            assert "BEGIN IMMEDIATE" in statements  # the acknowledgements write


async def test_imported_history_is_not_pushed_unless_asked(
    database_url: str, tmp_path: Path
) -> None:
    code, other = dossier_code(), dossier_code()
    async with connected(settings_for(database_url, tmp_path)) as c:
        await c.service.feed(received(code, imported=True), signed=False)
        await c.sync()
        assert await c.portal.dossier(code) is None
    settings = settings_for(database_url, tmp_path, include_imported=True)
    async with connected(settings) as c:
        await c.service.feed(received(other, imported=True), signed=False)
        await c.sync()
        assert (await c.portal.record(other))["TrangThaiHoSo"] == 2


async def test_failures_are_retried_and_sessions_renewed_not_per_call(
    database_url: str, tmp_path: Path
) -> None:
    codes = [dossier_code() for _ in range(8)]
    settings = settings_for(database_url, tmp_path, max_attempts=50)
    async with connected(settings, error_rate=0.3, session_ttl_s=0.05) as c:
        for code in codes:
            await c.service.feed(*walkthrough(code))

        async def all_there() -> bool:
            steps = [await c.portal.steps(x) for x in codes]
            return all(len(s) == len(STEP_STATUSES) for s in steps)

        await settle(c, all_there)
        for code in codes:
            steps = await c.portal.steps(code)
            assert [s["TrangThai"] for s in steps] == STEP_STATUSES
        stats = await c.portal.stats()
        assert stats["errors"].get("99", 0) > 0  # the faults did happen
        assert stats["logins"] > 1  # sessions expired and were renewed …
        assert stats["logins"] < sum(stats["calls"].values())  # … not per call
        await c.portal.faults()
        report = await reconcile(c.service.runtime.sessions, c.client)
        assert report.as_dict()["differences"] == 0


async def test_an_item_is_parked_after_its_last_attempt_and_resent_by_an_operator(
    database_url: str, tmp_path: Path
) -> None:
    code = dossier_code()
    async with connected(settings_for(database_url, tmp_path), down_for_s=3600) as c:
        await c.service.feed(*walkthrough(code)[:3])
        parked: list[dict[str, Any]] = []

        async def some_parked() -> bool:
            nonlocal parked
            answer = await c.service.client.get(
                "/api/v1/portal/parked", headers=OPERATOR
            )
            parked = answer.json()
            return bool(parked)

        await settle(c, some_parked)
        [item] = parked  # the record; its steps wait behind it
        assert item["dossier_code"] == code
        assert item["service"] == "DongBoHoSoMC"
        assert item["attempts"] == 3
        assert "503" in item["last_error"]
        assert APPLICANT.id_number not in str(parked)
        await c.portal.faults()  # the portal is back
        answer = await c.service.client.post(
            f"/api/v1/portal/parked/{item['id']}/resend", headers=OPERATOR
        )
        assert answer.json() == {"resent": [item["id"]]}
        await c.sync()
        assert (await c.portal.record(code))["TrangThaiHoSo"] == 4
        assert len(await c.portal.steps(code)) == 2
        again = await c.service.client.post(
            f"/api/v1/portal/parked/{item['id']}/resend", headers=OPERATOR
        )
        assert again.status_code == 404
        assert again.json()["error"]["code"] == "not_parked"
        desk = await c.service.client.get(
            "/api/v1/portal/parked", headers=bearer("000.00.12.H14", "desk_officer")
        )
        assert desk.status_code == 403


async def test_a_lost_acknowledgement_does_not_create_the_dossier_twice(
    database_url: str, tmp_path: Path
) -> None:
    code = dossier_code()
    reception = received(code)
    record = map_event(reception, None, PEOPLE).items[0].payload
    async with connected(settings_for(database_url, tmp_path)) as c:
        # sent before, its answer lost: the portal holds it, we think it does not
        first = await c.client.call(
            "DongBoHoSoMC", {"isUpdating": False, "data": [record]}
        )
        assert first.error_code == "00"
        await c.service.feed(reception)
        await c.sync()
        held = await c.portal.dossier(code)
        assert held is not None
        assert len(held["records"]) == 2  # the first, then ours as an update
        assert len(held["progress"]) == 1


async def test_reconciliation_lists_each_difference_and_resync_repairs_them(
    database_url: str, tmp_path: Path
) -> None:
    lost, stale, gap = dossier_code(), dossier_code(), dossier_code()
    async with connected(settings_for(database_url, tmp_path)) as c:
        for code in (stale, gap):
            await c.service.feed(*walkthrough(code)[:6])
        await c.sync()
        # lost: we hold a dossier the portal never got (its items acked by mistake)
        lost_record = map_event(received(lost), None, PEOPLE).items[0].payload
        # gap: a step we think sent, which the portal lacks
        gap_step = {**(await c.portal.steps(gap))[0], "NoiDungXuLy": "Bước bị thất lạc"}
        async with c.service.runtime.transaction() as session:
            session.add(PortalDossier(dossier_code=lost, record=lost_record, status=2))
            for code, kind, payload in (
                (lost, ItemKind.DOSSIER, lost_record),
                (gap, ItemKind.PROGRESS, gap_step),
            ):
                session.add(
                    PortalItem(
                        dossier_code=code,
                        kind=kind.value,
                        payload=payload,
                        state="acked",
                        acked_at=utcnow(),
                    )
                )
        # stale: the portal was told another status behind our back
        stale_record = {**(await c.portal.record(stale)), "TrangThaiHoSo": 2}
        await c.client.call(
            "DongBoHoSoMC", {"isUpdating": True, "data": [stale_record]}
        )
        # extra: the portal holds a step we never sent
        extra = {**gap_step, "NoiDungXuLy": "Không phải của tỉnh"}
        await c.client.call("CapNhatTienDoHoSoMC", {"data": [extra]})

        report = (
            await c.service.client.get(
                "/api/v1/portal/reconciliation",
                params={"from": "2020-01-01", "to": "2100-12-31"},
                headers=OPERATOR,
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
        assert kinds == {
            (lost, "missing_dossier"),
            (stale, "wrong_status"),
            (gap, "missing_step"),
            (gap, "extra_step"),
        }
        result = await reconcile(c.service.runtime.sessions, c.client)
        queued = await resync(c.service.runtime.sessions, result)
        assert queued == {"dossiers": 3, "records": 2, "steps": 1, "resent": 0}
        await c.sync()
        after = await reconcile(c.service.runtime.sessions, c.client)
        left = {(d.dossier_code, d.kind.value) for d in after.differences}
        assert left == {(gap, "extra_step")}  # the portal's own step stays
        overview = (
            await c.service.client.get("/api/v1/portal/sync", headers=OPERATOR)
        ).json()
        assert overview["last_reconciliation"]["differences"] == 1
        assert overview["pending"] == 0
        assert overview["lag_p50_s"] is not None


async def test_a_bad_period_is_refused_in_vietnamese(
    database_url: str, tmp_path: Path
) -> None:
    async with connected(settings_for(database_url, tmp_path)) as c:
        answer = await c.service.client.get(
            "/api/v1/portal/reconciliation",
            params={"from": "hôm qua"},
            headers=OPERATOR,
        )
        assert answer.status_code == 422
        assert answer.json()["error"]["code"] == "period_invalid"


@pytest.mark.parametrize(
    "secret", [APPLICANT.id_number, APPLICANT.phone, APPLICANT.email]
)
async def test_no_personal_data_in_the_logs(
    database_url: str, tmp_path: Path, secret: str
) -> None:
    code = dossier_code()
    with structlog.testing.capture_logs() as logs:
        async with connected(settings_for(database_url, tmp_path), error_rate=0.5) as c:
            await c.service.feed(*walkthrough(code))
            for _ in range(5):
                await c.sync()
    assert logs
    assert secret not in str(logs)
