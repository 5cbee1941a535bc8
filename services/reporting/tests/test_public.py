"""The citizens' lookup and rating over the real broker: no personal data, a
wrong ID number answered exactly like an unknown code, rate limits, and a
rating that travels through the outbox and comes back as satisfaction."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime

import pytest
import sqlalchemy as sa
from reporting_support import (
    ID_NUMBER,
    OPERATOR,
    Dossier,
    days,
    publish,
    wait_projected,
)

from motcua.reporting.app import create_app
from motcua.reporting.settings import ReportingSettings
from motcua.reporting.tables import DossierRow
from motcua.shared.auth import Role
from motcua.shared.contracts import VN_TZ, now_vn
from motcua.shared.testing.helpers import bearer, running_app, wait_for

pytestmark = pytest.mark.broker

T0 = datetime(2025, 2, 3, 9, 0, tzinfo=VN_TZ)
PERSONAL = ("Nguyễn Văn A", ID_NUMBER, "0912345678", "Tràng Tiền")


async def test_lookup_shows_status_and_steps_without_personal_data(
    reporting_settings: ReportingSettings, unique: str
) -> None:
    agency = f"P{unique}.H56"
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


async def test_lookups_are_rate_limited_per_dossier_code(
    reporting_settings: ReportingSettings,
) -> None:
    settings = reporting_settings.model_copy(
        update={"public_code_rate_limit": "3/minute"}
    )
    async with running_app(create_app(settings)) as client:
        statuses = [
            (
                await client.get(
                    "/api/v1/public/dossiers/NO-SUCH-CODE",
                    params={"id_number": ID_NUMBER},
                )
            ).status_code
            for _ in range(4)
        ]
        assert statuses == [404, 404, 404, 429]
        other = await client.get(
            "/api/v1/public/dossiers/ANOTHER-CODE", params={"id_number": ID_NUMBER}
        )
        assert other.status_code == 404
        assert (
            await client.get("/api/v1/public/dossiers/X", params={"id_number": "12"})
        ).status_code == 422


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


@dataclasses.dataclass
class _Row:
    values: dict


def _plain(row: DossierRow | None) -> _Row:
    assert row is not None
    return _Row({c.name: getattr(row, c.name) for c in sa.inspect(DossierRow).columns})
