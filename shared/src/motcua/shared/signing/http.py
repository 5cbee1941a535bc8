"""``GET /.well-known/jwks.json``: the one place the public keys are published
(served by reporting; ADR 0012)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from motcua.shared.signing.keys import Keyring


def jwks_router(keyring: Callable[[], Keyring]) -> APIRouter:
    router = APIRouter(tags=["signing"])

    @router.get(
        "/.well-known/jwks.json",
        summary="The agencies' public signing keys (JWKS), current and retired",
        description="Every key that ever signed a dossier event, a checkpoint or a "
        "printout: the standard JWK members, `x5c` (the key's certificate, then "
        "its issuer), and `agency`, `valid_from`, `valid_until`; at the top level "
        "`province` (signs checkpoints and system events) and `signing_since` "
        "(events after it must be signed). Public: no token.",
    )
    async def jwks() -> JSONResponse:
        body: dict[str, Any] = keyring().to_jwks()
        return JSONResponse(
            body,
            media_type="application/jwk-set+json",
            headers={"Cache-Control": "public, max-age=60"},
        )

    return router
