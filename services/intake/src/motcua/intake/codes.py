"""Dossier codes ``<agency e-ID>-<yyMMdd>-<NNNN>`` (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

MAX_PER_DAY = 9999


class DailyLimitReachedError(ValueError):
    pass


def format_dossier_code(agency_code: str, day: date, sequence: int) -> str:
    if not 1 <= sequence <= MAX_PER_DAY:
        msg = f"agency {agency_code} has used all {MAX_PER_DAY} codes of {day:%Y-%m-%d}"
        raise DailyLimitReachedError(msg)
    return f"{day_prefix(agency_code, day)}{sequence:04d}"


def first_free(sequence: int, taken: Iterable[int]) -> int:
    """The first number from ``sequence`` on that no dossier holds yet.

    Codes of the agency's day can be taken outside the counter: a filing from
    the national portal keeps the portal's code (ADR 0015)."""
    held = set(taken)
    while sequence in held:
        sequence += 1
    return sequence


def day_prefix(agency_code: str, day: date) -> str:
    """What every code of the agency's day starts with."""
    return f"{agency_code}-{day:%y%m%d}-"
