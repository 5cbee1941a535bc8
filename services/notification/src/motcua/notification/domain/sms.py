"""SMS text: brand-name style without diacritics, and segment counting.

A single SMS carries 160 GSM-7 characters or 70 UCS-2 characters; a longer
text is split into concatenated parts of 153 or 67 (the rest of each part holds
the concatenation header). Characters of the GSM-7 extension table take two
septets and an escape pair never straddles two parts. Operators bill per part,
and brand-name SMS in Vietnam is normally sent unaccented so that it stays GSM-7.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

# 3GPP TS 23.038 default alphabet (basic table) and its extension table.
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

# Letters NFD does not decompose.
_SPECIAL = str.maketrans({"đ": "d", "Đ": "D"})


class SmsEncoding(StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclass(frozen=True)
class SmsText:
    """A text ready to send and what it costs."""

    text: str
    encoding: SmsEncoding
    units: int
    """Septets (GSM-7) or UTF-16 code units (UCS-2)."""
    segments: int


class SmsTooLongError(ValueError):
    """The text needs more parts than allowed: it is never silently cut."""

    def __init__(self, segments: int, limit: int) -> None:
        super().__init__(f"Tin nhắn cần {segments} phần, vượt giới hạn {limit} phần.")
        self.segments = segments
        self.limit = limit


def strip_diacritics(text: str) -> str:
    """Vietnamese without diacritics: "Hồ sơ đã được tiếp nhận" -> "Ho so da duoc
    tiep nhan". Other scripts keep their letters (they force UCS-2)."""
    decomposed = unicodedata.normalize("NFD", text.translate(_SPECIAL))
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", kept)


def _gsm_cost(char: str) -> int | None:
    if char in _GSM_BASIC:
        return 1
    if char in _GSM_EXTENSION:
        return 2
    return None


def _parts(costs: list[int], single: int, part: int) -> int:
    """Concatenated parts needed, never splitting one character's units."""
    total = sum(costs)
    if total <= single:
        return 1 if total else 0
    parts, used = 1, 0
    for cost in costs:
        if used + cost > part:
            parts, used = parts + 1, 0
        used += cost
    return parts


def measure(text: str) -> SmsText:
    """Encoding, length in units and number of parts of ``text`` as it is."""
    gsm = [_gsm_cost(c) for c in text]
    if all(cost is not None for cost in gsm):
        costs = [c for c in gsm if c is not None]
        return SmsText(
            text, SmsEncoding.GSM7, sum(costs), _parts(costs, GSM_SINGLE, GSM_PART)
        )
    costs = [2 if ord(c) > 0xFFFF else 1 for c in text]  # surrogate pairs
    return SmsText(
        text, SmsEncoding.UCS2, sum(costs), _parts(costs, UCS2_SINGLE, UCS2_PART)
    )


def prepare_sms(text: str, *, unaccented: bool, max_segments: int) -> SmsText:
    """Normalise whitespace, drop diacritics when asked, and refuse texts longer
    than ``max_segments`` parts (:class:`SmsTooLongError`)."""
    cleaned = " ".join(text.split())
    if unaccented:
        cleaned = strip_diacritics(cleaned)
    measured = measure(cleaned)
    if measured.segments > max_segments:
        raise SmsTooLongError(measured.segments, max_segments)
    return measured
