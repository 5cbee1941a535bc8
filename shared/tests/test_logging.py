"""Personal data never reaches a log line."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from motcua.shared.logging import configure_logging, mask_value, safe_error_text


def test_personal_keys_are_masked_whatever_their_value() -> None:
    masked = mask_value(
        {
            "applicant": {"full_name": "Nguyễn Văn A", "id_number": "001203004567"},
            "address": "Thôn 3, xã Kim Long",
            "dossier_code": "000.00.12.H14-260302-0001",
        }
    )
    assert masked["applicant"] == {"full_name": "***", "id_number": "***"}
    assert masked["address"] == "***"
    assert masked["dossier_code"] == "000.00.12.H14-260302-0001"


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("gọi 0912345678 nhé", "0912345678"),
        ("call +84 912 345 678", "912 345 678"),
        ("số CCCD 001203004567", "001203004567"),
        ("mail a.b@example.vn", "a.b@example.vn"),
    ],
)
def test_personal_data_inside_free_text_is_masked(text: str, leak: str) -> None:
    assert leak not in mask_value(text)


def test_dossier_codes_and_offsets_survive_masking() -> None:
    text = "000.00.12.H14-260302-0001 offset 123456 at 2026-03-02T10:00:00+07:00"
    assert mask_value(text) == text


def test_validation_errors_are_described_without_the_input() -> None:
    from pydantic import BaseModel, Field, ValidationError

    class M(BaseModel):
        phone: str = Field(pattern=r"^x$")

    with pytest.raises(ValidationError) as info:
        M(phone="0912345678")
    assert "0912345678" not in safe_error_text(info.value)


@pytest.fixture
def restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield None
    root.handlers, root.level = handlers, level
    structlog.reset_defaults()


def test_log_lines_are_json_with_personal_data_masked(
    capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    configure_logging("test", level="INFO", json=True)
    structlog.get_logger("t").info(
        "dossier_received", phone="0912345678", note="id 001203004567"
    )
    logging.getLogger("foreign").warning("applicant phone 0987654321")
    lines = [
        json.loads(line)
        for line in capsys.readouterr().err.splitlines()
        if line.startswith("{")
    ]
    assert lines[0]["event"] == "dossier_received"
    assert lines[0]["phone"] == "***"
    text = json.dumps(lines, ensure_ascii=False)
    for leak in ("0912345678", "001203004567", "0987654321"):
        assert leak not in text


# Inputs on which a backtracking email pattern is quadratic (each start of a long
# word scanned to its end): with the look-behinds every one is read in linear
# time, so a megabyte takes a fraction of a second. A regression would not fail
# an assertion but hang for hours; the suite's timeout ends it.
ADVERSARIAL = {
    "a long word": "a" * 1_000_000,
    "a word of dots": "a." * 500_000,
    "at signs without domains": "a@" * 500_000,
    "a domain without a dot": "a@b" + "-" * 1_000_000,
    "digits": "0" * 1_000_000,
    "country codes": "+84" * 333_333,
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_masking_reads_adversarial_megabytes_in_one_pass(name: str) -> None:
    from motcua.shared.logging import _mask_text

    text = ADVERSARIAL[name] + " lan@example.vn 0912345678"
    masked = _mask_text(text, limit=len(text))
    assert masked.endswith(" ***@*** ***678")


def test_long_texts_are_cut_without_leaving_half_an_id_number() -> None:
    from motcua.shared.logging import MAX_SCANNED_CHARS

    text = "x " * (MAX_SCANNED_CHARS // 2 - 3) + "001203004567 and more"
    masked = mask_value(text)
    assert "characters cut" in masked
    assert "0012030" not in masked  # the cut ID number is dropped whole
    assert len(masked) < MAX_SCANNED_CHARS + 40
