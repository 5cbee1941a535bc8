"""Reading and retelling legacy dossiers (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest
from intake_support import vn

from motcua.intake.catalogue import load_catalogue
from motcua.intake.history import (
    RawRow,
    event_id,
    history_events,
    parse_row,
    read_rows,
    unflatten,
)
from motcua.shared.contracts.handoff import Timeliness
from motcua.shared.domain.calendar import load_calendar
from motcua.shared.testing.helpers import sealed

BIRTH = next(p for p in load_catalogue().procedures if p.code == "1.001193")

DELIVERED = {
    "code": "000.51.41.H14-250310-0007",
    "procedure_code": "1.001193",
    "receiving_agency_code": "000.51.41.H14",
    "received_at": "2025-03-10T09:15:00",
    "status": 10,
    "applicant": {"full_name": "Trần Văn Bình", "id_number": "123456789"},
    "resolved_at": "2025-03-10T15:00:00",
    "delivered_at": "2025-03-11T08:00:00",
}


def test_a_delivered_dossier_is_retold_as_received_resolved_delivered() -> None:
    row, problems = parse_row(RawRow(1, DELIVERED))
    assert row is not None, problems
    events = history_events(
        row,
        BIRTH,
        1,
        load_calendar(),
        "Hộ tịch",
        lambda people: sealed(row.code, people.applicant),
    )
    assert [e.data.EVENT_TYPE for e in events] == [
        "dossier.received",
        "dossier.result_recorded",
        "dossier.result_delivered",
    ]
    assert [e.occurred_at for e in events] == [
        vn("2025-03-10 09:15"),
        vn("2025-03-10 15:00"),
        vn("2025-03-11 08:00"),
    ]
    received = events[0].data
    assert received.due_at == vn("2025-03-10 17:00")  # type: ignore[attr-defined]
    assert events[1].data.timeliness is Timeliness.ON_TIME  # type: ignore[attr-defined]


def test_event_ids_are_the_same_on_every_run() -> None:
    assert event_id("X-1", "dossier.received") == event_id("X-1", "dossier.received")
    assert event_id("X-1", "dossier.received") != event_id("X-2", "dossier.received")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"code": "000.51.41.H14-250311-0007"}, "Ngày trong mã"),
        ({"code": "000.52.41.H14-250310-0007"}, "mã cơ quan"),
        ({"delivered_at": None}, "delivered_at"),
        ({"resolved_at": "2025-03-09T10:00:00"}, "trước thời điểm tiếp nhận"),
        ({"status": 1}, "trạng thái 1"),
        ({"received_at": "10/03/2025"}, "ISO 8601"),
        ({"applicant": {"full_name": "A", "id_number": "12"}}, "applicant.id_number"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_rows_are_rejected_with_reasons(
    change: dict[str, object], message: str
) -> None:
    row, problems = parse_row(RawRow(7, {**DELIVERED, **change}))
    assert row is None
    assert message in " ".join(problems)


def test_csv_columns_become_nested_fields(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text(
        "code,applicant.full_name,applicant.phone,reasons,due_at\n"
        "A-1,Lê Văn C,0912345678,Thiếu giấy tờ|Sai mẫu,\n",
        encoding="utf-8",
    )
    [raw] = list(read_rows(path))
    assert raw.line == 2
    assert raw.data == {
        "code": "A-1",
        "applicant": {"full_name": "Lê Văn C", "phone": "0912345678"},
        "reasons": ["Thiếu giấy tờ", "Sai mẫu"],
    }
    assert unflatten({"a.b": " ", "c": "1"}) == {"c": "1"}
