"""Bearer-token (JWT) authentication for officers, operators and systems.

A token names the holder, their agency (e-ID code) and roles. Every
agency-facing route depends on :func:`require` and checks the agency with
:meth:`Principal.ensure_agency`; errors are Vietnamese for people and carry a
machine-readable code for systems.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from motcua.shared.errors import ApiError
from motcua.shared.settings import CommonSettings

ALGORITHM = "HS256"


class Role(StrEnum):
    DESK_OFFICER = "desk_officer"  # one-stop desk: receives and returns dossiers
    AGENCY_OFFICER = "agency_officer"  # processes dossiers held by the agency
    SUPERVISOR = "supervisor"  # leads an agency: escalations, apologies
    OPERATOR = "operator"  # watches the event flow, all agencies
    ADMIN = "admin"  # edits the catalogue and agencies
    PORTAL = "portal"  # the online portal or an integrated system
    HELPER = "helper"  # community helper filing on a citizen's behalf


ALL_AGENCIES = "*"


@dataclass(frozen=True)
class Principal:
    subject: str
    name: str
    agency_code: str
    roles: frozenset[Role]

    def has_any(self, roles: Sequence[Role]) -> bool:
        return bool(self.roles.intersection(roles))

    def acts_for(self, agency_code: str) -> bool:
        return self.agency_code in (agency_code, ALL_AGENCIES)

    def ensure_agency(self, agency_code: str) -> None:
        """Refuse (403) when the caller does not belong to ``agency_code``."""
        if not self.acts_for(agency_code):
            raise ApiError(
                403,
                "agency_forbidden",
                f"Cán bộ của cơ quan {self.agency_code} không được thao tác "
                f"cho cơ quan {agency_code}.",
            )


def issue_token(
    settings: CommonSettings,
    *,
    subject: str,
    agency_code: str,
    roles: Sequence[Role | str],
    name: str = "",
    ttl: timedelta = timedelta(hours=12),
) -> str:
    now = datetime.now(UTC)
    claims = {
        "iss": settings.jwt_issuer,
        "sub": subject,
        "name": name or subject,
        "agency": agency_code,
        "roles": [str(Role(r)) for r in roles],
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(
        claims, settings.jwt_secret.get_secret_value(), algorithm=ALGORITHM
    )


_VERIFIED: dict[tuple[str, str, str], tuple[float, Principal]] = {}
"""Tokens whose signature was checked, until their ``exp``: a desk sends the
same token with every request, and checking it again cost a quarter of a
millisecond each time. Keyed by the token and the secret and issuer it was
checked with; bounded (cleared when full)."""
_VERIFIED_MAX = 4096


def decode_token(settings: CommonSettings, token: str) -> Principal:
    key = (token, settings.jwt_secret.get_secret_value(), settings.jwt_issuer)
    known = _VERIFIED.get(key)
    if known is not None and time.time() < known[0]:
        return known[1]
    try:
        claims = jwt.decode(
            token,
            key[1],
            algorithms=[ALGORITHM],
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "sub", "iss"]},
        )
        roles = frozenset(Role(r) for r in claims.get("roles", []))
        expires = float(claims["exp"])
    except jwt.ExpiredSignatureError as exc:
        raise ApiError(401, "token_expired", "Phiên đăng nhập đã hết hạn.") from exc
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise ApiError(401, "token_invalid", "Mã xác thực không hợp lệ.") from exc
    principal = Principal(
        subject=str(claims["sub"]),
        name=str(claims.get("name", claims["sub"])),
        agency_code=str(claims.get("agency", "")),
        roles=roles,
    )
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[key] = (expires, principal)
    return principal


_bearer = HTTPBearer(auto_error=False, description="JWT from `motcua token issue`")


def require(
    *roles: Role,
) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """FastAPI dependency: a valid token holding one of ``roles`` (any role if none)."""

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None:
            raise ApiError(401, "token_missing", "Cần đăng nhập (thiếu mã xác thực).")
        settings: CommonSettings = request.app.state.common_settings
        principal = decode_token(settings, credentials.credentials)
        if roles and not principal.has_any(roles):
            raise ApiError(
                403,
                "role_forbidden",
                "Tài khoản không có quyền thực hiện thao tác này.",
            )
        return principal

    return dependency
