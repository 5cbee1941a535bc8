"""Identifiers and contact data of applicants (pure)."""

from __future__ import annotations

from datetime import date

import pytest

from motcua.intake.applicants import (
    check_id_number,
    check_tax_code,
    national_phone,
    normalise_email,
    normalise_phone,
)


@pytest.mark.parametrize("value", ["001190012345", "079203004567", "0012 0300 4567"])
def test_valid_personal_ids(value: str) -> None:
    assert len(check_id_number(value, today=date(2026, 3, 2))) == 12


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("12345678901", "đúng 12 chữ số"),
        ("00119001234a", "đúng 12 chữ số"),
        ("003190012345", "mã tỉnh"),  # 003 is no province code
        ("001290012345", "tương lai"),  # born in 2090
    ],
)
def test_invalid_personal_ids(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_id_number(value, today=date(2026, 3, 2))


@pytest.mark.parametrize(
    "value",
    ["0912345678", "0912 345 678", "+84 912 345 678", "84912345678", "024 3825 1234"],
)
def test_vietnamese_phone_formats_are_stored_in_e164(value: str) -> None:
    assert normalise_phone(value).startswith("+84")


def test_printed_phones_are_national() -> None:
    assert national_phone(normalise_phone("+84912345678")) == "0912 345 678"


@pytest.mark.parametrize("value", ["12345", "+1 202 555 0100", "0912", "gọi tôi"])
def test_invalid_phones(value: str) -> None:
    with pytest.raises(ValueError, match="điện thoại"):
        normalise_phone(value)


def test_emails() -> None:
    assert normalise_email(" Lan@Example.VN ") == "Lan@example.vn"
    with pytest.raises(ValueError, match="thư điện tử"):
        normalise_email("lan@")


def test_tax_codes() -> None:
    assert check_tax_code("0101234567-001") == "0101234567-001"
    with pytest.raises(ValueError, match="Mã số thuế"):
        check_tax_code("12345")
