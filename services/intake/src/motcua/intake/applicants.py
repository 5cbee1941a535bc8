"""Checks on applicants' identifiers and contact data (pure).

Each check returns the normalised value or raises ``ValueError`` with a
Vietnamese message, so request validation can show it per field as is.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from motcua.shared.contracts.envelope import VN_TZ

# Birth-registration province codes of the 12-digit personal ID (CCCD),
# Thông tư 59/2021/TT-BCA: the 63 provinces before the 2025 merger.
# fmt: off
_CCCD_PROVINCES = frozenset({
    "001", "002", "004", "006", "008", "010", "011", "012", "014", "015", "017", "019",
    "020", "022", "024", "025", "026", "027", "030", "031", "033", "034", "035", "036",
    "037", "038", "040", "042", "044", "045", "046", "048", "049", "051", "052", "054",
    "056", "058", "060", "062", "064", "066", "067", "068", "070", "072", "074", "075",
    "077", "079", "080", "082", "083", "084", "086", "087", "089", "091", "092", "093",
    "094", "095", "096",
})
# fmt: on
_TAX_CODE = re.compile(r"^\d{10}(-\d{3})?$")


def check_id_number(value: str, *, today: date | None = None) -> str:
    """A 12-digit personal ID: province of birth registration, a digit for sex
    and century, the last two digits of the birth year, six serial digits."""
    text = re.sub(r"\s", "", value)
    if not re.fullmatch(r"\d{12}", text):
        msg = "Số định danh cá nhân phải gồm đúng 12 chữ số."
        raise ValueError(msg)
    if text[:3] not in _CCCD_PROVINCES:
        msg = "Số định danh cá nhân có mã tỉnh nơi đăng ký khai sinh không hợp lệ."
        raise ValueError(msg)
    century = 1900 + 100 * (int(text[3]) // 2)
    birth_year = century + int(text[4:6])
    if birth_year > (today or datetime.now(VN_TZ).date()).year:
        msg = "Số định danh cá nhân có năm sinh ở tương lai."
        raise ValueError(msg)
    return text


def check_tax_code(value: str) -> str:
    """An organisation's tax code: 10 digits, or 10-3 for a branch."""
    text = value.strip()
    if not _TAX_CODE.match(text):
        msg = "Mã số thuế tổ chức gồm 10 chữ số (hoặc 10 chữ số, gạch ngang, 3 chữ số)."
        raise ValueError(msg)
    return text


def normalise_phone(value: str) -> str:
    """A Vietnamese phone number (mobile or landline, with or without +84) in
    E.164, e.g. ``+84912345678``."""
    text = value.strip()
    try:
        number = phonenumbers.parse(text, "VN")
    except phonenumbers.NumberParseException as exc:
        msg = "Số điện thoại không hợp lệ."
        raise ValueError(msg) from exc
    if number.country_code != 84 or not phonenumbers.is_valid_number(number):
        msg = "Số điện thoại không phải số Việt Nam hợp lệ (ví dụ 0912 345 678)."
        raise ValueError(msg)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def national_phone(e164: str) -> str:
    """``+84912345678`` → ``0912 345 678`` for printed forms."""
    number = phonenumbers.parse(e164, "VN")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def normalise_email(value: str) -> str:
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        msg = "Địa chỉ thư điện tử không hợp lệ."
        raise ValueError(msg) from exc
    return result.normalized
