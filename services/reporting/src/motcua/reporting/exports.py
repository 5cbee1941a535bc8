"""Biểu 06 as a file: the official spreadsheet layout (xlsx) and a flat CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from motcua.reporting.agencies import UNKNOWN
from motcua.reporting.bieu06 import COLUMN_KEYS, Bieu06Counts, Occurrence
from motcua.reporting.reports import Bieu06Figures, Bieu06Report, Bieu06Row, Dimension

TITLE = (
    "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH TẠI CƠ QUAN, "
    "ĐƠN VỊ TRỰC TIẾP GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"
)
FIGURE_COLUMNS = (
    "received",
    "received_online",
    "received_direct",
    "carried_over",
    "resolved",
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "in_progress",
    "in_progress_within",
    "in_progress_overdue",
)
"""Columns (3) to (13) of the form, in order."""
HEADER_ROW = 5
FIRST_DATA_ROW = 9
_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_BOLD = Font(bold=True)
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _merge(ws: Worksheet, cells: str, value: str) -> None:
    ws.merge_cells(cells)
    first = ws[cells.split(":")[0]]
    first.value = value
    first.alignment = _CENTER
    first.font = _BOLD


def _headers(ws: Worksheet) -> None:
    r1, r2, r3 = HEADER_ROW, HEADER_ROW + 1, HEADER_ROW + 2
    _merge(ws, f"A{r1}:A{r3}", "STT")
    _merge(ws, f"B{r1}:B{r3}", "Lĩnh vực, công việc giải quyết theo cấp")
    _merge(ws, f"C{r1}:F{r1}", "Số hồ sơ nhận giải quyết")
    _merge(ws, f"G{r1}:J{r1}", "Kết quả giải quyết")
    _merge(ws, f"K{r1}:M{r1}", "Số hồ sơ đang giải quyết")
    _merge(ws, f"C{r2}:C{r3}", "Tổng số")
    _merge(ws, f"D{r2}:F{r2}", "Trong đó")
    ws[f"D{r3}"] = "Số mới tiếp nhận trực tuyến"
    ws[f"E{r3}"] = "Số mới tiếp nhận trực tiếp hoặc qua dịch vụ bưu chính công ích"
    ws[f"F{r3}"] = "Số kỳ trước chuyển qua"
    _merge(ws, f"G{r2}:G{r3}", "Tổng số")
    _merge(ws, f"H{r2}:H{r3}", "Trả trước hạn")
    _merge(ws, f"I{r2}:I{r3}", "Trả đúng thời hạn")
    _merge(ws, f"J{r2}:J{r3}", "Trả quá hạn")
    _merge(ws, f"K{r2}:K{r3}", "Tổng số")
    _merge(ws, f"L{r2}:L{r3}", "Chưa đến hạn (trong hạn)")
    _merge(ws, f"M{r2}:M{r3}", "Quá hạn")
    for col in "DEF":
        ws[f"{col}{r3}"].alignment = _CENTER
        ws[f"{col}{r3}"].font = _BOLD
    for i in range(1, 14):
        cell = ws.cell(row=r3 + 1, column=i, value=f"({i})")
        cell.alignment = _CENTER
    for row in ws.iter_rows(min_row=r1, max_row=r3 + 1, max_col=13):
        for cell in row:
            cell.border = _BOX
    ws.column_dimensions["A"].width = 6
    ws.column_dimensions["B"].width = 44
    for i in range(3, 14):
        ws.column_dimensions[get_column_letter(i)].width = 13


def _row_label(report: Bieu06Report, row: Bieu06Row) -> str:
    dims = [d for d in report.group_by if d is not Dimension.LEVEL] or report.group_by
    return " / ".join(row.labels.get(d.value, UNKNOWN) for d in dims)


def _sections(report: Bieu06Report) -> Iterator[tuple[str | None, list[Bieu06Row]]]:
    """Rows grouped under their level when the report is grouped by level first."""
    if not report.group_by or report.group_by[0] is not Dimension.LEVEL:
        yield None, report.rows
        return
    current: str | None = None
    bucket: list[Bieu06Row] = []
    for row in report.rows:
        label = row.labels[Dimension.LEVEL.value]
        if bucket and label != current:
            yield current, bucket
            bucket = []
        current = label
        bucket.append(row)
    if bucket:
        yield current, bucket


def _write_figures(
    ws: Worksheet,
    row_no: int,
    stt: str,
    label: str,
    figures: Bieu06Figures,
    *,
    bold: bool,
) -> None:
    values = [stt, label, *(getattr(figures, c) for c in FIGURE_COLUMNS)]
    for col, value in enumerate(values, start=1):
        cell = ws.cell(row=row_no, column=col, value=value)
        cell.border = _BOX
        if bold:
            cell.font = _BOLD


def _sum(rows: list[Bieu06Row]) -> Bieu06Figures:
    counted = [n for n, f in Bieu06Figures.model_fields.items() if f.annotation is int]
    data: dict[str, object] = {
        c: sum(getattr(r.figures, c) for r in rows) for c in counted
    }
    counts = Bieu06Counts(**{k: data[k] for k in COLUMN_KEYS})  # type: ignore[arg-type]
    data["on_time_rate"] = counts.on_time_rate
    data["invariant_ok"] = counts.invariant_ok
    return Bieu06Figures.model_validate(data)


_ROMAN = ("I", "II", "III", "IV", "V", "VI")


def bieu06_xlsx(report: Bieu06Report, *, unit: str) -> bytes:
    """The form as TT 01/2020 lays it out, plus a checks sheet."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Biểu 06"
    ws["A1"] = f"Đơn vị báo cáo: {unit}"
    ws["K1"] = "Biểu số 06/VPCP/KSTT"
    ws["K1"].font = _BOLD
    _merge(ws, "A2:M2", TITLE)
    first, last = report.period.first_day, report.period.last_day
    ws.merge_cells("A3:M3")
    ws["A3"] = (
        f"Kỳ báo cáo: {report.period.label} "
        f"(từ ngày {first:%d/%m/%Y} đến ngày {last:%d/%m/%Y})"
    )
    ws["A3"].alignment = _CENTER
    ws["A4"] = "Đơn vị tính: Số hồ sơ thủ tục hành chính."
    _headers(ws)
    row_no = FIRST_DATA_ROW
    for s, (section, rows) in enumerate(_sections(report)):
        if section is not None:
            roman = _ROMAN[s] if s < len(_ROMAN) else str(s + 1)
            _write_figures(ws, row_no, roman, section, _sum(rows), bold=True)
            row_no += 1
        for i, row in enumerate(rows, start=1):
            _write_figures(
                ws, row_no, str(i), _row_label(report, row), row.figures, bold=False
            )
            row_no += 1
    _write_figures(ws, row_no, "", "Tổng cộng", report.total, bold=True)
    _checks_sheet(wb, report)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _checks_sheet(wb: Workbook, report: Bieu06Report) -> None:
    ws = wb.create_sheet("Kiểm tra")
    header = [
        "Nhóm",
        "(3) Nhận giải quyết",
        "(7) + (11)",
        "Khớp (3) = (7) + (11)",
        "Tỷ lệ đúng hạn (%)",
        *(kind.label_vi for kind in Occurrence),
    ]
    ws.append(header)
    for cell in ws[1]:
        cell.font = _BOLD
    lines = [(" / ".join(r.labels.values()), r.figures) for r in report.rows]
    lines.append(("Tổng cộng", report.total))
    for label, f in lines:
        ws.append(
            [
                label,
                f.received,
                f.resolved + f.in_progress,
                "Đúng" if f.invariant_ok else "Sai",
                f.on_time_rate,
                *(getattr(f, kind.value) for kind in Occurrence),
            ]
        )
    ws.column_dimensions["A"].width = 44


def bieu06_csv(report: Bieu06Report) -> str:
    """One line per group: keys, names, and every figure (machine-readable)."""
    out = io.StringIO()
    dims = [d.value for d in report.group_by]
    figure_names = list(Bieu06Figures.model_fields)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "period_first_day",
            "period_last_day",
            *dims,
            *(f"{d}_name" for d in dims),
            *figure_names,
        ]
    )
    period = (report.period.first_day.isoformat(), report.period.last_day.isoformat())
    for row in report.rows:
        writer.writerow(
            [
                *period,
                *(row.keys.get(d) or "" for d in dims),
                *(row.labels.get(d, "") for d in dims),
                *(_csv_value(getattr(row.figures, n)) for n in figure_names),
            ]
        )
    writer.writerow(
        [
            *period,
            *("TOTAL" for _ in dims),
            *("Tổng cộng" for _ in dims),
            *(_csv_value(getattr(report.total, n)) for n in figure_names),
        ]
    )
    return out.getvalue()


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
