"""Dossier events → the national portal's sync records (pure).

The portal keeps one record per dossier (``DongBoHoSoMC``: sent whole, first
as a creation, then as an update with ``isUpdating``) and a list of progress
steps (``CapNhatTienDoHoSoMC``, one per processing step, in order). The
portal service keeps the last record it built for each dossier; each event
yields the record after it (when the event changes anything the record
says) and the steps it adds, in the order they must reach the portal: the
record first, then the step, so no step ever precedes its dossier.

Field names, codes and the date format (``yyyyMMddHHmmss``, Asia/Ho_Chi_Minh)
follow the portal's API (QCVN 120:2019/BTTTT as provincial systems call it).
Inter-agency hand-offs are steps of the citizen's one dossier: only the
events that create a dossier (reception, refusal, completion request) make a
record from nothing; every other event of an unknown dossier yields nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from motcua.shared.contracts.common import (
    ApplicantKind,
    Channel,
    DossierStatus,
    ResultDelivery,
)
from motcua.shared.contracts.dossier import (
    DossierCompletionRequestedV2,
    DossierReceivedV2,
    DossierRefusedV2,
    DossierSupplementReceivedV1,
    DossierWithdrawnV1,
    PersonalData,
    SubmittedComponent,
)
from motcua.shared.contracts.envelope import VN_TZ, EventData, EventEnvelope
from motcua.shared.contracts.handoff import (
    ApologyIssuedV1,
    DossierRoutedV1,
    FeePaidV1,
    FeeRequestedV1,
    HandoffAcknowledgedV1,
    HandoffOfferedV1,
    HandoffReturnedV1,
    ProcessingResumedV1,
    ProcessingStoppedV1,
    ResultDeliveredV1,
    ResultRecordedV1,
    StepCompletedV1,
    SupplementRequestedV1,
    Timeliness,
)
from motcua.shared.domain.agencies import load_registry
from motcua.shared.domain.status import (
    IllegalTransitionError,
    action_of,
    status_after_event,
)

Record = dict[str, Any]
"""A ``DongBoHoSoMC`` record or a ``CapNhatTienDoHoSoMC`` step, in the
portal's field names (JSON-ready)."""

PORTAL_TIME: Final = "%Y%m%d%H%M%S"
CHANNELS: Final = {Channel.DIRECT: 1, Channel.ONLINE: 2, Channel.POSTAL: 3}
"""``KenhThucHien``: 1 direct, 2 online, 3 postal (BCCI)."""
APPLICANT_KINDS: Final = {ApplicantKind.CITIZEN: 1, ApplicantKind.ORGANISATION: 2}
"""``LoaiDoiTuong``: 1 citizen, 2 organisation."""
ID_KINDS: Final = {ApplicantKind.CITIZEN: 1, ApplicantKind.ORGANISATION: 3}
"""``DinhDanhCHS.LoaiDinhDanh``: 1 personal ID number (CCCD), 3 tax code."""
BY_POST: Final = 1
"""``HinhThuc`` 1: the result is returned by post; 0 otherwise."""
SYSTEM_ACTOR: Final = "Hệ thống một cửa"
UNFILED_FIELD: Final = ("KHAC", "Lĩnh vực khác")
"""``MaLinhVuc``/``TenLinhVuc`` of a procedure filed under no field (the
portal wants both)."""
TIMELINESS_VI: Final = {
    Timeliness.EARLY: "trước hạn",
    Timeliness.ON_TIME: "đúng hạn",
    Timeliness.LATE: "quá hạn",
}
DELIVERY_VI: Final = {
    "desk": "tại bộ phận một cửa",
    "post": "qua bưu chính công ích",
    "electronic": "bản điện tử",
}


class ItemKind(StrEnum):
    """What a sync item is, named after the portal's service that takes it."""

    DOSSIER = "DongBoHoSoMC"
    PROGRESS = "CapNhatTienDoHoSoMC"


@dataclass(frozen=True)
class SyncItem:
    kind: ItemKind
    payload: Record


@dataclass(frozen=True)
class Mapped:
    """What one event means for the portal."""

    record: Record | None
    """The dossier's record after the event (None: the portal does not know the
    dossier and the event does not create it)."""
    items: tuple[SyncItem, ...] = ()
    """What to send, in order (record updates before steps)."""


def portal_time(moment: datetime | None) -> str | None:
    """``yyyyMMddHHmmss`` in Vietnam's time (None stays None)."""
    if moment is None:
        return None
    return moment.astimezone(VN_TZ).strftime(PORTAL_TIME)


# -- the record ------------------------------------------------------------------------


_NO_PEOPLE: Final[Record] = {
    "ChuHoSo": "",
    "LoaiDoiTuong": APPLICANT_KINDS[ApplicantKind.CITIZEN],
    "SoGiayToChuHoSo": "",
    "Email": "",
    "SoDienThoai": "",
    "DinhDanhCHS": [],
}


def _people_fields(people: PersonalData | None) -> Record:
    applicant = people.applicant if people else None
    if applicant is None:
        return dict(_NO_PEOPLE)
    id_number = applicant.id_number or ""
    return {
        "ChuHoSo": applicant.full_name,
        "LoaiDoiTuong": APPLICANT_KINDS[applicant.kind],
        "SoGiayToChuHoSo": id_number,
        "Email": applicant.email or "",
        "SoDienThoai": applicant.phone or "",
        "DinhDanhCHS": [
            {"LoaiDinhDanh": ID_KINDS[applicant.kind], "SoDinhDanh": id_number}
        ]
        if id_number
        else [],
    }


def _documents(components: list[SubmittedComponent]) -> list[Record]:
    return [
        {
            "TenTepDinhKem": c.name,
            "MaThanhPhanHoSo": c.code,
            "DuongDanTaiTepTin": "",
            "DuocSoHoa": 1,
            "DuocTaiSuDung": 0,
            "DuocLayTuKhoDMQG": 0,
        }
        for c in components
    ]


def _fee(amount_vnd: int, name: str = "Phí, lệ phí giải quyết thủ tục") -> Record:
    return {"TenPhiLePhi": name, "MaPhiLePhi": "", "HinhThucThu": 1, "Gia": amount_vnd}


def base_record(
    code: str,
    *,
    procedure_code: str,
    procedure_name: str,
    channel: Channel,
    receiving_agency: str,
    people: PersonalData | None,
) -> Record:
    return {
        "MaHoSo": code,
        "MaTTHC": procedure_code,
        "TenTTHC": procedure_name or procedure_code,
        "MaLinhVuc": "",
        "TenLinhVuc": "",
        "KenhThucHien": CHANNELS[channel],
        **_people_fields(people),
        "TrichYeuHoSo": procedure_name or procedure_code,
        "NgayNopHoSo": None,
        "NgayTiepNhan": None,
        "NgayHenTra": None,
        "TrangThaiHoSo": int(DossierStatus.SUBMITTED),
        "NgayTra": None,
        "HinhThuc": 0,
        "NgayKetThucXuLy": None,
        "DonViXuLy": receiving_agency,
        "NoiNopHoSo": receiving_agency,
        "NgayTuChoi": None,
        "GhiChu": "",
        "HoSoCoThanhPhanSoHoa": 0,
        "TaiKhoanDuocXacThucVoiVNeID": 0,
        "DuocThanhToanTrucTuyen": 0,
        "TaiLieuNop": [],
        "DanhSachLePhi": [],
        "DanhSachHoSoBoSung": [],
        "DanhSachGiayToKetQua": [],
    }


def received_record(
    code: str, data: DossierReceivedV2, people: PersonalData | None
) -> Record:
    record = base_record(
        code,
        procedure_code=data.procedure_code,
        procedure_name=data.procedure_name,
        channel=data.channel,
        receiving_agency=data.receiving_agency_code,
        people=people,
    )
    received = portal_time(data.received_at)
    record.update(
        MaLinhVuc=data.field_code or UNFILED_FIELD[0],
        TenLinhVuc=data.field_name or UNFILED_FIELD[1],
        NgayNopHoSo=received,
        NgayTiepNhan=received,
        NgayHenTra=portal_time(data.due_at),
        TrangThaiHoSo=int(data.status),
        HinhThuc=BY_POST if data.result_delivery is ResultDelivery.POST else 0,
        DonViXuLy=data.competent_agency_code or data.receiving_agency_code,
        HoSoCoThanhPhanSoHoa=1 if data.components else 0,
        TaiLieuNop=_documents(data.components),
        DanhSachLePhi=[_fee(data.fee_vnd)] if data.fee_vnd else [],
    )
    return record


def refused_record(
    code: str, data: DossierRefusedV2, people: PersonalData | None, at: datetime
) -> Record:
    record = base_record(
        code,
        procedure_code=data.procedure_code,
        procedure_name="",
        channel=data.channel,
        receiving_agency=data.receiving_agency_code,
        people=people,
    )
    refused = portal_time(at)
    record.update(
        NgayNopHoSo=refused,
        TrangThaiHoSo=int(DossierStatus.REFUSED),
        NgayTuChoi=refused,
        GhiChu="; ".join(data.reasons),
    )
    return record


def completion_record(
    code: str,
    data: DossierCompletionRequestedV2,
    people: PersonalData | None,
    at: datetime,
) -> Record:
    record = base_record(
        code,
        procedure_code=data.procedure_code,
        procedure_name="",
        channel=data.channel,
        receiving_agency=data.receiving_agency_code,
        people=people,
    )
    record.update(
        NgayNopHoSo=portal_time(at),
        GhiChu=_completion_text(data),
    )
    return record


def _completion_text(data: DossierCompletionRequestedV2) -> str:
    missing = ", ".join(data.missing_components)
    text = f"Yêu cầu bổ sung, hoàn thiện hồ sơ: {missing}" if missing else ""
    return "; ".join(t for t in (text, data.instructions) if t)


# -- the steps ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """What a step tells the portal, before it gets the dossier's code and status."""

    text: str
    actor: str | None = None
    unit: str | None = None
    role: str = ""
    due: datetime | None = None
    fields: Record = field(default_factory=dict)
    """Record fields the event changes (besides the status)."""


def _agency(code: str | None) -> str:
    """An agency as citizens read it on the portal: its name (the code when
    the registry does not know it)."""
    if not code:
        return ""
    agency = load_registry().find(code)
    return agency.name if agency is not None else code


def _step_record(envelope: EventEnvelope[Any], step: Step, status: int) -> Record:
    unit = _agency(step.unit or envelope.agency_code)
    at = portal_time(envelope.occurred_at)
    return {
        "MaHoSo": envelope.dossier_code,
        "NguoiXuLy": step.actor or unit or SYSTEM_ACTOR,
        "ChucDanh": step.role,
        "ThoiDiemXuLy": at,
        "PhongBanXuLy": unit,
        "NoiDungXuLy": step.text,
        "TrangThai": status,
        "NgayBatDau": at,
        "NgayKetThucTheoQuyDinh": portal_time(step.due),
    }


def _routed(d: DossierRoutedV1, _r: Record) -> Step | None:
    return Step(text="", fields={"DonViXuLy": d.competent_agency_code})


def _offered(d: HandoffOfferedV1, _r: Record) -> Step:
    return Step(
        text=f"Chuyển hồ sơ đến {_agency(d.to_agency_code)} xử lý bước {d.step_no}",
        actor=d.officer,
        unit=d.from_agency_code,
        due=d.step_due_at,
    )


def _acknowledged(d: HandoffAcknowledgedV1, _r: Record) -> Step:
    return Step(
        text=f"{_agency(d.to_agency_code)} nhận hồ sơ, bước {d.step_no}",
        actor=d.officer,
        unit=d.to_agency_code,
    )


def _completed(d: StepCompletedV1, _r: Record) -> Step:
    nxt = f", chuyển tiếp {_agency(d.next_agency_code)}" if d.next_agency_code else ""
    return Step(
        text=f"Hoàn thành bước {d.step_no} ({TIMELINESS_VI[d.timeliness]}){nxt}",
        actor=d.officer,
        unit=d.to_agency_code,
        due=d.step_due_at,
    )


def _returned(d: HandoffReturnedV1, _r: Record) -> Step:
    return Step(
        text=f"Trả lại hồ sơ bước {d.step_no}: {d.reason}",
        actor=d.officer,
        unit=d.to_agency_code,
    )


def _supplement_requested(d: SupplementRequestedV1, r: Record, at: datetime) -> Step:
    wanted = ", ".join(d.requested_components)
    text = "; ".join(t for t in (wanted, d.reason) if t)
    request = {
        "NoiDungBoSung": text,
        "NgayYeuCauBoSung": portal_time(at),
        "NgayHenTraTruoc": r.get("NgayHenTra"),
        "NgayHenTraMoi": None,
    }
    return Step(
        text=f"Yêu cầu bổ sung hồ sơ: {text}" if text else "Yêu cầu bổ sung hồ sơ",
        actor=d.officer,
        fields={"DanhSachHoSoBoSung": [*r.get("DanhSachHoSoBoSung", []), request]},
    )


def _supplement_received(d: DossierSupplementReceivedV1, _r: Record) -> Step:
    return Step(text="Tiếp nhận hồ sơ bổ sung" + (f": {d.note}" if d.note else ""))


def _fee_requested(d: FeeRequestedV1, r: Record) -> Step:
    fees = [
        *r.get("DanhSachLePhi", []),
        _fee(d.amount_vnd, d.description or "Nghĩa vụ tài chính"),
    ]
    return Step(
        text=f"Yêu cầu thực hiện nghĩa vụ tài chính: {d.amount_vnd:,} đồng".replace(
            ",", "."
        ),
        actor=d.officer,
        fields={"DanhSachLePhi": fees},
    )


def _fee_paid(d: FeePaidV1, _r: Record) -> Step:
    return Step(
        text=f"Đã thực hiện nghĩa vụ tài chính: {d.amount_vnd:,} đồng".replace(
            ",", "."
        ),
        actor=d.officer,
    )


def _resumed(d: ProcessingResumedV1, r: Record) -> Step:
    fields: Record = {}
    if d.due_at is not None:
        due = portal_time(d.due_at)
        fields["NgayHenTra"] = due
        requests = [dict(x) for x in r.get("DanhSachHoSoBoSung", [])]
        if requests and requests[-1].get("NgayHenTraMoi") is None:
            requests[-1]["NgayHenTraMoi"] = due
            fields["DanhSachHoSoBoSung"] = requests
    return Step(text="Tiếp tục xử lý hồ sơ", due=d.step_due_at, fields=fields)


def _apology(d: ApologyIssuedV1, _r: Record) -> Step:
    due = portal_time(d.new_due_at)
    return Step(
        text=f"Xin lỗi và hẹn lại ngày trả kết quả ({due}): {d.reason}",
        actor=d.officer,
        fields={"NgayHenTra": due},
    )


def _stopped(d: ProcessingStoppedV1, _r: Record) -> Step:
    return Step(
        text=f"Dừng xử lý: {d.reason}", actor=d.officer, fields={"GhiChu": d.reason}
    )


def _result(d: ResultRecordedV1, _r: Record) -> Step:
    fields: Record = {
        "NgayKetThucXuLy": portal_time(d.resolved_at),
        "DanhSachGiayToKetQua": [
            {
                "TenGiayTo": d.result_summary or "Kết quả giải quyết thủ tục",
                "MaGiayToKetQua": "",
                "DuongDanTepTinKetQua": "",
            }
        ],
    }
    return Step(
        text=f"Đã có kết quả giải quyết ({TIMELINESS_VI[d.timeliness]})",
        actor=d.officer,
        fields=fields,
    )


def _delivered(d: ResultDeliveredV1, _r: Record) -> Step:
    how = DELIVERY_VI.get(d.method, d.method)
    return Step(
        text=f"Đã trả kết quả {how}",
        actor=d.officer,
        fields={"NgayTra": portal_time(d.delivered_at)},
    )


def _withdrawn(d: DossierWithdrawnV1, _r: Record) -> Step:
    return Step(
        text="Công dân rút hồ sơ" + (f": {d.reason}" if d.reason else ""),
        fields={"GhiChu": d.reason} if d.reason else {},
    )


_STEPS: Final[Mapping[type[EventData], Callable[[Any, Record], Step | None]]] = {
    DossierRoutedV1: _routed,
    HandoffOfferedV1: _offered,
    HandoffAcknowledgedV1: _acknowledged,
    StepCompletedV1: _completed,
    HandoffReturnedV1: _returned,
    DossierSupplementReceivedV1: _supplement_received,
    FeeRequestedV1: _fee_requested,
    FeePaidV1: _fee_paid,
    ProcessingResumedV1: _resumed,
    ApologyIssuedV1: _apology,
    ProcessingStoppedV1: _stopped,
    ResultRecordedV1: _result,
    ResultDeliveredV1: _delivered,
    DossierWithdrawnV1: _withdrawn,
}
"""How each event that moves a known dossier reads on the portal. Events not
here (alarms, escalations, the dispatch queue, ratings, seals) are internal."""

CREATING: Final[tuple[type[EventData], ...]] = (
    DossierReceivedV2,
    DossierRefusedV2,
    DossierCompletionRequestedV2,
)
"""Events that carry the dossier's people (sealed for the portal)."""
HANDLED: Final[tuple[type[EventData], ...]] = (
    *CREATING,
    SupplementRequestedV1,
    *_STEPS,
)
"""Every payload class the portal acts on."""


# -- one event ---------------------------------------------------------------------------


def map_event(
    envelope: EventEnvelope[Any], record: Record | None, people: PersonalData | None
) -> Mapped:
    """What ``envelope`` means for the portal, given the dossier's ``record``
    as last built (None: unknown) and, for the events in :data:`CREATING`,
    the dossier's people as the portal may see them. Raises
    :class:`IllegalTransitionError` for an act impossible from the status the
    portal was told (the portal is never told what cannot have happened)."""
    data = envelope.data
    if isinstance(data, CREATING):
        return _creating(envelope, record, people)
    if record is None:
        return Mapped(None)
    if isinstance(data, SupplementRequestedV1):
        step: Step | None = _supplement_requested(data, record, envelope.occurred_at)
    else:
        describe = _STEPS.get(type(data))
        step = describe(data, record) if describe else None
    if step is None:
        return Mapped(record)
    current = DossierStatus(record["TrangThaiHoSo"])
    status = status_after_event(current, envelope.event_type)
    action = action_of(envelope.event_type)
    if status is None:
        if action is not None:
            raise IllegalTransitionError(current, action)
        status = current
    updated = {**record, **step.fields, "TrangThaiHoSo": int(status)}
    items: list[SyncItem] = []
    if updated != record:
        items.append(SyncItem(ItemKind.DOSSIER, updated))
    if step.text:
        items.append(
            SyncItem(
                ItemKind.PROGRESS,
                _step_record(envelope, step, int(status)),
            )
        )
    return Mapped(updated, tuple(items))


def _creating(
    envelope: EventEnvelope[Any], record: Record | None, people: PersonalData | None
) -> Mapped:
    data = envelope.data
    code = envelope.dossier_code
    at = envelope.occurred_at
    if isinstance(data, DossierReceivedV2):
        built = received_record(code, data, people)
        if record is not None:  # received after a completion request (status 1)
            built["NgayNopHoSo"] = record.get("NgayNopHoSo") or built["NgayNopHoSo"]
        step = Step(text="Tiếp nhận hồ sơ, hẹn trả kết quả", due=data.due_at)
    elif isinstance(data, DossierRefusedV2):
        built = refused_record(code, data, people, at)
        step = Step(text=f"Từ chối tiếp nhận hồ sơ: {built['GhiChu']}")
    else:
        # form 02: the dossier is not received (status 1, no reception date or
        # appointment the portal could take): remembered, told with the reception
        return Mapped(completion_record(code, data, people, at))
    status = int(built["TrangThaiHoSo"])
    return Mapped(
        built,
        (
            SyncItem(ItemKind.DOSSIER, built),
            SyncItem(ItemKind.PROGRESS, _step_record(envelope, step, status)),
        ),
    )
