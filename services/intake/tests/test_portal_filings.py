"""Filings from the national portal over HTTP, on SQLite and PostgreSQL
(``POST /api/v1/portal/filings``, role ``portal``): an online dossier under
the portal's code whose reception reaches the topic once whatever the
retries, refusals with a machine code and nothing written, and the desk's
counter stepping over codes the portal holds (ADR 0015)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from intake_support import DESK, Intake, applicant, dossier, filing, outbox_events
from intake_support import published as on_topic

from motcua.intake.tables import DossierRecord
from motcua.shared.auth import Role
from motcua.shared.contracts import now_vn
from motcua.shared.messaging.tables import OutboxRecord
from motcua.shared.settings import KafkaSettings
from motcua.shared.testing.helpers import bearer

PORTAL = bearer("*", Role.PORTAL, subject="portal-service")
FILINGS = "/api/v1/portal/filings"
PROVINCIAL_CENTRE = "000.00.12.H14"
JUSTICE = "000.00.05.H14"


async def _counts(intake: Intake) -> tuple[int, int]:
    """(dossiers, outbox rows) in the module's database."""
    async with intake.app.state.runtime.sessions() as session:
        dossiers = await session.scalar(
            sa.select(sa.func.count()).select_from(DossierRecord)
        )
        outbox = await session.scalar(
            sa.select(sa.func.count()).select_from(OutboxRecord)
        )
    return int(dossiers or 0), int(outbox or 0)


async def _file(intake: Intake, body: dict[str, Any]) -> Any:
    return await intake.client.post(FILINGS, json=body, headers=PORTAL)


async def test_a_filing_is_received_once_under_its_code_and_reaches_the_topic(
    intake: Intake, kafka_settings: KafkaSettings
) -> None:
    code = intake.portal_code()
    body = filing(code)
    first = await _file(intake, body)
    assert first.status_code == 201, first.text
    dossier_out = first.json()
    assert dossier_out["code"] == code
    assert (dossier_out["status"], dossier_out["channel"]) == (2, "online")
    assert dossier_out["due_at"]
    assert dossier_out["form"]["pdf"]  # the receipt
    sessions = intake.app.state.runtime.sessions
    [queued] = await outbox_events(sessions, code)
    event = (await on_topic(kafka_settings, {queued["event_id"]}))[queued["event_id"]]
    assert event["event_type"] == "dossier.received"
    assert event["dossier_code"] == code
    data = event["data"]
    assert (data["channel"], data["filed_by"]) == ("online", "online_portal")
    assert data["notify_channels"] == ["sms", "email"]  # the citizen is told
    assert data["workflow"][0]["role"] == "receiving_desk"  # routing starts
    assert "001190012345" not in str(event)  # sealed (ADR 0007)

    before = await _counts(intake)
    again = await asyncio.gather(*(_file(intake, body) for _ in range(3)))
    assert [r.status_code for r in again] == [200, 200, 200]
    assert all(r.json() == {**dossier_out, "form": r.json()["form"]} for r in again)
    taken = await _file(intake, filing(code, summary="Một hồ sơ khác"))
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "dossier_code_taken"
    assert await _counts(intake) == before
    assert len(await outbox_events(sessions, code)) == 1


async def test_twins_racing_on_one_code_make_one_dossier(
    offline_intake: Intake,
) -> None:
    body = filing(offline_intake.portal_code())
    before = await _counts(offline_intake)
    answers = await asyncio.gather(*(_file(offline_intake, body) for _ in range(4)))
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 201]
    assert await _counts(offline_intake) == (before[0] + 1, before[1] + 1)


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"procedure_code": "9.999999"}, "procedure_unknown", "procedure_code"),
        (
            {"receiving_agency_code": JUSTICE},
            "agency_not_competent",
            "receiving_agency_code",
        ),
        (
            {"receiving_agency_code": PROVINCIAL_CENTRE},
            "agency_not_competent",
            "receiving_agency_code",
        ),
        (
            {"applicant": applicant(id_number="123456789012")},
            "applicant_id_invalid",
            "applicant.id_number",
        ),
        ({"procedure_code": "2.000815"}, "procedure_not_online", "channel"),
        ({"channel": "direct"}, "filing_invalid", "channel"),
        ({"submitted_at": "hôm qua"}, "filing_invalid", "submitted_at"),
        ({"dossier_code": "HS-1"}, "filing_invalid", "dossier_code"),
        ({"result_delivery": "post"}, "filing_invalid", "postal_address"),
    ],
)
async def test_a_refused_filing_says_why_and_writes_nothing(
    offline_intake: Intake, overrides: dict[str, Any], code: str, field: str
) -> None:
    before = await _counts(offline_intake)
    body = filing(offline_intake.portal_code(), **overrides)
    response = await _file(offline_intake, body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"][0].isupper()  # a sentence for the citizen
    assert field in {d["field"] for d in error["details"]}
    assert await _counts(offline_intake) == before


async def test_only_the_portal_files(offline_intake: Intake) -> None:
    body = filing(offline_intake.portal_code())
    anonymous = await offline_intake.client.post(FILINGS, json=body)
    assert anonymous.status_code == 401
    desk = bearer(DESK, Role.DESK_OFFICER)
    officer = await offline_intake.client.post(FILINGS, json=body, headers=desk)
    assert officer.status_code == 403
    elsewhere = bearer("000.01.32.H14", Role.PORTAL)
    scoped = await offline_intake.client.post(FILINGS, json=body, headers=elsewhere)
    assert scoped.status_code == 403
    assert scoped.json()["error"]["code"] == "agency_forbidden"


async def test_the_desk_counter_steps_over_codes_the_portal_holds(
    offline_intake: Intake,
) -> None:
    officer = bearer(DESK, Role.DESK_OFFICER)

    async def at_the_desk() -> int:
        response = await offline_intake.client.post(
            "/api/v1/dossiers", json=dossier(), headers=officer
        )
        assert response.status_code == 201, response.text
        return int(response.json()["code"].rsplit("-", 1)[1])

    last = await at_the_desk()
    prefix = f"{DESK}-{now_vn():%y%m%d}-"
    for number in (last + 1, last + 2, last + 4):
        filed = await _file(offline_intake, filing(f"{prefix}{number:04d}"))
        assert filed.status_code == 201, filed.text
    assert [await at_the_desk() for _ in range(3)] == [last + 3, last + 5, last + 6]
    # a desk dossier's code is not the portal's to take
    taken = await _file(offline_intake, filing(f"{prefix}{last:04d}"))
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "dossier_code_taken"
