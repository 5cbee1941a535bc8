"""The loop of a background worker that works in rounds (notification's
deliveries, the portal's sender): a round right after a busy one, otherwise
a wait until woken or until the poll interval passes. A failing round is
logged and the loop goes on: a provider or database outage must not end it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)


async def run_rounds(
    one_round: Callable[[], Awaitable[bool]],
    wake: asyncio.Event,
    poll_interval_s: float,
    *,
    failed_event: str,
) -> None:
    """Run ``one_round`` (True when it did something) until cancelled."""
    while True:
        try:
            busy = await one_round()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(failed_event)
            busy = False
        if not busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), poll_interval_s)
            wake.clear()
