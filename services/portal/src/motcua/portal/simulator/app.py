"""The simulator's HTTP face: the platform's token endpoint, the portal's
login and integration endpoint behind a bearer token, and ``/_sim/*`` for
tests and demos (no auth). Parsing is by hand where the real API answers
HTTP 200 with an error code rather than a framework's 422."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from motcua.portal.simulator.rules import submission_problems
from motcua.portal.simulator.state import INVALID, Portal, error
from motcua.shared.errors import ErrorDetail, error_response, install_error_handlers


class PortalDownError(Exception):
    """The portal is in its down window (HTTP 503)."""


class TokenInvalidError(Exception):
    """No or expired platform token (HTTP 401 ``invalid_token``)."""


class FaultsIn(BaseModel):
    """``POST /_sim/faults``; ``{}`` clears every fault."""

    error_rate: float = Field(default=0.0, ge=0, le=1)
    down_for_s: float = Field(default=0.0, ge=0, le=86_400)
    session_ttl_s: float | None = Field(default=None, gt=0)
    token_ttl_s: float | None = Field(default=None, gt=0)


def create_simulator(portal: Portal) -> FastAPI:
    app = FastAPI(
        title="National portal (DVCQG) simulator",
        description="The province's integration platform (OAuth2 client "
        "credentials) in front of the national public service portal's sync "
        "API, in memory, with injectable faults.",
    )
    app.state.portal = portal
    install_error_handlers(app)  # the project's error shape, in Vietnamese

    async def available() -> None:
        if portal.down():
            raise PortalDownError

    async def bearer(authorization: Annotated[str | None, Header()] = None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not portal.token_valid(token.strip()):
            raise TokenInvalidError

    platform = APIRouter(dependencies=[Depends(available)])
    dvcqg = APIRouter(
        prefix="/dvcqg", dependencies=[Depends(available), Depends(bearer)]
    )

    @platform.post("/lgsp/token")
    async def token(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        if form.get("grant_type") != ["client_credentials"]:
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        key, secret = _basic(authorization)
        issued = portal.issue_token(key, secret)
        if issued is None:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        access_token, ttl = issued
        return JSONResponse(
            {"access_token": access_token, "token_type": "Bearer", "expires_in": ttl}
        )

    @dvcqg.post("/auth")
    async def auth(
        request: Request, dstcode: Annotated[str | None, Header()] = None
    ) -> dict[str, Any]:
        return portal.login(await _json(request), dstcode)

    @dvcqg.post("/integration")
    async def integration(
        request: Request, dstcode: Annotated[str | None, Header()] = None
    ) -> dict[str, Any]:
        body = await _json(request)
        if not body:
            return error(INVALID, "Dữ liệu không hợp lệ: nội dung phải là JSON.")
        return portal.integrate(body, dstcode)

    app.include_router(platform)
    app.include_router(dvcqg)
    app.include_router(_sim_routes(portal))

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.exception_handler(PortalDownError)
    async def unavailable(_request: Request, _exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "unavailable"}, status_code=503)

    @app.exception_handler(TokenInvalidError)
    async def unauthorised(_request: Request, _exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"error": "invalid_token"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    return app


def _sim_routes(portal: Portal) -> APIRouter:
    sim = APIRouter(prefix="/_sim", tags=["simulator"])

    @sim.get("/dossiers")
    async def dossiers() -> dict[str, list[str]]:
        return {"codes": list(portal.dossiers)}

    @sim.get("/dossiers/{code}")
    async def dossier(code: str) -> JSONResponse:
        held = portal.dossiers.get(code)
        if held is None:
            return error_response(404, "not_found", f"Cổng không có hồ sơ {code}.")
        return JSONResponse(
            {
                "dossier": held.dossier,
                "progress": held.progress,
                "calls": held.calls,
                "records": held.records,
            }
        )

    @sim.post("/submissions", status_code=201)
    async def submit(request: Request) -> JSONResponse:
        body = await _json(request)
        problems = submission_problems(body)
        if problems:
            return error_response(
                422,
                "validation_failed",
                "Hồ sơ nộp trực tuyến còn thiếu hoặc sai thông tin: "
                + ", ".join(field for field, _ in problems)
                + ".",
                [ErrorDetail(field=f, message=m) for f, m in problems],
            )
        return JSONResponse({"MaHoSo": portal.submit(body)}, status_code=201)

    @sim.get("/stats")
    async def stats() -> dict[str, Any]:
        return portal.stats()

    @sim.get("/faults")
    async def faults() -> dict[str, Any]:
        return portal.describe_faults()

    @sim.post("/faults")
    async def set_faults(body: FaultsIn) -> dict[str, Any]:
        portal.set_faults(**body.model_dump())
        return portal.describe_faults()

    return sim


def _basic(authorization: str | None) -> tuple[str, str]:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    key, _, secret = decoded.partition(":")
    return key, secret


async def _json(request: Request) -> dict[str, Any]:
    """The body as a JSON object, else empty (the portal answers "02")."""
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}
