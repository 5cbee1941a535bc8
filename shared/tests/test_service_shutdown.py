"""A service's shutdown steps that wait on the broker are bounded: with the
broker gone, stopping must not hang past the grace period."""

from __future__ import annotations

import asyncio

import pytest
import structlog

from motcua.shared import service


async def test_a_broker_step_that_never_ends_is_cut_short_and_said(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service, "_SHUTDOWN_STEP_S", 0.2)
    with structlog.testing.capture_logs() as logs:
        await service._bounded("broker_stop", asyncio.Event().wait())
        await service._bounded("relay_stop", _fails())
    assert [(e["event"], e["step"]) for e in logs] == [
        ("shutdown_step_timed_out", "broker_stop"),
        ("shutdown_step_failed", "relay_stop"),
    ]


async def _fails() -> None:
    msg = "connection lost"
    raise ConnectionError(msg)
