"""Public reference data and the administrator's catalogue edits."""

from __future__ import annotations

import pytest
from intake_support import DESK, Intake, dossier

from motcua.shared.auth import Role
from motcua.shared.testing.helpers import bearer


async def test_the_posted_procedure_list_and_one_procedure(
    offline_intake: Intake,
) -> None:
    listing = await offline_intake.client.get("/api/v1/procedures")
    assert listing.status_code == 200
    codes = {p["code"] for p in listing.json()["items"]}
    assert {"1.001193", "1.001193.02", "1.011537", "2.000488"} <= codes
    found = await offline_intake.client.get(
        "/api/v1/procedures", params={"q": "khai sinh", "field": "ho_tich"}
    )
    assert {p["code"] for p in found.json()["items"]} == {"1.001193", "1.004884"}
    birth = await offline_intake.client.get("/api/v1/procedures/1.001193")
    body = birth.json()
    assert body["procedure"]["time_limits"] == {"default": "same-day"}
    assert body["field_name"] == "Hộ tịch"
    assert (
        await offline_intake.client.get("/api/v1/procedures/9.999999")
    ).status_code == 404
    fields = await offline_intake.client.get("/api/v1/fields")
    assert {"code": "ho_tich", "name": "Hộ tịch"} in fields.json()


async def test_an_administrator_publishes_a_new_version_and_dossiers_keep_theirs(
    offline_intake: Intake,
) -> None:
    current = (await offline_intake.client.get("/api/v1/procedures/1.004837")).json()
    edited = {**current["procedure"], "fee_vnd": 5000}
    refused = await offline_intake.client.put(
        "/api/v1/procedures/1.004837",
        json=edited,
        headers=bearer(DESK, Role.DESK_OFFICER),
    )
    assert refused.status_code == 403
    broken = {**edited, "time_limits": {"default": "5wd"}}
    invalid = await offline_intake.client.put(
        "/api/v1/procedures/1.004837", json=broken, headers=bearer("*", Role.ADMIN)
    )
    assert invalid.status_code == 422
    [detail] = invalid.json()["error"]["details"]
    assert detail["field"] == "workflows"
    assert "khác thời hạn 5wd" in detail["message"]

    officer = bearer(DESK, Role.DESK_OFFICER)
    before = await offline_intake.client.post(
        "/api/v1/dossiers", json=dossier(procedure_code="1.004837"), headers=officer
    )
    published = await offline_intake.client.put(
        "/api/v1/procedures/1.004837", json=edited, headers=bearer("*", Role.ADMIN)
    )
    assert published.status_code == 200, published.text
    version = published.json()["version"]
    assert version == current["version"] + 1
    assert published.json()["source"] == "api"
    after = await offline_intake.client.post(
        "/api/v1/dossiers", json=dossier(procedure_code="1.004837"), headers=officer
    )
    assert before.json()["procedure_version"] == current["version"]
    assert after.json()["procedure_version"] == version
    versions = await offline_intake.client.get("/api/v1/procedures/1.004837/versions")
    assert [v["version"] for v in versions.json()][-2:] == [version - 1, version]
    old = await offline_intake.client.get(
        f"/api/v1/procedures/1.004837?version={version - 1}"
    )
    assert old.json()["procedure"]["fee_vnd"] == 0


async def test_agencies_are_served_in_both_hierarchies(offline_intake: Intake) -> None:
    today = (
        await offline_intake.client.get(
            "/api/v1/agencies", params={"type": "one_stop_centre"}
        )
    ).json()
    codes = {a["code"] for a in today["items"]}
    assert "000.01.31.H14" in codes
    assert "000.01.41.H14" not in codes
    before = await offline_intake.client.get(
        "/api/v1/agencies", params={"on": "2025-03-01", "level": "district"}
    )
    assert "000.00.41.H14" in {a["code"] for a in before.json()["items"]}
    district_desk = await offline_intake.client.get(
        "/api/v1/agencies/000.01.41.H14", params={"on": "2026-01-05"}
    )
    body = district_desk.json()
    assert body["active"] is False
    assert body["current_code"] == "000.00.12.H14"
    commune = (await offline_intake.client.get("/api/v1/agencies/000.00.31.H14")).json()
    assert commune["one_stop_centre_code"] == "000.01.31.H14"
    assert (
        await offline_intake.client.get("/api/v1/agencies/000.99.99.H14")
    ).status_code == 404


@pytest.mark.parametrize(
    ("params", "due"),
    [
        (
            {"received_at": "2026-03-02T10:00:00+07:00", "limit": "3wd"},
            "2026-03-05T10:00:00+07:00",
        ),
        (
            {"received_at": "2026-03-02T15:00", "limit": "same-day"},
            "2026-03-03T17:00:00+07:00",
        ),
        (
            {"received_at": "2026-02-13T10:00", "limit": "3wd"},
            "2026-02-25T10:00:00+07:00",
        ),
        (
            {"received_at": "2026-03-02T12:15", "limit": "5h"},
            "2026-03-03T08:30:00+07:00",
        ),
        (
            {
                "received_at": "2026-03-02T10:00",
                "procedure": "1.001193.02",
                "channel": "online",
            },
            "2026-03-05T10:00:00+07:00",
        ),
        (
            {"received_at": "2026-03-02T10:00", "procedure": "1.001193.02"},
            "2026-03-30T10:00:00+07:00",
        ),
    ],
)
async def test_the_public_due_date_calculator(
    offline_intake: Intake, params: dict[str, str], due: str
) -> None:
    response = await offline_intake.client.get(
        "/api/v1/calendar/due-date", params=params
    )
    assert response.status_code == 200, response.text
    assert response.json()["due_at"] == due


async def test_the_calculator_explains_bad_input(offline_intake: Intake) -> None:
    bad = await offline_intake.client.get(
        "/api/v1/calendar/due-date", params={"limit": "3 weeks"}
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "limit"
    neither = await offline_intake.client.get("/api/v1/calendar/due-date")
    assert neither.status_code == 422
