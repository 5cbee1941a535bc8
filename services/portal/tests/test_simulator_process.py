"""The simulator as ``motcua up`` starts it (its own process, the port from
``MOTCUA_SIMULATOR_PORTAL_PORT``), answering the portal service's default
settings: both sides agree with nothing configured."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from motcua.portal.processes import processes
from motcua.portal.settings import PortalSettings
from motcua.shared.local_broker import free_port
from motcua.shared.testing.helpers import service_process, wait_http_ok

pytestmark = pytest.mark.e2e


async def test_motcua_up_s_simulator_serves_the_portal_s_default_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setenv("MOTCUA_SIMULATOR_PORTAL_PORT", str(port))
    [spec] = processes(tmp_path)
    assert spec.health_url is not None
    module = "motcua.portal.simulator"
    assert spec.argv[:3] == [sys.executable, "-m", module]
    log = tmp_path / "portal-simulator.log"
    with service_process(module, {}, log, args=spec.argv[3:]):
        await wait_http_ok(spec.health_url, timeout_s=30)
        await _round_trip(PortalSettings(), f"http://127.0.0.1:{port}")


async def _round_trip(settings: PortalSettings, base: str) -> None:
    assert settings.token_url.startswith("http://127.0.0.1:8014")  # the default
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        token = await client.post(
            "/lgsp/token",
            data={"grant_type": "client_credentials"},
            auth=(settings.client_id, settings.client_secret.get_secret_value()),
        )
        assert token.status_code == 200, token.text
        headers = {
            "Authorization": f"Bearer {token.json()['access_token']}",
            "dstcode": settings.dstcode,
        }
        login = await client.post(
            "/dvcqg/auth",
            json={
                "username": settings.username,
                "password": settings.password.get_secret_value(),
            },
            headers=headers,
        )
        assert login.json()["error_code"] == "00", login.text
        looked_up = await client.post(
            "/dvcqg/integration",
            json={
                "session": login.json()["session"],
                "madonvi": settings.madonvi,
                "service": "TraCuuHoSo",
                "MaHoSo": "000.01.31.H14-261206-5001",
            },
            headers=headers,
        )
        assert looked_up.json()["error_code"] == "04"
