"""Fixtures of the portal tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from motcua.portal.settings import PortalSettings
from motcua.shared.settings import CommonSettings
from motcua.shared.testing.offline import NO_BROKER


@pytest.fixture
def offline_settings(database_url: str, tmp_path: Path) -> PortalSettings:
    """The portal on a fresh database, never connecting to a broker."""
    return PortalSettings(
        database_url=database_url,
        kafka=NO_BROKER,
        common=CommonSettings(data_dir=tmp_path, environment="test"),
    )
