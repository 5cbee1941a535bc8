"""What the national portal checks in what it is sent (pure): required
fields, coded values, dates ``yyyyMMddHHmmss``, and a citizen's filing.

Field lists follow the portal's sync API (``DongBoHoSoMC`` and
``CapNhatTienDoHoSoMC``, structure per QCVN 120:2019/BTTTT); the fields the
portal marks optional are not required here either. A dossier record's
required fields depend on its status: a refused filing (3) may name a
procedure the province does not have, so it needs only what identifies it,
when it was refused and why (``GhiChu``). Every problem is a short
Vietnamese phrase that names its field, so the portal's ``message`` says what
to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

PORTAL_DATE = "%Y%m%d%H%M%S"
_DATE_SHAPE = re.compile(r"^\d{14}$")
AGENCY_CODE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")

REFUSED = 3

IDENTITY = ("MaHoSo", "MaTTHC", "KenhThucHien", "SoGiayToChuHoSo", "NgayNopHoSo")
"""Every dossier record, whatever its status."""
ACCEPTED = (
    "TenTTHC",
    "MaLinhVuc",
    "TenLinhVuc",
    "LoaiDoiTuong",
    "Email",
    "SoDienThoai",
    "TrichYeuHoSo",
    "NgayTiepNhan",
    "NgayHenTra",
    "HinhThuc",
    "DonViXuLy",
    "NoiNopHoSo",
    "HoSoCoThanhPhanSoHoa",
    "TaiKhoanDuocXacThucVoiVNeID",
    "DuocThanhToanTrucTuyen",
)
"""Also required of a dossier the province received (every status but 3)."""
REFUSAL = ("NgayTuChoi", "GhiChu")
"""Also required of a refused filing (status 3): when, and why."""
MAY_BE_BLANK = frozenset({"Email", "SoDienThoai", "TrichYeuHoSo"})
"""Present, but a citizen may have no email or phone, a dossier no summary."""

DOSSIER_DATES = (
    "NgayNopHoSo",
    "NgayTiepNhan",
    "NgayHenTra",
    "NgayTra",
    "NgayKetThucXuLy",
    "NgayTuChoi",
)
DOSSIER_CODES: dict[str, frozenset[int]] = {
    "KenhThucHien": frozenset({1, 2, 3}),
    "LoaiDoiTuong": frozenset({1, 2}),
    "HinhThuc": frozenset({0, 1}),
    "TrangThaiHoSo": frozenset(range(1, 11)),
    "HoSoCoThanhPhanSoHoa": frozenset({0, 1}),
    "TaiKhoanDuocXacThucVoiVNeID": frozenset({0, 1}),
    "DuocThanhToanTrucTuyen": frozenset({0, 1}),
}
DOSSIER_LISTS = (
    "DinhDanhCHS",
    "TaiLieuNop",
    "DanhSachLePhi",
    "DanhSachHoSoBoSung",
    "DanhSachGiayToKetQua",
)

STEP_REQUIRED = ("MaHoSo", "NguoiXuLy", "ThoiDiemXuLy", "NoiDungXuLy", "TrangThai")
STEP_DATES = ("ThoiDiemXuLy", "NgayBatDau", "NgayKetThucTheoQuyDinh")
STEP_CODES = {"TrangThai": frozenset(range(1, 11))}

SUBMISSION_REQUIRED = ("MaTTHC", "MaDonViTiepNhan", "ChuHoSo", "SoGiayToChuHoSo")


def portal_date(moment: datetime) -> str:
    return moment.strftime(PORTAL_DATE)


def filing_code(agency_code: str, day: date, number: int) -> str:
    """The portal's code of a filing: ``<agency e-ID>-<yyMMdd>-<NNNN>``."""
    return f"{agency_code}-{day:%y%m%d}-{number:04d}"


def coded(value: Any) -> int | None:
    """A coded value as the portal accepts it (a number, or its digits)."""
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def dossier_problems(record: Mapping[str, Any]) -> list[str]:
    """What is wrong with one ``DongBoHoSoMC`` record (empty: nothing)."""
    status = coded(record.get("TrangThaiHoSo"))
    required = [*IDENTITY, "TrangThaiHoSo"]
    if status is not None:
        required += REFUSAL if status == REFUSED else ACCEPTED
    problems = _missing(record, required)
    problems += _bad_codes(record, DOSSIER_CODES)
    problems += _bad_dates(record, DOSSIER_DATES)
    problems += [
        f"{name}: phải là danh sách"
        for name in DOSSIER_LISTS
        if record.get(name) is not None and not _list_of_objects(record[name])
    ]
    return problems


def step_problems(step: Mapping[str, Any]) -> list[str]:
    """What is wrong with one ``CapNhatTienDoHoSoMC`` record."""
    return (
        _missing(step, STEP_REQUIRED)
        + _bad_codes(step, STEP_CODES)
        + _bad_dates(step, STEP_DATES)
    )


def submission_problems(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, Vietnamese message) for a citizen's filing on the portal."""
    problems = [
        (name, "Thông tin bắt buộc, chưa được nhập.")
        for name in SUBMISSION_REQUIRED
        if _blank(body.get(name))
    ]
    agency = body.get("MaDonViTiepNhan")
    if not _blank(agency) and not AGENCY_CODE.match(str(agency)):
        problems.append(
            ("MaDonViTiepNhan", "Mã đơn vị tiếp nhận không đúng dạng (000.00.00.H00).")
        )
    delivery = coded(body.get("HinhThuc", 0))
    if delivery not in (0, 1):
        problems.append(
            ("HinhThuc", "Chỉ nhận 0 (tại bộ phận một cửa) hoặc 1 (bưu chính).")
        )
    elif delivery == 1 and _blank(body.get("DiaChiNhanKetQua")):
        problems.append(
            ("DiaChiNhanKetQua", "Cần địa chỉ nhận kết quả khi nhận qua bưu chính.")
        )
    documents = body.get("TaiLieuNop")
    if documents is not None and not _list_of_objects(documents):
        problems.append(("TaiLieuNop", "Phải là danh sách tài liệu."))
    return problems


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _missing(record: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    return [
        f"{name}: thiếu"
        for name in names
        if name not in record
        or record[name] is None
        or (name not in MAY_BE_BLANK and _blank(record[name]))
    ]


def _bad_codes(
    record: Mapping[str, Any], codes: Mapping[str, frozenset[int]]
) -> list[str]:
    problems: list[str] = []
    for name, allowed in codes.items():
        value = record.get(name)
        if value is None or value == "":
            continue
        if coded(value) not in allowed:
            problems.append(f"{name}: giá trị {value!r} không hợp lệ")
    return problems


def _bad_dates(record: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    return [
        f"{name}: phải có dạng yyyyMMddHHmmss"
        for name in names
        if record.get(name) not in (None, "") and not _is_portal_date(record[name])
    ]


def _is_portal_date(value: Any) -> bool:
    if not isinstance(value, str) or not _DATE_SHAPE.match(value):
        return False
    year, month, day = int(value[:4]), int(value[4:6]), int(value[6:8])
    hour, minute, second = int(value[8:10]), int(value[10:12]), int(value[12:])
    try:  # (strptime costs ten times as much, on every call of a benchmark)
        datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 (fields only)
    except ValueError:
        return False
    return True


def _list_of_objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)
