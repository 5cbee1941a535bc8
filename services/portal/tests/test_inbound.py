"""Filings made on the portal: their mapping to intake's body (pure) and the
poller's answers (taken, refused with intake's reason, asked again)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from portal_factories import AGENCY
from portal_support import connected, settings_for

from motcua.portal.inbound import FilingUnreadableError, filing_body, refusal_record
from motcua.portal.poller import Poller
from motcua.shared.contracts.envelope import VN_TZ

FILING: dict[str, Any] = {
    "MaHoSo": f"{AGENCY}-261207-5001",
    "NgayNopHoSo": "20261207091200",
    "MaTTHC": "1.001193",
    "MaDonViTiepNhan": AGENCY,
    "ChuHoSo": "Lê Văn Cường",
    "SoGiayToChuHoSo": "001203004567",
    "SoDienThoai": "0987654321",
    "Email": "cuong@example.vn",
    "HinhThuc": 1,
    "DiaChiNhanKetQua": "Số 1 đường Trần Phú",
    "TaiLieuNop": [{"TenTepDinhKem": "to-khai.pdf", "MaThanhPhanHoSo": "to_khai"}],
}


def test_a_filing_becomes_intakes_body_in_motcuas_names() -> None:
    body = filing_body(FILING)
    assert body["dossier_code"] == FILING["MaHoSo"]
    assert body["submitted_at"] == "2026-12-07T09:12:00+07:00"
    assert body["procedure_code"] == "1.001193"
    assert body["receiving_agency_code"] == AGENCY
    assert body["channel"] == "online"
    assert body["applicant"] == {
        "kind": "citizen",
        "full_name": "Lê Văn Cường",
        "id_number": "001203004567",
        "phone": "0987654321",
        "email": "cuong@example.vn",
        "address": None,
    }
    assert body["components"] == [{"code": "to_khai"}]
    assert body["result_delivery"] == "post"
    assert body["postal_address"]["address"] == "Số 1 đường Trần Phú"


def test_an_unreadable_filing_says_why_in_vietnamese() -> None:
    with pytest.raises(FilingUnreadableError, match="NgayNopHoSo"):
        filing_body({**FILING, "NgayNopHoSo": "hôm nay"})
    with pytest.raises(FilingUnreadableError, match="MaHoSo"):
        filing_body({**FILING, "MaHoSo": ""})


def test_a_refusal_answers_the_filing_with_status_3_and_the_reason() -> None:
    at = datetime(2026, 12, 7, 9, 15, tzinfo=VN_TZ)
    record = refusal_record(FILING, "Thủ tục không tồn tại.", at)
    assert record["MaHoSo"] == FILING["MaHoSo"]
    assert record["TrangThaiHoSo"] == 3
    assert record["GhiChu"] == "Thủ tục không tồn tại."
    assert record["NgayTuChoi"] == "20261207091500"
    assert record["NgayNopHoSo"] == "20261207091200"
    assert record["KenhThucHien"] == 2
    assert record["ChuHoSo"] == "Lê Văn Cường"
    assert record["HinhThuc"] == 1


SUBMISSION = {k: v for k, v in FILING.items() if k not in ("MaHoSo", "NgayNopHoSo")}
"""What a citizen types on the portal (the portal adds the code and date)."""


def intake_answering(
    status: int, body: dict[str, Any], seen: list[Any]
) -> httpx.AsyncClient:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    return httpx.AsyncClient(
        base_url="http://intake.test", transport=httpx.MockTransport(answer)
    )


async def test_a_refused_filing_is_answered_and_leaves_the_portals_queue(
    database_url: str, tmp_path: Path
) -> None:
    seen: list[httpx.Request] = []
    refusal = {
        "error": {
            "code": "procedure_unknown",
            "message": "Thủ tục hành chính 1.001193 không có trong danh mục.",
            "details": [
                {"field": "procedure_code", "message": "Hãy kiểm tra mã thủ tục."}
            ],
        }
    }
    async with connected(settings_for(database_url, tmp_path)) as c:
        code = await c.portal.submit(SUBMISSION)
        poller: Poller = c.service.app.state.poller
        poller.intake = intake_answering(422, refusal, seen)
        assert await poller.poll() == 1
        [request] = seen
        assert request.url.path == "/api/v1/portal/filings"
        assert request.headers["authorization"].startswith("Bearer ")
        body = json.loads(request.content)
        assert body["dossier_code"] == code
        await c.sync()
        record = await c.portal.record(code)
        assert record["TrangThaiHoSo"] == 3
        assert record["GhiChu"] == (
            "Thủ tục hành chính 1.001193 không có trong danh mục. "
            "Hãy kiểm tra mã thủ tục."
        )
        assert await poller.poll() == 0  # off the portal's queue
        assert len(seen) == 1


async def test_a_filing_intake_could_not_take_is_asked_again(
    database_url: str, tmp_path: Path
) -> None:
    seen: list[httpx.Request] = []
    async with connected(settings_for(database_url, tmp_path)) as c:
        code = await c.portal.submit(SUBMISSION)
        poller: Poller = c.service.app.state.poller
        poller.intake = intake_answering(503, {}, seen)
        await poller.poll()
        await poller.poll()
        assert len(seen) == 2  # never lost: the portal still lists it
        assert await c.portal.dossier(code) is None
        poller.intake = intake_answering(201, {"code": code, "status": 2}, seen)
        await poller.poll()
        bodies = {r.content for r in seen}
        assert len(bodies) == 1  # the same filing each time: intake is idempotent
