"""The citizens' lookup and rating over the real broker: no personal data, a
wrong ID number answered exactly like an unknown code, rate limits, and a
rating that travels through the outbox and comes back as satisfaction."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from reporting_support import (
    ID_NUMBER,
    OPERATOR,
    Dossier,
    days,
    publish,
    unique_agency,
    wait_projected,
)

from motcua.reporting.app import create_app
from motcua.reporting.settings import ReportingSettings
from motcua.reporting.tables import DossierRow
from motcua.shared.auth import Role
from motcua.shared.contracts import VN_TZ, now_vn
from motcua.shared.testing.brokers import BrokerUnderTest
from motcua.shared.testing.helpers import bearer, running_app, wait_for, wait_http_ok
from motcua.shared.testing.system import running_system

pytestmark = pytest.mark.broker

T0 = datetime(2025, 2, 3, 9, 0, tzinfo=VN_TZ)
PERSONAL = ("Nguyễn Văn A", ID_NUMBER, "0912345678", "Tràng Tiền")


async def test_lookup_shows_status_and_steps_without_personal_data(
    reporting_settings: ReportingSettings, unique: str
) -> None:
    agency = unique_agency(unique, "P")
    open_one, done = (
        Dossier(f"{agency}-250203-0001", agency),
        Dossier(f"{agency}-250203-0002", agency),
    )
    events = [
        open_one.received(T0, T0 + days(3)),
        open_one.offered(T0),
        done.received(T0, T0 + days(3)),
        done.resolved(T0 + days(1), T0 + days(3)),
    ]
    app = create_app(reporting_settings)
    async with running_app(app) as client:
        await publish(reporting_settings.kafka, events)
        await wait_projected(app, [e.event_id for e in events])

        response = await client.get(
            f"/api/v1/public/dossiers/{open_one.code}", params={"id_number": ID_NUMBER}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == 4
        assert body["status_label"] == "Đang xử lý"
        assert body["appointment_at"] == (T0 + days(3)).isoformat()
        assert [s["label"] for s in body["steps"]] == [
            "Đã tiếp nhận hồ sơ",
            "Chuyển hồ sơ đến cơ quan xử lý",
        ]
        assert body["can_rate"] is False
        assert not any(p in response.text for p in PERSONAL)

        async with app.state.runtime.sessions() as session:
            stored = await session.get(DossierRow, open_one.code)
            dump = json.dumps(dataclasses.asdict(_plain(stored)), default=str)
        assert ID_NUMBER not in dump
        assert "0912345678" not in dump

        wrong = await client.get(
            f"/api/v1/public/dossiers/{open_one.code}",
            params={"id_number": "001203004568"},
        )
        unknown = await client.get(
            f"/api/v1/public/dossiers/{agency}-250203-0999",
            params={"id_number": ID_NUMBER},
        )
        assert wrong.status_code == unknown.status_code == 404
        assert wrong.content == unknown.content
        assert "Không tìm thấy hồ sơ" in wrong.json()["error"]["message"]

        refused = await client.post(
            f"/api/v1/public/dossiers/{open_one.code}/rating",
            json={"id_number": ID_NUMBER, "score": 5},
        )
        assert refused.status_code == 409
        assert "chưa có kết quả" in refused.json()["error"]["message"]
        stranger = await client.post(
            f"/api/v1/public/dossiers/{done.code}/rating",
            json={"id_number": "001203004568", "score": 1},
        )
        assert stranger.status_code == 404
        assert stranger.content == unknown.content

        rated = await client.post(
            f"/api/v1/public/dossiers/{done.code}/rating",
            json={"id_number": ID_NUMBER, "score": 4, "comment": "Nhanh"},
        )
        assert rated.status_code == 202, rated.text

        async def satisfaction() -> dict | None:
            kpis = await client.get(
                "/api/v1/reports/kpis",
                # ratings count when they are given: today, in this range
                params={"from": "2025-01-01", "to": now_vn().date().isoformat()},
                headers=OPERATOR,
            )
            for row in kpis.json()["agencies"]:
                if row["agency_code"] == agency and row["satisfaction_count"]:
                    return row
            return None

        # dossier.rated went out through reporting's outbox and came back in.
        row = await wait_for(satisfaction, timeout_s=30, message="rating projected")
        assert row["satisfaction_avg"] == 4.0
        assert row["satisfied_rate"] == 100.0
        assert row["resolved"] == 1
        assert row["on_time_rate"] == 100.0
        assert row["in_progress"] == 1
        own = bearer(agency, Role.AGENCY_OFFICER)
        other = bearer("000.00.77.H56", Role.AGENCY_OFFICER)
        path = f"/api/v1/dossiers/{done.code}/timeline"
        assert (await client.get(path, headers=own)).status_code == 200
        assert (await client.get(path, headers=other)).status_code == 403
        rated_at = await client.get(
            f"/api/v1/dossiers/{done.code}/timeline", headers=OPERATOR
        )
        assert rated_at.json()["events"][-1]["service"] == "reporting"


def _client_at(app: object, address: str) -> httpx.AsyncClient:
    """Another caller of the running app, from its own address."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_guessing_locks_the_guesser_out_not_the_citizen(
    reporting_settings: ReportingSettings, unique: str
) -> None:
    """Wrong ID numbers count per address and code: the guesser is refused
    (429) while the citizen, from elsewhere, still sees the dossier; guesses
    from many addresses together close the code for an hour at a higher
    ceiling; every request counts against its address."""
    agency = unique_agency(unique, "G")
    dossier = Dossier(f"{agency}-250203-0001", agency)
    settings = reporting_settings.model_copy(
        update={"public_code_rate_limit": "3/hour", "public_code_guess_limit": "5/hour"}
    )
    app = create_app(settings)
    path = f"/api/v1/public/dossiers/{dossier.code}"
    wrong = {"id_number": "001203004568"}
    right = {"id_number": ID_NUMBER}
    async with running_app(app):
        event = dossier.received(T0, T0 + days(3))
        await publish(settings.kafka, [event])
        await wait_projected(app, [event.event_id])
        async with (
            _client_at(app, "203.0.113.9") as guesser,
            _client_at(app, "198.51.100.7") as citizen,
            _client_at(app, "192.0.2.44") as second_guesser,
        ):
            tries = [
                (await guesser.get(path, params=wrong)).status_code for _ in range(4)
            ]
            assert tries == [404, 404, 404, 429]
            assert (await guesser.get(path, params=right)).status_code == 429
            assert (await citizen.get(path, params=right)).status_code == 200
            assert (await citizen.get(path, params=right)).status_code == 200
            other_code = f"{agency}-250203-0002"
            assert (
                await guesser.get(f"/api/v1/public/dossiers/{other_code}", params=right)
            ).status_code == 404  # only this code is closed to the guesser
            more = [
                (await second_guesser.get(path, params=wrong)).status_code
                for _ in range(2)
            ]
            assert more == [404, 404]  # five wrong answers for the code in all
            assert (await citizen.get(path, params=right)).status_code == 429
            bad = await citizen.get(
                "/api/v1/public/dossiers/X", params={"id_number": "12"}
            )
            assert bad.status_code == 422


async def test_reports_need_a_token_and_stay_inside_the_agency(
    reporting_settings: ReportingSettings,
) -> None:
    async with running_app(create_app(reporting_settings)) as client:
        anonymous = await client.get("/api/v1/reports/bieu-06")
        assert anonymous.status_code == 401
        officer = bearer("000.00.01.H56", Role.AGENCY_OFFICER)
        other = await client.get(
            "/api/v1/reports/bieu-06",
            params={"agency": "000.00.02.H56"},
            headers=officer,
        )
        assert other.status_code == 403
        own = await client.get("/api/v1/reports/bieu-06", headers=officer)
        assert own.status_code == 200
        console = await client.get("/api/v1/console/overview", headers=officer)
        assert console.status_code == 403
        bad = await client.get(
            "/api/v1/reports/bieu-06", params={"period": "quarter"}, headers=OPERATOR
        )
        assert bad.status_code == 422
        assert bad.json()["error"]["details"][0]["field"] == "quarter"
        for first, last in (("0001-01-01", "0001-01-02"), ("9999-12-30", "9999-12-31")):
            far = await client.get(
                "/api/v1/reports/bieu-06",
                params={"period": "custom", "from": first, "to": last},
                headers=OPERATOR,
            )
            assert far.status_code == 422, far.text
            assert far.json()["error"]["details"][0]["field"] == "query.from"


@dataclasses.dataclass
class _Row:
    values: dict


def _plain(row: DossierRow | None) -> _Row:
    assert row is not None
    return _Row({c.name: getattr(row, c.name) for c in sa.inspect(DossierRow).columns})


async def test_a_forwarded_for_header_is_not_believed_by_default(
    kafka_broker: BrokerUnderTest, tmp_path: Path
) -> None:
    """The real server (uvicorn, as ``motcua up`` runs it): a caller writing
    another address into ``X-Forwarded-For`` is still counted as itself, so it
    cannot dodge the guess limit by changing the header."""
    with running_system(
        bootstrap_servers=kafka_broker.bootstrap_servers,
        profile=kafka_broker.profile,
        data_dir=tmp_path,
        services=("reporting",),
        extra_env={"MOTCUA_REPORTING_PUBLIC_CODE_RATE_LIMIT": "2/hour"},
    ) as system:
        url = system.urls["reporting"]
        await wait_http_ok(f"{url}/healthz")
        path = f"{url}/api/v1/public/dossiers/000.00.12.H14-250203-0001"
        async with httpx.AsyncClient(timeout=10) as client:
            statuses = [
                (
                    await client.get(
                        path,
                        params={"id_number": ID_NUMBER},
                        headers={"X-Forwarded-For": f"203.0.113.{n}"},
                    )
                ).status_code
                for n in range(3)
            ]
    assert statuses == [404, 404, 429]
