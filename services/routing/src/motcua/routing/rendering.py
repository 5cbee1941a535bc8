"""Printable pages (Jinja2 templates with autoescaping)."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape

from motcua.routing.views import ControlSheetOut
from motcua.shared.contracts.envelope import VN_TZ


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
