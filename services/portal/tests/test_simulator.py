"""The national portal simulator over HTTP, in process (its state is memory):
the platform's token and the portal's session that expire, every service and
every error code, the order rule, filings queued until the province answers,
faults and the down window."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest

from motcua.portal.simulator.app import create_simulator
from motcua.portal.simulator.state import Credentials, Portal
from motcua.shared.contracts import VN_TZ

CREDENTIALS = Credentials(
    client_key="key",
    client_secret="secret",
    username="motcua",
    password="pw",
    dstcode="H56",
    madonvi="000.00.00.H56",
)
DESK = "000.01.31.H14"
NOW = datetime(2026, 12, 6, 9, 30, tzinfo=VN_TZ)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@dataclass
class Sim:
    client: httpx.AsyncClient
    portal: Portal
    clock: Clock
    chance: list[float]

    async def token(self, key: str = "key", secret: str = "secret") -> httpx.Response:
        basic = base64.b64encode(f"{key}:{secret}".encode()).decode()
        return await self.client.post(
            "/lgsp/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        )

    async def bearer(self) -> dict[str, str]:
        response = await self.token()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def login(self, headers: dict[str, str], **body: Any) -> dict[str, Any]:
        answer = await self.client.post(
            "/dvcqg/auth",
            json={"username": "motcua", "password": "pw", **body},
            headers={**headers, "dstcode": "H56"},
        )
        assert answer.status_code == 200
        result: dict[str, Any] = answer.json()
        return result

    async def call(
        self, headers: dict[str, str], session: str, service: str, **body: Any
    ) -> dict[str, Any]:
        answer = await self.client.post(
            "/dvcqg/integration",
            json={"session": session, "madonvi": "000.00.00.H56", "service": service}
            | body,
            headers={**headers, "dstcode": "H56"},
        )
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    async def ready(self) -> tuple[dict[str, str], str]:
        headers = await self.bearer()
        return headers, (await self.login(headers))["session"]


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    clock = Clock()
    chance = [0.5]
    portal = Portal(CREDENTIALS, clock=clock, now=lambda: NOW, chance=lambda: chance[0])
    transport = httpx.ASGITransport(app=create_simulator(portal))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        yield Sim(client, portal, clock, chance)


def record(code: str, status: int = 2, **overrides: Any) -> dict[str, Any]:
    """A ``DongBoHoSoMC`` record as the province sends a received dossier."""
    base: dict[str, Any] = {
        "MaHoSo": code,
        "MaTTHC": "1.001193",
        "TenTTHC": "Thủ tục đăng ký khai sinh",
        "MaLinhVuc": "ho_tich",
        "TenLinhVuc": "Hộ tịch",
        "KenhThucHien": 2,
        "ChuHoSo": "Nguyễn Thị Lan",
        "LoaiDoiTuong": 1,
        "SoGiayToChuHoSo": "001190012345",
        "Email": "",
        "SoDienThoai": "0912345678",
        "TrichYeuHoSo": "",
        "NgayNopHoSo": "20261206090000",
        "NgayTiepNhan": "20261206093000",
        "NgayHenTra": "20261206170000",
        "TrangThaiHoSo": status,
        "HinhThuc": 0,
        "DonViXuLy": "UBND xã Kim Long",
        "NoiNopHoSo": DESK,
        "HoSoCoThanhPhanSoHoa": 0,
        "TaiKhoanDuocXacThucVoiVNeID": 1,
        "DuocThanhToanTrucTuyen": 0,
        "TaiLieuNop": [{"TenTepDinhKem": "to_khai.pdf", "MaThanhPhanHoSo": "to_khai"}],
    }
    return base | overrides


def step(code: str, status: int = 4, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "MaHoSo": code,
        "NguoiXuLy": "Trần Văn Bình",
        "ChucDanh": "Công chức tư pháp - hộ tịch",
        "ThoiDiemXuLy": "20261206100000",
        "PhongBanXuLy": "UBND xã Kim Long",
        "NoiDungXuLy": "Thẩm định hồ sơ",
        "TrangThai": status,
        "NgayBatDau": "20261206093000",
        "NgayKetThucTheoQuyDinh": "20261206170000",
    }
    return base | overrides


CODE = f"{DESK}-261206-0001"


# -- the platform's token ---------------------------------------------------------


async def test_a_token_needs_the_client_credentials_and_expires(sim: Sim) -> None:
    wrong = await sim.token(secret="guess")
    assert (wrong.status_code, wrong.json()) == (401, {"error": "invalid_client"})
    answer = await sim.token()
    assert answer.status_code == 200
    body = answer.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 1800)
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert "session" in await sim.login(headers)
    sim.clock.t += 1800
    expired = await sim.client.post("/dvcqg/auth", json={}, headers=headers)
    assert (expired.status_code, expired.json()) == (401, {"error": "invalid_token"})
    anonymous = await sim.client.post("/dvcqg/integration", json={})
    assert anonymous.status_code == 401
    other_grant = await sim.client.post("/lgsp/token", data={"grant_type": "password"})
    assert other_grant.status_code == 400
    assert sim.portal.stats()["token_requests"] == 2


# -- the portal's session ---------------------------------------------------------


async def test_a_session_needs_the_account_and_the_province_and_expires(
    sim: Sim,
) -> None:
    headers = await sim.bearer()
    assert (await sim.login(headers, password="x"))["error_code"] == "01"
    wrong_province = await sim.client.post(
        "/dvcqg/auth",
        json={"username": "motcua", "password": "pw"},
        headers={**headers, "dstcode": "H14"},
    )
    assert wrong_province.json()["error_code"] == "01"
    login = await sim.login(headers)
    assert login["error_code"] == "00"
    session = login["session"]
    found = await sim.call(headers, session, "TraCuuHoSo", MaHoSo=CODE)
    assert found["error_code"] == "04"  # the session works
    sim.clock.t += 3600
    headers = await sim.bearer()  # (the token expired first)
    expired = await sim.call(headers, session, "TraCuuHoSo", MaHoSo=CODE)
    assert expired["error_code"] == "01"
    unknown = await sim.call(headers, "made-up", "TraCuuHoSo", MaHoSo=CODE)
    assert unknown["error_code"] == "01"
    assert sim.portal.stats()["logins"] == 3


# -- the services ----------------------------------------------------------------


async def test_a_dossier_is_created_once_updated_then_looked_up_with_its_steps(
    sim: Sim,
) -> None:
    headers, session = await sim.ready()
    created = await sim.call(
        headers, session, "DongBoHoSoMC", isUpdating=False, data=[record(CODE)]
    )
    assert created["error_code"] == "00", created
    again = await sim.call(
        headers, session, "DongBoHoSoMC", isUpdating=False, data=[record(CODE)]
    )
    assert again["error_code"] == "02"
    assert "MaHoSo đã tồn tại" in again["message"]
    for n, status in enumerate((4, 9), start=1):
        progressed = await sim.call(
            headers,
            session,
            "CapNhatTienDoHoSoMC",
            data=[step(CODE, status, NoiDungXuLy=f"Bước {n}")],
        )
        assert progressed["error_code"] == "00", progressed
    updated = await sim.call(
        headers, session, "DongBoHoSoMC", isUpdating=True, data=[record(CODE, 9)]
    )
    assert updated["error_code"] == "00"
    found = await sim.call(headers, session, "TraCuuHoSo", MaHoSo=CODE)
    assert found["error_code"] == "00"
    assert found["result"]["dossier"]["TrangThaiHoSo"] == 9
    assert [s["NoiDungXuLy"] for s in found["result"]["progress"]] == [
        "Bước 1",
        "Bước 2",
    ]
    shown = (await sim.client.get(f"/_sim/dossiers/{CODE}")).json()
    assert shown["dossier"]["TrangThaiHoSo"] == 9
    assert [s["TrangThai"] for s in shown["progress"]] == [4, 9]
    assert shown["calls"] == 4  # two dossier records, two steps
    assert [r["TrangThaiHoSo"] for r in shown["records"]] == [2, 9]
    assert (await sim.client.get("/_sim/dossiers")).json() == {"codes": [CODE]}
    missing = await sim.client.get("/_sim/dossiers/000.01.31.H14-261206-0099")
    assert missing.status_code == 404
    stats = (await sim.client.get("/_sim/stats")).json()
    assert stats["calls"] == {
        "DongBoHoSoMC": 3,
        "CapNhatTienDoHoSoMC": 2,
        "TraCuuHoSo": 1,
    }
    assert stats["errors"] == {"02": 1}


async def test_updating_an_unknown_dossier_is_not_found(sim: Sim) -> None:
    headers, session = await sim.ready()
    answer = await sim.call(
        headers, session, "DongBoHoSoMC", isUpdating=True, data=[record(CODE)]
    )
    assert answer["error_code"] == "04"
    assert sim.portal.dossiers == {}


async def test_progress_before_its_dossier_is_an_order_error(sim: Sim) -> None:
    headers, session = await sim.ready()
    answer = await sim.call(headers, session, "CapNhatTienDoHoSoMC", data=[step(CODE)])
    assert answer["error_code"] == "03"
    assert CODE in answer["message"]
    assert sim.portal.dossiers == {}


@pytest.mark.parametrize(
    ("service", "body", "named"),
    [
        (
            "DongBoHoSoMC",
            {"isUpdating": False, "data": [record(CODE, 11)]},
            "TrangThaiHoSo",
        ),
        (
            "DongBoHoSoMC",
            {"isUpdating": False, "data": [record(CODE, 0)]},
            "TrangThaiHoSo",
        ),
        (
            "DongBoHoSoMC",
            {"isUpdating": False, "data": [record(CODE, NgayHenTra="2026-12-06")]},
            "NgayHenTra",
        ),
        (
            "DongBoHoSoMC",
            {
                "isUpdating": False,
                "data": [record(CODE, NgayTiepNhan="20261332000000")],
            },
            "NgayTiepNhan",
        ),
        (
            "DongBoHoSoMC",
            {"isUpdating": False, "data": [record(CODE, TenTTHC=" ")]},
            "TenTTHC",
        ),
        (
            "DongBoHoSoMC",
            {"isUpdating": False, "data": [record(CODE, KenhThucHien=4)]},
            "KenhThucHien",
        ),
        ("DongBoHoSoMC", {"isUpdating": "no", "data": [record(CODE)]}, "isUpdating"),
        ("DongBoHoSoMC", {"isUpdating": False, "data": []}, "data"),
        (
            "DongBoHoSoMC",
            {"isUpdating": False, "data": [record(CODE, 3)]},  # refused: why?
            "GhiChu",
        ),
        ("CapNhatTienDoHoSoMC", {"data": [step(CODE, 12)]}, "TrangThai"),
        (
            "CapNhatTienDoHoSoMC",
            {"data": [step(CODE, ThoiDiemXuLy="06/12/2026")]},
            "ThoiDiemXuLy",
        ),
        ("CapNhatTienDoHoSoMC", {"data": [step(CODE, NguoiXuLy="")]}, "NguoiXuLy"),
        ("LayDanhSachHoSoNopTrucTuyen", {"limit": "all"}, "limit"),
        ("KhongCo", {}, "service"),
    ],
)
async def test_a_validation_error_names_every_bad_field(
    sim: Sim, service: str, body: dict[str, Any], named: str
) -> None:
    headers, session = await sim.ready()
    answer = await sim.call(headers, session, service, **body)
    assert answer["error_code"] == "02"
    assert named in answer["message"]
    assert sim.portal.dossiers == {}


async def test_a_refused_filing_needs_only_what_identifies_it_and_why(
    sim: Sim,
) -> None:
    headers, session = await sim.ready()
    refused = {
        "MaHoSo": CODE,
        "MaTTHC": "9.999999",
        "KenhThucHien": 2,
        "SoGiayToChuHoSo": "123",
        "NgayNopHoSo": "20261206090000",
        "TrangThaiHoSo": 3,
        "NgayTuChoi": "20261206090500",
        "GhiChu": "Thủ tục không có trong danh mục.",
    }
    answer = await sim.call(
        headers, session, "DongBoHoSoMC", isUpdating=False, data=[refused]
    )
    assert answer["error_code"] == "00", answer


async def test_wrong_province_or_unit_is_a_validation_error(sim: Sim) -> None:
    headers, session = await sim.ready()
    answer = await sim.client.post(
        "/dvcqg/integration",
        json={"session": session, "madonvi": "x", "service": "TraCuuHoSo"},
        headers={**headers, "dstcode": "H14"},
    )
    assert answer.json()["error_code"] == "02"
    assert "dstcode" in answer.json()["message"]
    assert "madonvi" in answer.json()["message"]
    not_json = await sim.client.post(
        "/dvcqg/integration", content=b"{", headers={**headers, "dstcode": "H56"}
    )
    assert not_json.json()["error_code"] == "02"


# -- filings made on the portal ---------------------------------------------------


def submission(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "MaTTHC": "1.001193",
        "MaDonViTiepNhan": DESK,
        "ChuHoSo": "Nguyễn Thị Lan",
        "SoGiayToChuHoSo": "001190012345",
        "SoDienThoai": "0912345678",
        "Email": "lan@example.vn",
        "TaiLieuNop": [{"TenTepDinhKem": "to_khai.pdf", "MaThanhPhanHoSo": "to_khai"}],
    }
    return body | overrides


async def test_filings_wait_on_the_portal_until_the_province_answers(
    sim: Sim,
) -> None:
    codes = []
    for _ in range(3):
        created = await sim.client.post("/_sim/submissions", json=submission())
        assert created.status_code == 201
        codes.append(created.json()["MaHoSo"])
    assert codes == [f"{DESK}-261206-{n}" for n in (5001, 5002, 5003)]
    headers, session = await sim.ready()
    listed = await sim.call(headers, session, "LayDanhSachHoSoNopTrucTuyen", limit=2)
    assert listed["error_code"] == "00"
    first = listed["result"][0]
    assert [f["MaHoSo"] for f in listed["result"]] == codes[:2]
    assert first["NgayNopHoSo"] == "20261206093000"
    assert (first["ChuHoSo"], first["HinhThuc"]) == ("Nguyễn Thị Lan", 0)
    accepted = await sim.call(
        headers,
        session,
        "DongBoHoSoMC",
        isUpdating=False,
        data=[record(codes[0])],
    )
    assert accepted["error_code"] == "00"
    left = await sim.call(headers, session, "LayDanhSachHoSoNopTrucTuyen", limit=10)
    assert [f["MaHoSo"] for f in left["result"]] == codes[1:]
    stats = (await sim.client.get("/_sim/stats")).json()
    assert (stats["submitted"], stats["queued"]) == (3, 2)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"MaTTHC": ""}, "MaTTHC"),
        ({"ChuHoSo": None}, "ChuHoSo"),
        ({"SoGiayToChuHoSo": " "}, "SoGiayToChuHoSo"),
        ({"MaDonViTiepNhan": "xã Kim Long"}, "MaDonViTiepNhan"),
        ({"HinhThuc": 1}, "DiaChiNhanKetQua"),
        ({"HinhThuc": 2}, "HinhThuc"),
        ({"TaiLieuNop": "to_khai"}, "TaiLieuNop"),
    ],
)
async def test_a_filing_with_a_missing_field_is_refused_in_vietnamese(
    sim: Sim, overrides: dict[str, Any], field: str
) -> None:
    refused = await sim.client.post("/_sim/submissions", json=submission(**overrides))
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert field in error["message"]
    assert field in {d["field"] for d in error["details"]}
    assert sim.portal.queued == {}


async def test_a_filing_by_post_keeps_its_address(sim: Sim) -> None:
    body = submission(HinhThuc=1, DiaChiNhanKetQua="Thôn 3, xã Kim Long")
    created = await sim.client.post("/_sim/submissions", json=body)
    assert created.status_code == 201
    [queued] = sim.portal.queued.values()
    assert (queued["HinhThuc"], queued["DiaChiNhanKetQua"]) == (
        1,
        "Thôn 3, xã Kim Long",
    )


# -- faults -----------------------------------------------------------------------


async def test_transient_errors_at_the_injected_rate_then_cleared(sim: Sim) -> None:
    headers, session = await sim.ready()
    set_ = await sim.client.post("/_sim/faults", json={"error_rate": 0.3})
    assert set_.json()["error_rate"] == 0.3
    sim.chance[0] = 0.29  # under the rate: fails
    failed = await sim.call(headers, session, "TraCuuHoSo", MaHoSo=CODE)
    assert failed["error_code"] == "99"
    assert (await sim.login(headers))["error_code"] == "99"
    sim.chance[0] = 0.3
    assert (await sim.call(headers, session, "TraCuuHoSo", MaHoSo=CODE))[
        "error_code"
    ] == "04"
    await sim.client.post("/_sim/faults", json={})
    sim.chance[0] = 0.0
    assert (await sim.call(headers, session, "TraCuuHoSo", MaHoSo=CODE))[
        "error_code"
    ] == "04"
    assert sim.portal.stats()["errors"]["99"] == 2


async def test_short_lived_tokens_and_sessions_on_demand(sim: Sim) -> None:
    headers, session = await sim.ready()
    faults = {"token_ttl_s": 5, "session_ttl_s": 3}
    assert (await sim.client.post("/_sim/faults", json=faults)).status_code == 200
    assert (await sim.token()).json()["expires_in"] == 5
    sim.clock.t += 3
    expired = await sim.call(headers, session, "TraCuuHoSo", MaHoSo=CODE)
    assert expired["error_code"] == "01"
    session = (await sim.login(headers))["session"]
    sim.clock.t += 2
    gone = await sim.client.post("/dvcqg/auth", json={}, headers=headers)
    assert gone.status_code == 401


async def test_a_down_portal_answers_503_to_everyone_but_the_test_routes(
    sim: Sim,
) -> None:
    headers, session = await sim.ready()
    down = await sim.client.post("/_sim/faults", json={"down_for_s": 60})
    assert down.json()["down_for_s"] == 60
    for answer in (
        await sim.token(),
        await sim.client.post("/dvcqg/auth", json={}, headers=headers),
        await sim.client.post("/dvcqg/integration", json={}, headers=headers),
        await sim.client.post("/dvcqg/integration", json={}),
    ):
        assert answer.status_code == 503
    assert (await sim.client.get("/_sim/stats")).json()["unavailable"] == 4
    assert (
        await sim.client.post("/_sim/submissions", json=submission())
    ).status_code == 201
    assert (await sim.client.get("/healthz")).status_code == 200
    sim.clock.t += 60
    back = await sim.call(headers, session, "TraCuuHoSo", MaHoSo=CODE)
    assert back["error_code"] == "04"


async def test_bad_faults_are_refused(sim: Sim) -> None:
    for body in ({"error_rate": 2}, {"down_for_s": -1}, {"session_ttl_s": 0}):
        answer = await sim.client.post("/_sim/faults", json=body)
        assert answer.status_code == 422


async def test_one_code_twice_in_a_batch_is_refused_whole(sim: Sim) -> None:
    headers, session = await sim.ready()
    other = f"{DESK}-261206-0002"
    answer = await sim.call(
        headers,
        session,
        "DongBoHoSoMC",
        isUpdating=False,
        data=[record(other), record(CODE), record(CODE, 4)],
    )
    assert answer["error_code"] == "02"
    assert "hai lần" in answer["message"]
    assert sim.portal.dossiers == {}


async def test_a_client_logging_in_before_every_call_leaves_no_pile_of_sessions(
    sim: Sim,
) -> None:
    headers = await sim.bearer()
    await sim.client.post("/_sim/faults", json={"session_ttl_s": 10})
    for _ in range(1100):
        sim.clock.t += 1
        assert (await sim.login(headers))["error_code"] == "00"
    assert len(sim.portal.sessions) <= 1000
