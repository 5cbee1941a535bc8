"""Composition root of the portal service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from motcua.portal.settings import PortalSettings
from motcua.shared.service import ServiceRuntime, create_http_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: PortalSettings | None = None) -> FastAPI:
    settings = settings or PortalSettings()
    runtime = ServiceRuntime(
        settings,
        migrations=MIGRATIONS,
        description="Reports every dossier's status and processing steps to the "
        "national public service portal (DVCQG) and takes the online filings "
        "made there into intake.",
    )
    return create_http_app(
        runtime,
        title="motcua portal",
        description="Đồng bộ hồ sơ với Cổng Dịch vụ công quốc gia qua nền tảng "
        "tích hợp, chia sẻ dữ liệu của tỉnh (LGSP).",
    )
