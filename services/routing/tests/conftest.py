"""Fixtures of routing's tests."""

from __future__ import annotations

import pytest
from broker_support import Clock
from routing_support import MONDAY_8


@pytest.fixture
def clock() -> Clock:
    return Clock(MONDAY_8)


@pytest.fixture
def code_for(unique: str):  # type: ignore[no-untyped-def]
    """Dossier codes unique to this test: ``code_for(agency)``."""
    serial = int(unique, 16) % 10**6

    def make(agency: str, n: int = 0) -> str:
        return f"{agency}-{serial:06d}-{n:04d}"

    return make


@pytest.fixture
def group(unique: str) -> str:
    return f"routing-{unique}"
