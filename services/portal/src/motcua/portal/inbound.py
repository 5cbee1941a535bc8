"""Filings made on the national portal → intake's filing body (pure).

The portal lists the filings it holds for the province
(``LayDanhSachHoSoNopTrucTuyen``) in its own field names; intake takes them at
``POST /api/v1/portal/filings`` in motcua's (the contract in
docs/adr/0015). A filing that cannot even be read (no code, no date) or that
intake refuses is answered to the portal as a refused dossier (status 3,
the reason in ``GhiChu``), which takes it off the portal's queue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from motcua.portal.mapping import BY_POST, PORTAL_TIME, Record, base_record, portal_time
from motcua.shared.contracts.common import ApplicantKind, Channel, DossierStatus
from motcua.shared.contracts.dossier import Person, PersonalData
from motcua.shared.contracts.envelope import VN_TZ

KINDS: Final = {1: ApplicantKind.CITIZEN, 2: ApplicantKind.ORGANISATION}


class FilingUnreadableError(ValueError):
    """The filing lacks what any answer needs; the message is Vietnamese."""


def _text(filing: Record, name: str) -> str:
    value = filing.get(name)
    return value.strip() if isinstance(value, str) else ""


def submitted_at(filing: Record) -> datetime:
    """``NgayNopHoSo`` as an aware time (the same on every poll: intake's
    idempotency compares whole filings)."""
    raw = _text(filing, "NgayNopHoSo")
    try:
        return datetime.strptime(raw, PORTAL_TIME).replace(tzinfo=VN_TZ)
    except ValueError:
        raise FilingUnreadableError(
            f"Ngày nộp hồ sơ (NgayNopHoSo) không hợp lệ: «{raw[:20]}»."
        ) from None


def _kind(filing: Record) -> ApplicantKind:
    try:
        return KINDS.get(int(filing.get("LoaiDoiTuong") or 1), ApplicantKind.CITIZEN)
    except (TypeError, ValueError):
        return ApplicantKind.CITIZEN


def filing_body(filing: Record) -> dict[str, Any]:
    """Intake's filing body for one of the portal's filings. Intake checks
    the content (procedure, competence, ID number) and answers refusals."""
    code = _text(filing, "MaHoSo")
    if not code:
        raise FilingUnreadableError("Hồ sơ không có mã (MaHoSo).")
    by_post = filing.get("HinhThuc") == BY_POST
    phone = _text(filing, "SoDienThoai")
    body: dict[str, Any] = {
        "dossier_code": code,
        "submitted_at": submitted_at(filing).isoformat(),
        "procedure_code": _text(filing, "MaTTHC"),
        "receiving_agency_code": _text(filing, "MaDonViTiepNhan"),
        "channel": Channel.ONLINE.value,
        "applicant": {
            "kind": _kind(filing).value,
            "full_name": _text(filing, "ChuHoSo"),
            "id_number": _text(filing, "SoGiayToChuHoSo"),
            "phone": phone or None,
            "email": _text(filing, "Email") or None,
            "address": _text(filing, "DiaChiThuongTru") or None,
        },
        "summary": _text(filing, "TrichYeuHoSo"),
        "result_delivery": "post" if by_post else "desk",
    }
    components = [
        {"code": c["MaThanhPhanHoSo"].strip()}
        for c in filing.get("TaiLieuNop") or []
        if isinstance(c, dict) and isinstance(c.get("MaThanhPhanHoSo"), str)
    ]
    if components:
        body["components"] = components
    if by_post:
        body["postal_address"] = {
            "receiver_name": _text(filing, "ChuHoSo"),
            "address": _text(filing, "DiaChiNhanKetQua"),
            "phone": phone,
        }
    return body


def refusal_record(filing: Record, reason: str, at: datetime) -> Record:
    """``DongBoHoSoMC`` of a filing the province refuses: status 3, the
    reason in ``GhiChu``, what the filing said otherwise."""
    name = _text(filing, "ChuHoSo")
    people = PersonalData(
        applicant=Person(
            kind=_kind(filing),
            full_name=name,
            id_number=_text(filing, "SoGiayToChuHoSo") or None,
            phone=_text(filing, "SoDienThoai") or None,
            email=_text(filing, "Email") or None,
        )
        if name
        else None
    )
    agency = _text(filing, "MaDonViTiepNhan")
    record = base_record(
        _text(filing, "MaHoSo"),
        procedure_code=_text(filing, "MaTTHC"),
        procedure_name=_text(filing, "TenTTHC"),
        channel=Channel.ONLINE,
        receiving_agency=agency,
        people=people,
    )
    refused = portal_time(at)
    try:
        filed: str | None = portal_time(submitted_at(filing))
    except FilingUnreadableError:
        filed = refused
    record.update(
        NgayNopHoSo=filed,
        TrangThaiHoSo=int(DossierStatus.REFUSED),
        NgayTuChoi=refused,
        HinhThuc=BY_POST if filing.get("HinhThuc") == BY_POST else 0,
        GhiChu=reason,
    )
    return record
