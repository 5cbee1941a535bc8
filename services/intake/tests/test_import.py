"""``motcua import dossiers``: history with its original times, bad rows
rejected by line, a re-run adds nothing, and the service publishes it all."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from intake_support import DESK, dossier, intake_settings, outbox_events, published, vn
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from motcua.intake.app import create_app
from motcua.intake.history import read_rows
from motcua.intake.importer import import_rows
from motcua.intake.settings import IntakeSettings
from motcua.shared.auth import Role
from motcua.shared.db import create_engine, create_session_factory
from motcua.shared.settings import CommonSettings, KafkaSettings
from motcua.shared.testing.helpers import bearer, running_app

pytestmark = pytest.mark.broker

ROWS = [
    {  # pre-2025 commune of the old district, delivered
        "code": "000.51.41.H14-250310-0007",
        "procedure_code": "1.001193",
        "receiving_agency_code": "000.51.41.H14",
        "received_at": "2025-03-10T09:15:00",
        "status": 10,
        "applicant": {"full_name": "Trần Văn Bình", "id_number": "123456789"},
        "resolved_at": "2025-03-10T15:00:00",
        "delivered_at": "2025-03-11T08:00:00",
    },
    {  # withdrawn
        "code": "000.01.31.H14-251201-0003",
        "procedure_code": "1.004873",
        "receiving_agency_code": "000.01.31.H14",
        "channel": "online",
        "received_at": "2025-12-01T10:00:00+07:00",
        "status": 7,
        "applicant": {
            "full_name": "Lê Thị C",
            "id_number": "001190012345",
            "phone": "0912345678",
        },
        "withdrawn_at": "2025-12-02T09:00:00+07:00",
        "reasons": ["Công dân xin rút"],
    },
    {  # still in progress at the cut-over: carried over
        "code": "000.01.31.H14-251230-0012",
        "procedure_code": "2.000488",
        "receiving_agency_code": "000.01.31.H14",
        "received_at": "2025-12-30T14:00:00",
        "status": 4,
        "applicant": {"full_name": "Phạm Văn D", "id_number": "079203004567"},
    },
    {  # waiting for a supplement at the cut-over: imported with its pause
        "code": "000.01.31.H14-251229-0001",
        "procedure_code": "2.000488",
        "receiving_agency_code": "000.01.31.H14",
        "received_at": "2025-12-29T09:00:00",
        "status": 5,
        "paused_at": "2025-12-30T10:00:00",
        "reasons": ["Thiếu bản sao căn cước"],
        "applicant": {"full_name": "Đỗ Văn G", "id_number": "079203004568"},
    },
]
BAD = [
    {**ROWS[0], "code": "000.51.41.H14-250310-0008", "procedure_code": "9.999999"},
    {**ROWS[2], "code": "000.01.31.H14-251230-0013", "status": 9},  # no resolved_at
    {
        **ROWS[2],
        "code": "000.01.31.H14-251229-0002",
        "received_at": "2025-12-29T09:00:00",
        "status": 6,
    },  # no paused_at
]


@asynccontextmanager
async def create_engine_for(
    url: str,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(url)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


def _run_import(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from motcua.shared.cli.main import main; main()",
            "import",
            "dossiers",
            str(path),
        ],
        env={**os.environ, **env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _jsonl(path: Path) -> Path:
    lines = [json.dumps(ROWS[0]), json.dumps(BAD[0]), "{not json", json.dumps(ROWS[1])]
    lines += [json.dumps(ROWS[2]), json.dumps(BAD[1])]
    lines += [json.dumps(ROWS[3]), json.dumps(BAD[2])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def test_history_is_loaded_once_with_original_times_and_published(
    database_url: str, kafka_settings: KafkaSettings, tmp_path: Path, unique: str
) -> None:
    env = {"MOTCUA_INTAKE_DATABASE_URL": database_url, "MOTCUA_DATA_DIR": str(tmp_path)}
    source = _jsonl(tmp_path / "legacy.jsonl")
    first = _run_import(source, env)
    assert first.returncode == 1, first.stderr  # some rows were rejected
    report = first.stderr
    assert "Thủ tục 9.999999 không có trong danh mục" in report
    assert "không phải JSON hợp lệ" in report
    assert "Trạng thái 9 cần thời điểm resolved_at" in report
    assert "Trạng thái 6 cần thời điểm paused_at" in report
    for line in ("│ 2 ", "│ 3 ", "│ 6 ", "│ 8 "):
        assert line in report, report
    assert "Hồ sơ đã nhập           │ 4" in report

    settings = intake_settings(
        database_url, kafka_settings, tmp_path, f"intake-{unique}"
    )
    again = await import_rows(settings, read_rows(source))
    assert (again.loaded, again.already_present, again.events) == (0, 4, 0)
    assert [line for line, _ in again.rejected] == [2, 3, 6, 8]

    app = create_app(settings)
    async with running_app(app) as client:
        events = await outbox_events(app.state.runtime.sessions)
        assert [(e["dossier_code"][-4:], e["event_type"]) for e in events] == [
            ("0007", "dossier.received"),
            ("0007", "dossier.result_recorded"),
            ("0007", "dossier.result_delivered"),
            ("0003", "dossier.received"),
            ("0003", "dossier.withdrawn"),
            ("0012", "dossier.received"),
            ("0001", "dossier.received"),
            ("0001", "dossier.supplement_requested"),
        ]
        assert all(e["imported"] for e in events)
        records = await published(kafka_settings, {e["event_id"] for e in events})
        delivered = next(
            r for r in records.values() if r["event_type"] == "dossier.result_delivered"
        )
        assert delivered["occurred_at"] == "2025-03-11T08:00:00+07:00"
        assert delivered["imported"] is True
        paused = next(
            r
            for r in records.values()
            if r["event_type"] == "dossier.supplement_requested"
        )
        assert paused["occurred_at"] == "2025-12-30T10:00:00+07:00"
        assert paused["data"]["status"] == 5
        received = next(
            r for r in records.values() if r["dossier_code"].endswith("0012")
        )
        assert (
            received["data"]["due_at"] == "2026-01-14T14:00:00+07:00"
        )  # 10 WD, 1/1 off
        # imported codes are never handed out again
        app.state.intake.clock = lambda: vn("2025-12-30 15:00")
        later = await client.post(
            "/api/v1/dossiers", json=dossier(), headers=bearer(DESK, Role.DESK_OFFICER)
        )
        assert later.json()["code"] == "000.01.31.H14-251230-0013"


async def test_csv_files_load_the_same_way(
    sqlite_database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "legacy.csv"
    columns = [
        "code",
        "procedure_code",
        "receiving_agency_code",
        "received_at",
        "status",
        "applicant.full_name",
        "applicant.id_number",
        "resolved_at",
        "reasons",
    ]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerow(
            {
                "code": "000.01.31.H14-251201-0004",
                "procedure_code": "1.001193",
                "receiving_agency_code": "000.01.31.H14",
                "received_at": "2025-12-01T16:00:00",
                "status": "9",
                "applicant.full_name": "Vũ Thị E",
                "applicant.id_number": "001190012345",
                "resolved_at": "2025-12-03T09:00:00",
            }
        )
        writer.writerow(
            {
                "code": "000.01.31.H14-251201-0005",
                "procedure_code": "1.001193",
                "receiving_agency_code": "000.01.31.H14",
                "received_at": "2025-12-01T16:10:00",
                "status": "3",
                "applicant.full_name": "Vũ Văn F",
                "reasons": "Không thuộc thẩm quyền|Thiếu giấy tờ",
            }
        )
    settings = IntakeSettings(
        database_url=sqlite_database_url, common=CommonSettings(data_dir=tmp_path)
    )
    report = await import_rows(settings, read_rows(path))
    assert (report.loaded, report.events, report.rejected) == (2, 3, [])
    async with create_engine_for(sqlite_database_url) as sessions:
        events = await outbox_events(sessions)
    assert [e["event_type"] for e in events] == [
        "dossier.received",
        "dossier.result_recorded",
        "dossier.refused",
    ]
    assert events[2]["data"]["reasons"] == ["Không thuộc thẩm quyền", "Thiếu giấy tờ"]
    assert events[1]["data"]["timeliness"] == "late"  # due 2/12 17:00
