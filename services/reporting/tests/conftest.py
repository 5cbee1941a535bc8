"""Fixtures for reporting's integration tests: the real app over the real
broker and a fresh database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from motcua.reporting.app import create_app
from motcua.reporting.settings import ReportingSettings
from motcua.reporting.tables import TimelineEntry
from motcua.shared.auth import Role
from motcua.shared.settings import CommonSettings, KafkaSettings
from motcua.shared.testing.helpers import bearer, wait_for

OPERATOR = bearer("*", Role.OPERATOR)


@pytest.fixture
def reporting_settings(
    database_url: str, kafka_settings: KafkaSettings, tmp_path: Path
) -> ReportingSettings:
    return ReportingSettings(
        database_url=database_url,
        kafka=kafka_settings,
        common=CommonSettings(data_dir=tmp_path, environment="test"),
    )


async def wait_projected(
    app: FastAPI, event_ids: Iterable[Any], timeout_s: float = 60
) -> None:
    """Until every given event is in the timeline (the projection applied it)."""
    wanted = set(event_ids)
    runtime = app.state.runtime
    t = TimelineEntry.__table__  # type: ignore[attr-defined]

    async def probe() -> bool:
        async with runtime.sessions() as session:
            found = await session.scalar(
                sa.select(sa.func.count()).where(t.c.event_id.in_(list(wanted)))
            )
        return found == len(wanted)

    await wait_for(
        probe, timeout_s=timeout_s, interval_s=0.1, message="events projected"
    )


__all__ = ["OPERATOR", "create_app", "wait_projected"]
