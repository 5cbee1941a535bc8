"""Dossier codes ``<agency e-ID>-<yyMMdd>-<NNNN>`` (pure)."""

from __future__ import annotations

from datetime import date

MAX_PER_DAY = 9999


class DailyLimitReachedError(ValueError):
    pass


def format_dossier_code(agency_code: str, day: date, sequence: int) -> str:
    if not 1 <= sequence <= MAX_PER_DAY:
        msg = f"agency {agency_code} has used all {MAX_PER_DAY} codes of {day:%Y-%m-%d}"
        raise DailyLimitReachedError(msg)
    return f"{agency_code}-{day:%y%m%d}-{sequence:04d}"
