"""Printable pages (Jinja2 templates with autoescaping)."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from jinja2 import Environment, PackageLoader, select_autoescape

from motcua.routing.views import AgencyRef, ControlSheetOut
from motcua.shared.contracts.envelope import VN_TZ
from motcua.shared.fonts import font_dir


def _when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(VN_TZ).strftime("%H giờ %M, ngày %d/%m/%Y")


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("motcua.routing", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    env.filters["when"] = _when
    return env


def control_sheet_html(sheet: ControlSheetOut) -> str:
    """Form 05 as a printable Vietnamese page."""
    return _environment().get_template("control_sheet.html").render(sheet=sheet)


def control_sheet_pdf(sheet: ControlSheetOut) -> bytes:
    """Form 05 as a PDF (to be signed by the receiving agency)."""
    pdf = FPDF(format="A4", orientation="landscape")
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_font("DejaVu", "", str(font_dir() / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(font_dir() / "DejaVuSans-Bold.ttf"))
    pdf.set_title(f"Phiếu kiểm soát quá trình giải quyết hồ sơ – {sheet.dossier_code}")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 13)
    pdf.multi_cell(
        0,
        7,
        "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
        align="C",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_font("DejaVu", "", 10)
    competent = sheet.competent_agency.name if sheet.competent_agency else ""
    for line in (
        f"Mã hồ sơ: {sheet.dossier_code}",
        f"Thủ tục: {sheet.procedure_name} ({sheet.procedure_code})",
        f"Nơi tiếp nhận: {sheet.receiving_agency.name}",
        f"Cơ quan giải quyết: {competent}",
        f"Tiếp nhận: {_when(sheet.received_at)}    Hẹn trả: {_when(sheet.due_at)}",
        f"Trạng thái: {sheet.status_label}",
    ):
        pdf.multi_cell(0, 5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    widths = (10, 62, 40, 62, 40, 36, 23)
    header = (
        "TT",
        "Giao",
        "Thời điểm giao",
        "Nhận",
        "Thời điểm nhận",
        "Hạn",
        "Kết quả",
    )
    pdf.set_font("DejaVu", "B", 8)
    for width, text in zip(widths, header, strict=True):
        pdf.cell(width, 6, text, border=1, align="C")
    pdf.ln()
    pdf.set_font("DejaVu", "", 8)
    for row in sheet.hand_overs:
        cells = (
            str(row.no),
            _party(row.from_agency, row.from_officer),
            _when(row.handed_over_at),
            _party(row.to_agency, row.received_by),
            _when(row.received_at),
            _when(row.due_at),
            row.timeliness_label or "",
        )
        for width, text in zip(widths, cells, strict=True):
            pdf.cell(width, 6, text[: int(width * 0.6)], border=1)
        pdf.ln()
    for note in sheet.notes:
        pdf.multi_cell(
            0, 5, f"Ghi chú: {note.text}", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
    return bytes(pdf.output())


def _party(agency: AgencyRef | None, officer: str | None) -> str:
    name = agency.name if agency else "Người nộp hồ sơ"
    return f"{name} ({officer})" if officer else name
