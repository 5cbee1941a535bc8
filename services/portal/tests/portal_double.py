"""A stand-in for the national portal, per the contract in
/work/briefs/portal-contract.md, used only until the simulator
(``motcua.portal.simulator``) lands; the tests then run against that."""

from __future__ import annotations

import base64
import itertools
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

CLIENT = ("motcua-local", "motcua-local-secret")
ACCOUNT = {"username": "motcua", "password": "motcua-local"}
DATE = re.compile(r"^\d{14}$")


@dataclass
class PortalDouble:
    error_rate: float = 0.0
    session_ttl_s: float = 3600.0
    token_ttl_s: float = 1800.0
    down_until: float = 0.0
    tokens: dict[str, float] = field(default_factory=dict)
    sessions: dict[str, float] = field(default_factory=dict)
    dossiers: dict[str, dict[str, Any]] = field(default_factory=dict)
    progress: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    filings: dict[str, dict[str, Any]] = field(default_factory=dict)
    stats: dict[str, Any] = field(
        default_factory=lambda: {"token_requests": 0, "logins": 0, "calls": {}}
    )
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/lgsp/token")
        async def token(request: Request) -> JSONResponse:
            if time.monotonic() < self.down_until:
                return JSONResponse({}, status_code=503)
            self.stats["token_requests"] += 1
            expected = base64.b64encode(":".join(CLIENT).encode()).decode()
            if request.headers.get("authorization") != f"Basic {expected}":
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            value = f"t{next(self._ids)}"
            self.tokens[value] = time.monotonic() + self.token_ttl_s
            return JSONResponse(
                {
                    "access_token": value,
                    "token_type": "Bearer",
                    "expires_in": self.token_ttl_s,
                }
            )

        @app.post("/dvcqg/{what}")
        async def portal(what: str, request: Request) -> JSONResponse:
            if time.monotonic() < self.down_until:
                return JSONResponse({}, status_code=503)
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
            if self.tokens.get(bearer, 0) < time.monotonic():
                return JSONResponse({"error": "invalid_token"}, status_code=401)
            body = await request.json()
            if what == "auth":
                return self._login(body)
            return self._integration(body)

        @app.post("/_sim/submissions")
        async def submit(request: Request) -> JSONResponse:
            filing = await request.json()
            code = f"{filing['MaDonViTiepNhan']}-261207-{5000 + next(self._ids)}"
            self.filings[code] = {
                **filing,
                "MaHoSo": code,
                "NgayNopHoSo": "20261207090000",
            }
            return JSONResponse({"MaHoSo": code}, status_code=201)

        return app

    def _login(self, body: dict[str, Any]) -> JSONResponse:
        self.stats["logins"] += 1
        if {k: body.get(k) for k in ACCOUNT} != ACCOUNT:
            return JSONResponse({"error_code": "01", "message": "Sai tài khoản"})
        session = f"s{next(self._ids)}"
        self.sessions[session] = time.monotonic() + self.session_ttl_s
        return JSONResponse({"error_code": "00", "session": session})

    def _integration(self, body: dict[str, Any]) -> JSONResponse:
        service = body.get("service", "")
        calls = self.stats["calls"]
        calls[service] = calls.get(service, 0) + 1
        if self.sessions.get(body.get("session", ""), 0) < time.monotonic():
            return self._error("01", "Phiên làm việc hết hạn")
        if random.random() < self.error_rate:
            return self._error("99", "Lỗi hệ thống")
        data = body.get("data") or []
        if service == "DongBoHoSoMC":
            return self._dossiers(data, bool(body.get("isUpdating")))
        if service == "CapNhatTienDoHoSoMC":
            unknown = [s["MaHoSo"] for s in data if s["MaHoSo"] not in self.dossiers]
            if unknown:
                return self._error("03", f"Chưa đồng bộ hồ sơ {unknown[0]}")
            for step in data:
                self.progress.setdefault(step["MaHoSo"], []).append(step)
            return self._ok()
        if service == "TraCuuHoSo":
            code = body.get("MaHoSo", "")
            if code not in self.dossiers:
                return self._error("04", "Không tìm thấy hồ sơ")
            result = {
                "dossier": self.dossiers[code],
                "progress": self.progress.get(code, []),
            }
            return self._ok(result=result)
        if service == "LayDanhSachHoSoNopTrucTuyen":
            queued = [f for c, f in self.filings.items() if c not in self.dossiers]
            return self._ok(result=queued[: int(body.get("limit", 10))])
        return self._error("02", f"Dịch vụ {service} không tồn tại")

    def _dossiers(self, data: list[dict[str, Any]], updating: bool) -> JSONResponse:
        for record in data:
            code = record.get("MaHoSo", "")
            if not updating and code in self.dossiers:
                return self._error("02", f"MaHoSo {code} đã tồn tại")
            if updating and code not in self.dossiers:
                return self._error("04", f"Không tìm thấy hồ sơ {code}")
            if record.get("TrangThaiHoSo") not in range(1, 11):
                return self._error("02", "TrangThaiHoSo không hợp lệ")
            for name in ("NgayTiepNhan", "NgayHenTra", "NgayTuChoi"):
                if record.get(name) is not None and not DATE.match(record[name]):
                    return self._error("02", f"{name} sai định dạng")
        for record in data:
            self.dossiers[record["MaHoSo"]] = record
        return self._ok()

    @staticmethod
    def _ok(**extra: Any) -> JSONResponse:
        return JSONResponse({"error_code": "00", "message": "Thành công", **extra})

    @staticmethod
    def _error(code: str, message: str) -> JSONResponse:
        return JSONResponse({"error_code": code, "message": message})
