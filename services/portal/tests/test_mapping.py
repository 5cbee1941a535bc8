"""Dossier events → the portal's records and steps (pure, milliseconds)."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from portal_factories import AGENCY, APPLICANT, DISTRICT, T0, event, received

from motcua.portal.mapping import ItemKind, Mapped, map_event, portal_time
from motcua.shared.contracts import EventEnvelope
from motcua.shared.contracts.common import Channel, DossierStatus
from motcua.shared.contracts.dossier import (
    DossierCompletionRequestedV2,
    DossierRefusedV2,
    DossierWithdrawnV1,
    Person,
    PersonalData,
)
from motcua.shared.contracts.handoff import (
    ApologyIssuedV1,
    DeadlineScope,
    DossierNearlyDueV1,
    DossierRoutedV1,
    FeePaidV1,
    FeeRequestedV1,
    HandoffAcknowledgedV1,
    HandoffOfferedV1,
    ProcessingResumedV1,
    ResultDeliveredV1,
    ResultRecordedV1,
    RoutedStep,
    StepCompletedV1,
    SupplementRequestedV1,
    Timeliness,
)
from motcua.shared.testing.helpers import sealed

CODE = f"{AGENCY}-261207-0001"
PEOPLE = PersonalData(applicant=APPLICANT)


def fold(*events: EventEnvelope[Any]) -> tuple[dict[str, Any] | None, list[Any]]:
    """Every event in turn, as the consumer applies them: the last record and
    every item in sending order."""
    record = None
    items = []
    for e in events:
        mapped = map_event(e, record, PEOPLE)
        record = mapped.record
        items += mapped.items
    return record, items


def test_a_reception_is_one_record_then_its_first_step() -> None:
    mapped = map_event(received(CODE, post=True, fee_vnd=8000), None, PEOPLE)
    [dossier, step] = mapped.items
    assert [dossier.kind, step.kind] == [ItemKind.DOSSIER, ItemKind.PROGRESS]
    record = dossier.payload
    assert record["MaHoSo"] == CODE
    assert record["MaTTHC"] == "1.001193"
    assert record["TenTTHC"] == "Đăng ký khai sinh"
    assert (record["MaLinhVuc"], record["TenLinhVuc"]) == ("G01", "Hộ tịch")
    assert record["KenhThucHien"] == 1
    assert record["LoaiDoiTuong"] == 1
    assert record["ChuHoSo"] == "Nguyễn Thị Ánh"
    assert record["SoGiayToChuHoSo"] == "038190000123"
    assert record["DinhDanhCHS"] == [{"LoaiDinhDanh": 1, "SoDinhDanh": "038190000123"}]
    assert (record["Email"], record["SoDienThoai"]) == (
        "anh.nguyen@example.vn",
        "0912345678",
    )
    assert record["NgayTiepNhan"] == "20261207083000"
    assert record["NgayNopHoSo"] == "20261207083000"
    assert record["NgayHenTra"] == "20261210083000"
    assert record["TrangThaiHoSo"] == 2
    assert record["HinhThuc"] == 1  # result by post
    assert record["DonViXuLy"] == AGENCY
    assert record["NoiNopHoSo"] == AGENCY
    assert record["DanhSachLePhi"][0]["Gia"] == 8000
    assert record["TaiLieuNop"][0]["MaThanhPhanHoSo"] == "TP1"
    assert step.payload["MaHoSo"] == CODE
    assert step.payload["TrangThai"] == 2
    assert step.payload["ThoiDiemXuLy"] == "20261207083000"
    assert step.payload["NgayKetThucTheoQuyDinh"] == "20261210083000"


def test_channels_and_applicant_kinds_use_the_national_codes() -> None:
    online = map_event(received(CODE, channel=Channel.ONLINE), None, PEOPLE)
    postal = map_event(received(CODE, channel=Channel.POSTAL), None, PEOPLE)
    assert online.items[0].payload["KenhThucHien"] == 2
    assert postal.items[0].payload["KenhThucHien"] == 3
    assert online.items[0].payload["HinhThuc"] == 0
    company = PersonalData(
        applicant=Person(
            kind="organisation", full_name="Công ty A", id_number="0101234567"
        )
    )
    record = map_event(received(CODE), None, company).items[0].payload
    assert record["LoaiDoiTuong"] == 2
    assert record["DinhDanhCHS"] == [{"LoaiDinhDanh": 3, "SoDinhDanh": "0101234567"}]


def test_dates_are_vietnam_time_whatever_zone_the_event_uses() -> None:
    assert portal_time(T0.astimezone(UTC)) == "20261207083000"
    assert portal_time(None) is None


def test_a_refusal_is_a_status_3_record_with_the_reasons() -> None:
    refused = event(
        CODE,
        DossierRefusedV2(
            procedure_code="1.001193",
            receiving_agency_code=AGENCY,
            channel=Channel.ONLINE,
            reasons=["Thiếu tờ khai", "Sai thẩm quyền"],
            personal_data=sealed(CODE, APPLICANT),
        ),
        minutes=5,
    )
    record, items = fold(refused)
    assert record is not None
    assert record["TrangThaiHoSo"] == 3
    assert record["NgayTuChoi"] == "20261207083500"
    assert record["GhiChu"] == "Thiếu tờ khai; Sai thẩm quyền"
    assert [i.kind for i in items] == [ItemKind.DOSSIER, ItemKind.PROGRESS]
    assert "Thiếu tờ khai" in items[1].payload["NoiDungXuLy"]


def test_a_completion_request_then_the_reception_keep_the_filing_time() -> None:
    asked = event(
        CODE,
        DossierCompletionRequestedV2(
            procedure_code="1.001193",
            receiving_agency_code=AGENCY,
            channel=Channel.ONLINE,
            missing_components=["Tờ khai"],
            personal_data=sealed(CODE, APPLICANT),
        ),
        minutes=-60,
    )
    asked_only = map_event(asked, None, PEOPLE)
    assert asked_only.items == ()  # not received: nothing the portal could take
    record, items = fold(asked, received(CODE))
    assert record is not None
    assert [i.payload.get("TrangThaiHoSo") for i in items] == [2, None]
    assert record["TrangThaiHoSo"] == 2
    assert record["NgayNopHoSo"] == "20261207073000"
    assert record["NgayTiepNhan"] == "20261207083000"


def walkthrough(code: str) -> list[EventEnvelope[Any]]:
    """An inter-agency dossier: the desk routes it to the district, which asks
    for a supplement and a fee, apologises for a delay and hands it back; the
    desk records the result and returns it by post."""
    due = T0 + timedelta(days=3)
    at_district = {"agency": DISTRICT}
    return [
        received(code, inter_agency=True),
        event(
            code,
            DossierRoutedV1(
                competent_agency_code=DISTRICT,
                steps=[
                    RoutedStep(
                        step_no=1, role="appraise", agency_code=DISTRICT, hours=8
                    )
                ],
            ),
            minutes=1,
        ),
        event(
            code,
            HandoffOfferedV1(step_no=1, to_agency_code=DISTRICT, step_due_at=due),
            minutes=2,
        ),
        event(
            code,
            HandoffAcknowledgedV1(
                step_no=1, to_agency_code=DISTRICT, officer="Trần Văn Bình"
            ),
            minutes=3,
            **at_district,
        ),
        event(
            code,
            SupplementRequestedV1(
                requested_components=["Giấy chứng sinh"],
                reason="Bản chụp mờ",
                officer="Trần Văn Bình",
            ),
            minutes=4,
            **at_district,
        ),
        event(
            code,
            ProcessingResumedV1(paused_working_hours=8, due_at=due + timedelta(days=1)),
            minutes=5,
            **at_district,
        ),
        event(
            code,
            FeeRequestedV1(amount_vnd=50000, description="Lệ phí"),
            minutes=6,
            **at_district,
        ),
        event(code, FeePaidV1(amount_vnd=50000), minutes=7, **at_district),
        event(
            code,
            DossierNearlyDueV1(scope=DeadlineScope.OVERALL, due_at=due),
            minutes=8,
            agency=None,
        ),
        event(
            code,
            ApologyIssuedV1(reason="Chờ xác minh", new_due_at=due + timedelta(days=2)),
            minutes=9,
            **at_district,
        ),
        event(
            code,
            StepCompletedV1(
                step_no=1,
                to_agency_code=DISTRICT,
                timeliness=Timeliness.ON_TIME,
                next_agency_code=AGENCY,
            ),
            minutes=10,
            **at_district,
        ),
        event(
            code,
            HandoffOfferedV1(
                step_no=2, from_agency_code=DISTRICT, to_agency_code=AGENCY
            ),
            minutes=10.5,
            **at_district,
        ),
        event(
            code, HandoffAcknowledgedV1(step_no=2, to_agency_code=AGENCY), minutes=10.7
        ),
        event(
            code,
            ResultRecordedV1(
                resolved_at=T0 + timedelta(minutes=11),
                timeliness=Timeliness.EARLY,
                result_summary="Giấy khai sinh",
            ),
            minutes=11,
        ),
        event(
            code,
            ResultDeliveredV1(delivered_at=T0 + timedelta(minutes=12), method="post"),
            minutes=12,
        ),
    ]


STEP_STATUSES = [2, 4, 4, 5, 4, 6, 4, 4, 4, 4, 4, 9, 10]
"""The status each step of :func:`walkthrough` reports."""


def test_each_processing_step_is_a_progress_record_of_the_one_dossier() -> None:
    record, items = fold(*walkthrough(CODE))
    assert record is not None
    assert {i.payload["MaHoSo"] for i in items} == {CODE}  # never a second dossier
    steps = [i.payload for i in items if i.kind is ItemKind.PROGRESS]
    assert [s["TrangThai"] for s in steps] == STEP_STATUSES
    texts = [s["NoiDungXuLy"] for s in steps]
    # agencies by name, as citizens read them on the portal
    assert "Chuyển hồ sơ đến Công an tỉnh Mẫu xử lý bước 1" in texts[1]
    assert steps[1]["PhongBanXuLy"] == "Trung tâm Phục vụ hành chính công tỉnh Mẫu"
    assert steps[2]["NguoiXuLy"] == "Trần Văn Bình"
    assert "Giấy chứng sinh" in texts[3]
    assert "trước hạn" in texts[11]
    assert "bưu chính" in texts[12]
    # the record follows every status and date
    statuses = [i.payload["TrangThaiHoSo"] for i in items if i.kind is ItemKind.DOSSIER]
    assert statuses == [2, 4, 5, 4, 6, 4, 4, 9, 10]
    assert record["TrangThaiHoSo"] == 10
    assert record["DonViXuLy"] == DISTRICT
    assert record["NgayHenTra"] == "20261212083000"
    assert record["NgayKetThucXuLy"] == "20261207084100"
    assert record["NgayTra"] == "20261207084200"
    assert record["DanhSachGiayToKetQua"][0]["TenGiayTo"] == "Giấy khai sinh"
    [supplement] = record["DanhSachHoSoBoSung"]
    assert supplement["NgayHenTraTruoc"] == "20261210083000"
    assert supplement["NgayHenTraMoi"] == "20261211083000"
    assert [f["Gia"] for f in record["DanhSachLePhi"]] == [50000]


def test_a_step_never_comes_before_its_dossier_record() -> None:
    _record, items = fold(*walkthrough(CODE))
    assert items[0].kind is ItemKind.DOSSIER


def test_events_of_a_dossier_the_portal_does_not_know_yield_nothing() -> None:
    withdrawn = event(CODE, DossierWithdrawnV1(reason="Không có nhu cầu"))
    assert map_event(withdrawn, None, None) == Mapped(None)


def test_alarms_are_not_steps() -> None:
    record, _ = fold(received(CODE))
    alarm = event(
        CODE, DossierNearlyDueV1(scope=DeadlineScope.OVERALL, due_at=T0), minutes=1
    )
    assert map_event(alarm, record, None) == Mapped(record)


def test_a_withdrawal_is_status_7() -> None:
    record, items = fold(
        received(CODE), event(CODE, DossierWithdrawnV1(reason="Đổi ý"), minutes=1)
    )
    assert record is not None
    assert record["TrangThaiHoSo"] == 7
    assert items[-1].payload["TrangThai"] == int(DossierStatus.WITHDRAWN)
