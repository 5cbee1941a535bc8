"""Printable forms of TT 01/2018/TT-VPCP: 01 receipt and appointment slip,
02 completion request, 03 refusal; as HTML (print CSS) and as PDF.

PDF: fpdf2 (pure Python, maintained) with DejaVu Sans subset to Latin and
Vietnamese and shipped in ``data/fonts``, so it works on a fresh machine with
only Python and pip; QR codes by segno.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from jinja2 import Environment, PackageLoader, select_autoescape

from motcua.intake.applicants import national_phone
from motcua.shared.contracts import VN_TZ
from motcua.shared.fonts import font_dir

FORM_TITLES = {
    "01": "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
    "02": "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
    "03": "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
}
_WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
_DELIVERY = {
    "desk": "Nhận trực tiếp tại Bộ phận Tiếp nhận và Trả kết quả",
    "post": "Nhận qua dịch vụ bưu chính công ích",
    "electronic": "Nhận bản điện tử (kho dữ liệu trên Cổng Dịch vụ công / VNeID)",
}


def vn_datetime(moment: datetime | None) -> str:
    """``10 giờ 05 phút, Thứ Hai ngày 02 tháng 03 năm 2026``."""
    if moment is None:
        return "—"
    local = moment.astimezone(VN_TZ)
    return (
        f"{local:%H} giờ {local:%M} phút, {_WEEKDAYS[local.weekday()]} "
        f"ngày {local:%d} tháng {local:%m} năm {local:%Y}"
    )


@dataclass(frozen=True)
class ComponentLine:
    name: str
    original: bool
    copies: int


@dataclass(frozen=True)
class FormView:
    """Everything a form shows, already in words."""

    form: str
    code: str
    agency_name: str
    agency_address: str
    province_name: str
    procedure_name: str
    applicant_name: str
    applicant_address: str
    applicant_phone: str
    applicant_email: str
    received_at: str
    due_at: str
    delivery: str
    officer: str
    lookup_url: str
    fee_vnd: int = 0
    summary: str = ""
    components: tuple[ComponentLine, ...] = ()
    missing: tuple[str, ...] = ()
    instructions: str = ""
    reasons: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return FORM_TITLES[self.form]


def build_view(
    *,
    form: str,
    record: Any,
    agency_name: str,
    agency_address: str,
    province_name: str,
    lookup_base_url: str,
) -> FormView:
    """The view of a dossier row (``DossierRecord``) for one form."""
    applicant = record.applicant or {}
    details = record.details or {}
    phone = applicant.get("phone") or ""
    return FormView(
        form=form,
        code=record.code,
        agency_name=agency_name,
        agency_address=agency_address,
        province_name=province_name,
        procedure_name=record.procedure_name or record.procedure_code,
        applicant_name=applicant.get("full_name", ""),
        applicant_address=applicant.get("address") or "",
        applicant_phone=national_phone(phone) if phone else "",
        applicant_email=applicant.get("email") or "",
        received_at=vn_datetime(record.received_at),
        due_at=vn_datetime(record.due_at),
        delivery=_DELIVERY.get(details.get("result_delivery", "desk"), ""),
        officer=record.officer or "",
        lookup_url=f"{lookup_base_url.rstrip('/')}/{record.code}",
        fee_vnd=int(details.get("fee_vnd", 0)),
        summary=details.get("summary", ""),
        components=tuple(
            ComponentLine(c["name"], bool(c.get("original")), int(c.get("copies", 1)))
            for c in details.get("components", [])
        ),
        missing=tuple(details.get("missing_components", [])),
        instructions=details.get("instructions", ""),
        reasons=tuple(details.get("reasons", [])),
    )


def qr_svg_data_uri(text: str) -> str:
    qr = segno.make(text, error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind="svg", scale=4, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def qr_png(text: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=6, border=2)
    return buffer.getvalue()


@cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("motcua.intake", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(view: FormView) -> str:
    template = _templates().get_template(f"form{view.form}.html")
    return template.render(v=view, qr=qr_svg_data_uri(view.lookup_url))


def _font_dir() -> Path:
    return font_dir()


def render_pdf(view: FormView) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_margins(18, 15, 18)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("DejaVu", "", str(_font_dir() / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(_font_dir() / "DejaVuSans-Bold.ttf"))
    pdf.set_title(f"{view.title} – {view.code}")
    pdf.add_page()
    _pdf_header(pdf, view)
    _pdf_body(pdf, view)
    return bytes(pdf.output())


def _line(pdf: FPDF, text: str, *, bold: bool = False, size: float = 11) -> None:
    pdf.set_font("DejaVu", "B" if bold else "", size)
    pdf.multi_cell(0, 6, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _pdf_header(pdf: FPDF, view: FormView) -> None:
    pdf.set_font("DejaVu", "B", 10)
    top = pdf.get_y()
    pdf.multi_cell(80, 5, view.agency_name.upper(), align="C")
    pdf.set_xy(100, top)
    pdf.multi_cell(
        92,
        5,
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc",
        align="C",
    )
    pdf.ln(4)
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(80, 5, f"Mã hồ sơ: {view.code}", align="C")
    pdf.ln(10)
    pdf.set_font("DejaVu", "B", 13)
    pdf.multi_cell(0, 7, view.title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)


def _pdf_body(pdf: FPDF, view: FormView) -> None:
    _line(pdf, f"{view.agency_name} đã tiếp nhận hồ sơ của:")
    _line(pdf, f"Ông/Bà: {view.applicant_name}", bold=True)
    if view.applicant_address:
        _line(pdf, f"Địa chỉ: {view.applicant_address}")
    contact = ", ".join(x for x in (view.applicant_phone, view.applicant_email) if x)
    if contact:
        _line(pdf, f"Liên hệ: {contact}")
    _line(pdf, f"Nội dung yêu cầu giải quyết: {view.procedure_name}")
    if view.form == "01":
        _line(pdf, "Thành phần hồ sơ:", bold=True)
        for number, item in enumerate(view.components, start=1):
            kind = "bản chính" if item.original else "bản sao"
            _line(pdf, f"  {number}. {item.name} ({kind}, {item.copies} bản)")
        _line(pdf, f"Thời gian nhận hồ sơ: {view.received_at}")
        _line(pdf, f"Thời gian trả kết quả: {view.due_at}", bold=True)
        _line(pdf, f"Hình thức nhận kết quả: {view.delivery}")
        if view.fee_vnd:
            _line(pdf, f"Phí, lệ phí: {view.fee_vnd:,} đồng".replace(",", "."))
    elif view.form == "02":
        _line(pdf, "Hồ sơ cần bổ sung, hoàn thiện các nội dung sau:", bold=True)
        for number, missing in enumerate(view.missing, start=1):
            _line(pdf, f"  {number}. {missing}")
        if view.instructions:
            _line(pdf, f"Hướng dẫn: {view.instructions}")
    else:
        _line(pdf, "Hồ sơ không được tiếp nhận vì các lý do sau:", bold=True)
        for number, reason in enumerate(view.reasons, start=1):
            _line(pdf, f"  {number}. {reason}")
    pdf.ln(4)
    top = pdf.get_y()
    pdf.set_font("DejaVu", "B", 10)
    pdf.multi_cell(80, 5, "NGƯỜI NỘP HỒ SƠ\n(Ký và ghi rõ họ tên)", align="C")
    pdf.set_xy(100, top)
    pdf.multi_cell(
        92,
        5,
        f"NGƯỜI TIẾP NHẬN HỒ SƠ\n(Ký và ghi rõ họ tên)\n\n\n\n{view.officer}",
        align="C",
    )
    pdf.ln(4)
    y = pdf.get_y()
    pdf.image(io.BytesIO(qr_png(view.lookup_url)), x=18, y=y, w=30)
    pdf.set_xy(52, y + 8)
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(
        0, 5, f"Quét mã QR hoặc truy cập {view.lookup_url} để tra cứu.", align="L"
    )
