"""The simulated portal's memory and its answers (no I/O): tokens and
sessions that expire, the dossiers and progress it holds, the filings
citizens made on it, what it was asked, and the faults in force.

Every answer is the portal's JSON: ``error_code`` "00" or an error code and a
``message`` (see :mod:`~motcua.portal.simulator`). Nothing here waits or
reads the network; the app around it checks credentials and the down window.
"""

from __future__ import annotations

import math
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeGuard

from motcua.portal.simulator.rules import (
    dossier_problems,
    filing_code,
    portal_date,
    step_problems,
)
from motcua.shared.contracts import now_vn

OK = "00"
SESSION_INVALID = "01"
INVALID = "02"
ORDER = "03"
NOT_FOUND = "04"
TRANSIENT = "99"

Answer = dict[str, Any]


def ok(message: str = "Thành công", **extra: Any) -> Answer:
    return {"error_code": OK, "message": message, **extra}


def error(code: str, message: str) -> Answer:
    return {"error_code": code, "message": message}


@dataclass
class Faults:
    """What ``POST /_sim/faults`` injects (``{}`` clears it)."""

    error_rate: float = 0.0
    down_until: float = 0.0
    """Monotonic time until which every call answers 503."""
    session_ttl_s: float | None = None
    token_ttl_s: float | None = None


@dataclass
class Held:
    """A dossier on the portal: the last record, its steps, every record."""

    dossier: dict[str, Any]
    progress: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    """Every ``DongBoHoSoMC`` record accepted for it, in arrival order."""
    calls: int = 0
    """Records accepted for it (dossier and progress)."""


@dataclass(frozen=True)
class Credentials:
    client_key: str
    client_secret: str
    username: str
    password: str
    dstcode: str
    madonvi: str


class Portal:
    """The portal and the province's integration platform in front of it."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        token_ttl_s: float = 1800,
        session_ttl_s: float = 3600,
        first_number: int = 5001,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = now_vn,
        chance: Callable[[], float] = random.random,
    ) -> None:
        self.credentials = credentials
        self.token_ttl_s = token_ttl_s
        self.session_ttl_s = session_ttl_s
        self.first_number = first_number
        self.clock, self.now, self.chance = clock, now, chance
        self.faults = Faults()
        self.tokens: dict[str, float] = {}
        self.sessions: dict[str, float] = {}
        self.dossiers: dict[str, Held] = {}
        self.queued: dict[str, dict[str, Any]] = {}
        """Filings not yet reported back by the province, oldest first."""
        self.submitted = 0
        self.numbers: dict[str, int] = {}
        self.token_requests = 0
        self.logins = 0
        self.calls: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.unavailable = 0

    # -- the platform's token, the portal's session ------------------------

    def issue_token(self, key: str, secret: str) -> tuple[str, int] | None:
        """A bearer token and its lifetime (whole seconds, rounded up), or
        None for bad credentials."""
        self.token_requests += 1
        c = self.credentials
        if not (
            secrets.compare_digest(key, c.client_key)
            and secrets.compare_digest(secret, c.client_secret)
        ):
            return None
        token = secrets.token_urlsafe(24)
        _forget_old(self.tokens, self.clock() - self._token_ttl())
        self.tokens[token] = self.clock()
        return token, math.ceil(self._token_ttl())

    def token_valid(self, token: str) -> bool:
        issued = self.tokens.get(token)
        if issued is None:
            return False
        if self.clock() - issued >= self._token_ttl():
            del self.tokens[token]
            return False
        return True

    def login(self, body: Mapping[str, Any], dstcode: str | None) -> Answer:
        """One call of ``POST /dvcqg/auth``."""
        self.logins += 1
        answer = self._login(body, dstcode)
        if answer["error_code"] != OK:
            self.errors[answer["error_code"]] += 1
        return answer

    def _login(self, body: Mapping[str, Any], dstcode: str | None) -> Answer:
        if self._transient():
            return error(TRANSIENT, "Lỗi hệ thống, vui lòng thử lại.")
        c = self.credentials
        if dstcode != c.dstcode:
            return error(SESSION_INVALID, "Mã tỉnh (dstcode) không đúng.")
        given = (str(body.get("username", "")), str(body.get("password", "")))
        if not (
            secrets.compare_digest(given[0], c.username)
            and secrets.compare_digest(given[1], c.password)
        ):
            return error(SESSION_INVALID, "Sai tên đăng nhập hoặc mật khẩu.")
        session = secrets.token_urlsafe(24)
        _forget_old(self.sessions, self.clock() - self._session_ttl())
        self.sessions[session] = self.clock()
        return {"error_code": OK, "session": session}

    def _session_valid(self, session: Any) -> bool:
        issued = self.sessions.get(session) if isinstance(session, str) else None
        if issued is None:
            return False
        if self.clock() - issued >= self._session_ttl():
            del self.sessions[session]
            return False
        return True

    def _session_ttl(self) -> float:
        return self.faults.session_ttl_s or self.session_ttl_s

    def _token_ttl(self) -> float:
        return self.faults.token_ttl_s or self.token_ttl_s

    # -- the integration endpoint ------------------------------------------

    def integrate(self, body: Mapping[str, Any], dstcode: str | None) -> Answer:
        """One call of ``POST /dvcqg/integration``."""
        service = str(body.get("service", ""))
        self.calls[service or "?"] += 1
        answer = self._integrate(service, body, dstcode)
        if answer["error_code"] != OK:
            self.errors[answer["error_code"]] += 1
        return answer

    def _integrate(
        self, service: str, body: Mapping[str, Any], dstcode: str | None
    ) -> Answer:
        if self._transient():
            return error(TRANSIENT, "Lỗi hệ thống, vui lòng thử lại.")
        if not self._session_valid(body.get("session")):
            return error(
                SESSION_INVALID, "Phiên làm việc không tồn tại hoặc đã hết hạn."
            )
        handler = self._services.get(service)
        problems = []
        if dstcode != self.credentials.dstcode:
            problems.append("dstcode: không đúng")
        if body.get("madonvi") != self.credentials.madonvi:
            problems.append("madonvi: không đúng")
        if handler is None:
            problems.append(f"service: không có dịch vụ {service!r}")
        if handler is None or problems:
            return self._invalid(problems)
        return handler(self, body)

    def _sync_dossiers(self, body: Mapping[str, Any]) -> Answer:
        records, updating = body.get("data"), body.get("isUpdating")
        if not isinstance(updating, bool):
            return self._invalid(["isUpdating: phải là true hoặc false"])
        if not _records(records):
            return self._invalid(["data: phải là danh sách hồ sơ, không rỗng"])
        problems = _each(records, dossier_problems)
        if problems:
            return self._invalid(problems)
        codes = [str(r["MaHoSo"]) for r in records]
        if len(set(codes)) < len(codes):
            return self._invalid(["MaHoSo: một hồ sơ xuất hiện hai lần trong lần gửi"])
        if not updating:
            held = [c for c in codes if c in self.dossiers]
            if held:
                return self._invalid([f"MaHoSo đã tồn tại: {c}" for c in held])
        else:
            unknown = [c for c in codes if c not in self.dossiers]
            if unknown:
                return error(NOT_FOUND, "Không tìm thấy hồ sơ: " + ", ".join(unknown))
        for code, record in zip(codes, records, strict=True):
            held_dossier = self.dossiers.setdefault(code, Held(dossier=record))
            held_dossier.dossier = record
            held_dossier.records.append(record)
            held_dossier.calls += 1
            self.queued.pop(code, None)  # the province answered the filing
        return ok("Đồng bộ hồ sơ thành công", result=[{"MaHoSo": c} for c in codes])

    def _sync_progress(self, body: Mapping[str, Any]) -> Answer:
        steps = body.get("data")
        if not _records(steps):
            return self._invalid(["data: phải là danh sách bước xử lý, không rỗng"])
        problems = _each(steps, step_problems)
        if problems:
            return self._invalid(problems)
        codes = {str(s["MaHoSo"]) for s in steps}
        unknown = sorted(c for c in codes if c not in self.dossiers)
        if unknown:
            return error(
                ORDER,
                "Chưa đồng bộ hồ sơ (DongBoHoSoMC) trước khi cập nhật tiến độ: "
                + ", ".join(unknown),
            )
        for step in steps:
            held = self.dossiers[str(step["MaHoSo"])]
            held.progress.append(step)
            held.calls += 1
        return ok("Cập nhật tiến độ thành công")

    def _look_up(self, body: Mapping[str, Any]) -> Answer:
        held = self.dossiers.get(str(body.get("MaHoSo", "")))
        if held is None:
            return error(NOT_FOUND, "Không tìm thấy hồ sơ.")
        return ok(result={"dossier": held.dossier, "progress": held.progress})

    def _online_filings(self, body: Mapping[str, Any]) -> Answer:
        limit = body.get("limit", 10)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            return self._invalid(["limit: phải là số nguyên dương"])
        return ok(result=list(self.queued.values())[:limit])

    _services: ClassVar[dict[str, Callable[[Portal, Mapping[str, Any]], Answer]]] = {
        "DongBoHoSoMC": _sync_dossiers,
        "CapNhatTienDoHoSoMC": _sync_progress,
        "TraCuuHoSo": _look_up,
        "LayDanhSachHoSoNopTrucTuyen": _online_filings,
    }

    # -- what citizens file on the portal --------------------------------

    def submit(self, filing: Mapping[str, Any]) -> str:
        """Queue a citizen's filing (checked by the caller); its code."""
        at = self.now()
        agency = str(filing["MaDonViTiepNhan"])
        key = f"{agency}-{at:%y%m%d}"
        number = self.numbers.get(key, self.first_number - 1) + 1
        self.numbers[key] = number
        code = filing_code(agency, at.date(), number)
        self.queued[code] = {
            "HinhThuc": 0,
            **filing,
            "MaHoSo": code,
            "NgayNopHoSo": portal_date(at),
        }
        self.submitted += 1
        return code

    # -- faults and what was seen ----------------------------------------

    def set_faults(
        self,
        *,
        error_rate: float = 0.0,
        down_for_s: float = 0.0,
        session_ttl_s: float | None = None,
        token_ttl_s: float | None = None,
    ) -> None:
        self.faults = Faults(
            error_rate=error_rate,
            down_until=self.clock() + down_for_s if down_for_s else 0.0,
            session_ttl_s=session_ttl_s,
            token_ttl_s=token_ttl_s,
        )

    def describe_faults(self) -> dict[str, Any]:
        f = self.faults
        return {
            "error_rate": f.error_rate,
            "down_for_s": round(max(0.0, f.down_until - self.clock()), 3),
            "session_ttl_s": f.session_ttl_s,
            "token_ttl_s": f.token_ttl_s,
        }

    def down(self) -> bool:
        """In the down window: the caller answers 503 (and it is counted)."""
        if self.faults.down_until and self.clock() < self.faults.down_until:
            self.unavailable += 1
            return True
        return False

    def stats(self) -> dict[str, Any]:
        return {
            "token_requests": self.token_requests,
            "logins": self.logins,
            "calls": dict(self.calls),
            "errors": dict(self.errors),
            "unavailable": self.unavailable,
            "dossiers": len(self.dossiers),
            "submitted": self.submitted,
            "queued": len(self.queued),
        }

    def _transient(self) -> bool:
        return self.faults.error_rate > 0 and self.chance() < self.faults.error_rate

    def _invalid(self, problems: list[str]) -> Answer:
        return error(INVALID, "Dữ liệu không hợp lệ: " + "; ".join(problems) + ".")


def _each(
    items: list[dict[str, Any]], check: Callable[[dict[str, Any]], list[str]]
) -> list[str]:
    """Every item's problems, each named by its code (or its place)."""
    return [
        f"{item.get('MaHoSo') or f'data[{i}]'}: {problem}"
        for i, item in enumerate(items)
        for problem in check(item)
    ]


def _records(value: Any) -> TypeGuard[list[dict[str, Any]]]:
    """A non-empty list of JSON objects."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) for v in value)
    )


_KEPT = 1000


def _forget_old(issued: dict[str, float], before: float) -> None:
    """Drop expired tokens or sessions once there are many (a client that
    logs in before every call never comes back for them)."""
    if len(issued) >= _KEPT:
        for key in [k for k, at in issued.items() if at <= before]:
            del issued[key]
