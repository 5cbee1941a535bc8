"""The national portal in the benchmark: its simulator beside the system, its
faults during the run (``--portal-faults``), and at the end whether every
benchmark dossier is on it (the portal service's reconciliation), the sync
lag and the portal's call counts."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from motcua.shared.auth import Role, issue_token
from motcua.shared.local_broker import free_port
from motcua.shared.settings import CommonSettings
from motcua.shared.testing.helpers import service_process

PORTAL_FAULTS = {"error_rate": 0.3, "session_ttl_s": 5}
"""What ``--portal-faults`` sets for the whole run."""
OUTAGE_S = 60
"""And the portal's outage it adds once the fixed-rate phase is under way."""


def simulator_available() -> bool:
    """The portal simulator is installed (it runs as ``python -m``)."""
    try:
        return importlib.util.find_spec("motcua.portal.simulator.__main__") is not None
    except ModuleNotFoundError:
        return False


def start_simulator(stack: ExitStack, data_dir: Path) -> tuple[str, Any]:
    """The portal simulator on a free port; its URL and process."""
    port = free_port()
    process = stack.enter_context(
        service_process(
            "motcua.portal.simulator",
            {},
            data_dir / "logs" / "portal-simulator.log",
            args=["--port", str(port)],
        )
    )
    return f"http://127.0.0.1:{port}", process


def service_env(simulator_url: str) -> dict[str, str]:
    """The portal service's settings pointing at the simulator (its intake URL
    is set once intake's port is known: :func:`intake_env`)."""
    return {
        "MOTCUA_PORTAL_TOKEN_URL": f"{simulator_url}/lgsp/token",
        "MOTCUA_PORTAL_ADAPTER_URL": f"{simulator_url}/dvcqg",
        "MOTCUA_PORTAL_RETRY_MAX_DELAY_S": "10",
        "MOTCUA_PORTAL_MAX_ATTEMPTS": "30",
    }


async def set_faults(simulator_url: str, faults: dict[str, Any]) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.post(f"{simulator_url}/_sim/faults", json=faults)
        answer.raise_for_status()


async def outage_later(simulator_url: str, after_s: float) -> None:
    """The portal down for :data:`OUTAGE_S` seconds, ``after_s`` from now (the
    other faults stay)."""
    await asyncio.sleep(after_s)
    await set_faults(simulator_url, {**PORTAL_FAULTS, "down_for_s": OUTAGE_S})


def _operator() -> dict[str, str]:
    token = issue_token(
        CommonSettings(), subject="bench", agency_code="*", roles=[Role.OPERATOR]
    )
    return {"Authorization": f"Bearer {token}"}


async def wait_synced(portal_url: str, *, timeout_s: float) -> dict[str, Any]:
    """Wait until the portal service has nothing left to send (or the time is
    up); its queue, lag and last reconciliation as it reports them."""
    deadline = time.monotonic() + timeout_s
    overview: dict[str, Any] = {}
    async with httpx.AsyncClient(timeout=30, headers=_operator()) as client:
        while time.monotonic() < deadline:
            answer = await client.get(f"{portal_url}/api/v1/portal/sync")
            if answer.status_code == 200:
                overview = answer.json()
                if overview["pending"] == 0 and overview["parked"] == 0:
                    break
            await asyncio.sleep(1.0)
    return overview


async def portal_check(
    portal_url: str, simulator_url: str, codes: set[str], *, timeout_s: float
) -> dict[str, Any]:
    """Every benchmark dossier on the portal, by the portal service's
    reconciliation, with the sync lag and the portal's call counts."""
    await set_faults(simulator_url, {})
    overview = await wait_synced(portal_url, timeout_s=timeout_s)
    async with httpx.AsyncClient(timeout=300, headers=_operator()) as client:
        report = (await client.get(f"{portal_url}/api/v1/portal/reconciliation")).json()
        held = set((await client.get(f"{simulator_url}/_sim/dossiers")).json()["codes"])
        stats = (await client.get(f"{simulator_url}/_sim/stats")).json()
        overview = (await client.get(f"{portal_url}/api/v1/portal/sync")).json()
    sync_calls = sum(
        n for service, n in stats["calls"].items() if service in SYNC_SERVICES
    )
    return {
        "benchmark_dossiers": len(codes),
        "on_the_portal": len(codes & held),
        "missing_on_the_portal": sorted(codes - held)[:20],
        "reconciliation": {
            k: report.get(k) for k in ("dossiers", "differences", "by_kind")
        },
        "sync_lag_p50_s": overview.get("lag_p50_s"),
        "sync_lag_p99_s": overview.get("lag_p99_s"),
        "pending": overview.get("pending"),
        "parked": overview.get("parked"),
        "logins": stats.get("logins"),
        "token_requests": stats.get("token_requests"),
        "sync_calls": sync_calls,
        "calls": stats.get("calls"),
        "errors": stats.get("errors"),
        "unavailable": stats.get("unavailable"),
        "clean": report.get("differences") == 0 and codes <= held,
    }


SYNC_SERVICES = frozenset({"DongBoHoSoMC", "CapNhatTienDoHoSoMC"})


def markdown(check: dict[str, Any]) -> list[str]:
    rec = check["reconciliation"]
    return [
        "",
        f"National portal: {'clean' if check['clean'] else 'DIFFERENCES'}",
        "",
        "| portal | value |",
        "| --- | --- |",
        f"| benchmark dossiers on the portal simulator | {check['on_the_portal']} of {check['benchmark_dossiers']} |",
        f"| reconciliation: dossiers checked / differences | {rec.get('dossiers')} / {rec.get('differences')} |",
        f"| sync lag p50 / p99 s (act → portal's acknowledgement, last hour) | {check['sync_lag_p50_s']} / {check['sync_lag_p99_s']} |",
        f"| logins / token requests / sync calls | {check['logins']} / {check['token_requests']} / {check['sync_calls']} |",
        f"| left pending / parked | {check['pending']} / {check['parked']} |",
        f"| portal's errors by code / HTTP 503 during the outage | {check.get('errors')} / {check.get('unavailable')} |",
    ]
