"""Biểu 06 over the real broker: every column's rule on events published as the
other services publish them (imported history included), the xlsx and CSV
exports, and a rebuild from the topics giving the same report."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import openpyxl
import pytest
from reporting_support import OPERATOR, Dossier, publish, unique_agency, wait_projected

from motcua.reporting.app import create_app
from motcua.reporting.rebuild import rebuild
from motcua.reporting.settings import ReportingSettings
from motcua.shared.contracts import VN_TZ
from motcua.shared.contracts.common import AgencyLevel, Channel
from motcua.shared.contracts.handoff import Timeliness
from motcua.shared.testing.helpers import running_app

pytestmark = pytest.mark.broker

Q1 = {"period": "quarter", "year": 2025, "quarter": 1}  # 15/12/2024 – 14/3/2025


def at(month: int, day: int, hour: int = 9, year: int = 2025) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=VN_TZ)


def scenario(agency: str, competent: str) -> tuple[list, dict[str, Dossier]]:
    """One dossier per rule; comments give the column each must land in."""
    n = iter(range(1, 100))

    def dossier(**kw: object) -> Dossier:
        return Dossier(f"{agency}-250101-{next(n):04d}", agency, **kw)  # type: ignore[arg-type]

    early, on_time, late = (
        dossier(),
        dossier(),
        dossier(field="DD", level=AgencyLevel.PROVINCE),
    )
    within, overdue, carried = dossier(), dossier(), dossier(imported=True)
    moved_later, paused, withdrawn = dossier(), dossier(), dossier()
    refused, before = dossier(), dossier(imported=True)
    received_early = early.received(at(1, 6), at(1, 10), channel=Channel.ONLINE)
    events = [
        # (4) online, (8) early: finished on the 8th, due on the 10th.
        received_early,
        early.notice(at(1, 6, 10), received_early),
        early.routed(at(1, 6), competent),
        early.offered(at(1, 6)),
        early.resolved(at(1, 8), at(1, 10), Timeliness.EARLY),
        early.postal_order(at(1, 9)),
        # (5) direct, (9) on time: same date as the appointment, hours later
        # (routing's hour-precise mark says late; the form compares dates).
        on_time.received(at(1, 6), at(1, 10, 9)),
        on_time.resolved(at(1, 10, 16), at(1, 10, 9), Timeliness.LATE),
        # (5) postal, (10) late.
        late.received(at(1, 6), at(1, 10), channel=Channel.POSTAL),
        late.resolved(at(1, 13), at(1, 10), Timeliness.LATE),
        # (12) within time: due after the period end.
        within.received(at(3, 1), at(3, 20)),
        # (13) overdue at the period end, although resolved after it.
        overdue.received(at(2, 1), at(3, 1)),
        overdue.resolved(at(3, 20), at(3, 1), Timeliness.LATE),
        # (6) carried over (imported history), (10) late.
        carried.received(at(12, 1, year=2024), at(12, 10, year=2024)),
        carried.resolved(at(1, 5), at(12, 10, year=2024), Timeliness.LATE),
        # (13): at the period end it was overdue; the apology came later.
        moved_later.received(at(3, 1), at(3, 10)),
        moved_later.apology(at(3, 20), at(3, 30)),
        # (12): paused for a supplement at the period end; resumed later.
        paused.received(at(2, 1), at(2, 10)),
        paused.supplement_requested(at(2, 5)),
        paused.resumed(at(3, 20), at(3, 30)),
        # (5), (9): a withdrawal counts as resolved on time.
        withdrawn.received(at(1, 20), at(1, 30)),
        withdrawn.withdrawn(at(1, 22)),
        # refused: not received, only counted as a refusal.
        refused.refused(at(2, 2)),
        # closed before the period: nowhere.
        before.received(at(11, 1, year=2024), at(11, 10, year=2024)),
        before.resolved(at(11, 5, year=2024), at(11, 10, year=2024), Timeliness.EARLY),
    ]
    return events, {"early": early, "carried": carried}


EXPECTED_TOTAL = {
    "received": 9,
    "received_online": 1,
    "received_direct": 7,
    "carried_over": 1,
    "resolved": 5,
    "resolved_early": 1,
    "resolved_on_time": 2,
    "resolved_late": 2,
    "in_progress": 4,
    "in_progress_within": 2,
    "in_progress_overdue": 2,
    "on_time_rate": 60.0,
    "invariant_ok": True,
    "apology": 0,
    "supplement": 1,
    "withdrawal": 1,
    "refusal": 1,
    "postal_return": 1,
}


async def test_bieu06_columns_exports_and_rebuild(
    reporting_settings: ReportingSettings, unique: str
) -> None:
    agency, competent = unique_agency(unique, "T"), unique_agency(unique, "C")
    events, dossiers = scenario(agency, competent)
    app = create_app(reporting_settings)
    async with running_app(app) as client:
        await publish(reporting_settings.kafka, events)
        await wait_projected(app, [e.event_id for e in events])
        query = {**Q1, "agency": [agency, competent]}
        response = await client.get(
            "/api/v1/reports/bieu-06", params=query, headers=OPERATOR
        )
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["period"] == {
            "label": "Quý 1 năm 2025",
            "first_day": "2024-12-15",
            "last_day": "2025-03-14",
        }
        assert report["total"] == EXPECTED_TOTAL
        assert report["invariant_ok"] is True
        rows = {(r["keys"]["level"], r["keys"]["field"]): r for r in report["rows"]}
        assert rows[("province", "DD")]["figures"]["resolved_late"] == 1
        assert rows[("province", "DD")]["labels"] == {
            "level": "Cấp tỉnh",
            "field": "Lĩnh vực DD",
        }
        assert rows[("commune", "HT")]["figures"]["received"] == 8

        by_agency = await client.get(
            "/api/v1/reports/bieu-06",
            params={**query, "group_by": "agency"},
            headers=OPERATOR,
        )
        agencies = {r["keys"]["agency"]: r["figures"] for r in by_agency.json()["rows"]}
        assert agencies[competent]["resolved_early"] == 1  # the competent agency

        previous = await client.get(  # the imported history is in its own period
            "/api/v1/reports/bieu-06",
            params={"period": "quarter", "year": 2024, "quarter": 4, "agency": agency},
            headers=OPERATOR,
        )
        assert previous.json()["total"]["received"] == 2
        assert previous.json()["total"]["resolved_early"] == 1

        xlsx = await client.get(
            "/api/v1/reports/bieu-06",
            params={**query, "format": "xlsx"},
            headers=OPERATOR,
        )
        assert xlsx.status_code == 200
        assert "bieu-06_20241215_20250314.xlsx" in xlsx.headers["content-disposition"]
        check_xlsx(xlsx.content)

        flat = await client.get(
            "/api/v1/reports/bieu-06",
            params={**query, "format": "csv"},
            headers=OPERATOR,
        )
        lines = list(csv.DictReader(io.StringIO(flat.text)))
        assert [line["level"] for line in lines] == ["province", "commune", "", "TOTAL"]
        assert lines[-1]["received"] == "9"
        assert lines[-1]["invariant_ok"] == "true"

        timeline = await client.get(
            f"/api/v1/dossiers/{dossiers['carried'].code}/timeline", headers=OPERATOR
        )
        assert [e["imported"] for e in timeline.json()["events"]] == [True, True]
        before_timeline = (
            await client.get(
                f"/api/v1/dossiers/{dossiers['early'].code}/timeline", headers=OPERATOR
            )
        ).json()

    result = await rebuild(reporting_settings, batch_size=200)
    assert result.records >= len(events)

    async with running_app(create_app(reporting_settings)) as client:
        again = await client.get(
            "/api/v1/reports/bieu-06", params=query, headers=OPERATOR
        )
        rebuilt = again.json()
        after_timeline = (
            await client.get(
                f"/api/v1/dossiers/{dossiers['early'].code}/timeline", headers=OPERATOR
            )
        ).json()
    report.pop("generated_at")
    rebuilt.pop("generated_at")
    assert rebuilt == report
    assert after_timeline == before_timeline


def check_xlsx(content: bytes) -> None:
    sheet = openpyxl.load_workbook(io.BytesIO(content))["Biểu 06"]
    values = [[c.value for c in row] for row in sheet.iter_rows(max_col=13)]
    assert values[0][10] == "Biểu số 06/VPCP/KSTT"
    assert values[1][0].startswith("TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH")
    assert "từ ngày 15/12/2024 đến ngày 14/03/2025" in values[2][0]
    assert values[4][:3] == [
        "STT",
        "Lĩnh vực, công việc giải quyết theo cấp",
        "Số hồ sơ nhận giải quyết",
    ]
    assert values[6][3] == "Số mới tiếp nhận trực tuyến"
    assert values[7] == [f"({i})" for i in range(1, 14)]
    body = values[8:]
    labels = [row[1] for row in body]
    assert labels == [
        "Cấp tỉnh",
        "Lĩnh vực DD",
        "Cấp xã",
        "Hộ tịch",
        "Chưa xác định",
        "Chưa xác định",
        "Tổng cộng",
    ]
    province = body[0]
    assert province[0] == "I"
    assert province[2:] == [1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0]
    assert body[-1][2:] == [9, 1, 7, 1, 5, 1, 2, 2, 4, 2, 2]
    checks = openpyxl.load_workbook(io.BytesIO(content))["Kiểm tra"]
    total = [c.value for c in list(checks.iter_rows())[-1]]
    assert total[:5] == ["Tổng cộng", 9, 9, "Đúng", 60.0]
