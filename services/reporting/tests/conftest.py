"""Fixtures for reporting's integration tests: the real app over the real
broker and a fresh database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from pathlib import Path

import pytest

from motcua.reporting.settings import ReportingSettings
from motcua.shared.settings import CommonSettings, KafkaSettings


@pytest.fixture
def reporting_settings(
    database_url: str, kafka_settings: KafkaSettings, tmp_path: Path
) -> ReportingSettings:
    return ReportingSettings(
        database_url=database_url,
        kafka=kafka_settings,
        common=CommonSettings(data_dir=tmp_path, environment="test"),
    )
