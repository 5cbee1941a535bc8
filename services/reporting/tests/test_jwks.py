"""The public keys are published in one place: reporting's JWKS."""

from __future__ import annotations

from pathlib import Path

import httpx

from motcua.reporting.app import create_app
from motcua.reporting.settings import ReportingSettings
from motcua.shared.settings import CommonSettings
from motcua.shared.signing.keystore import FileKeystore


async def test_jwks_lists_every_agency_key_without_private_parts(
    tmp_path: Path, signing_keystore: FileKeystore
) -> None:
    app = create_app(ReportingSettings(common=CommonSettings(data_dir=tmp_path)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.get("/.well-known/jwks.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/jwk-set+json")
    body = answer.json()
    assert body == signing_keystore.keyring().to_jwks()
    assert body["province"] == "000.00.00.H14"
    assert all("d" not in key and key["alg"] == "ES256" for key in body["keys"])
    assert {"000.01.31.H14", "000.00.05.H14"} <= {k["agency"] for k in body["keys"]}
