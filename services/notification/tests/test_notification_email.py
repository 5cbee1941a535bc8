"""The SMTP message written directly is the message ``email.message`` builds:
same headers, text and attachment once parsed by a mail client. No fixtures."""

from __future__ import annotations

import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtplib.email import flatten_message

from motcua.notification.providers.base import OutgoingMessage
from motcua.notification.providers.smtp import (
    build_email,
    can_build_fast,
    email_bytes,
    plain_sender,
)
from motcua.notification.rendering import Attachment
from motcua.shared.contracts.common import NotificationChannel

SENDER = "Bo phan Mot cua <motcua@localhost>"
CODE = "000.00.12.H14-260105-0001"


def _message(**fields: Any) -> OutgoingMessage:
    values: dict[str, Any] = {
        "notice_id": uuid.uuid4(),
        "dossier_code": CODE,
        "channel": NotificationChannel.EMAIL,
        "idempotency_key": uuid.uuid4(),
        "destination": "cong.dan@example.vn",
        "text": "Kính gửi ông Nguyễn Văn Bình,\n\nHồ sơ đã được tiếp nhận.",
        "subject": f"Hồ sơ {CODE} đã được tiếp nhận",
    }
    return OutgoingMessage(**(values | fields))


def _read(raw: bytes) -> dict[str, Any]:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain", "html"))
    assert body is not None
    return {
        "headers": {
            name: str(message[name])
            for name in ("From", "To", "Subject", "Message-ID", "X-Motcua-Dossier")
        },
        "content_type": message.get_content_type(),
        "text": body.get_content(),
        "attachments": [
            (part.get_filename(), part.get_content_type(), part.get_content())
            for part in message.iter_attachments()
        ],
    }


RECEIPT = Attachment(
    f"giay-tiep-nhan-{CODE}.html",
    "text/html",
    "<h1>GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ</h1>\n" * 50,
)


@pytest.mark.parametrize("attachment", [RECEIPT, None])
@pytest.mark.parametrize(
    "subject", [f"Hồ sơ {CODE} đã được tiếp nhận", "Thong bao", "", "x" * 200]
)
@pytest.mark.parametrize(
    "text", ["Kính gửi,\n\nHồ sơ đã được tiếp nhận.", "một dòng", "y" * 2000]
)
def test_direct_message_reads_like_the_email_message_one(
    attachment: Attachment | None, subject: str, text: str
) -> None:
    message = _message(attachment=attachment, subject=subject, text=text)
    assert plain_sender(SENDER)
    assert can_build_fast(message)
    raw = email_bytes(message, SENDER)
    assert raw.isascii()
    assert all(len(line) <= 78 for line in raw.split(b"\r\n"))
    expected = _read(flatten_message(build_email(message, SENDER), cte_type="8bit"))
    assert _read(raw) == expected


@pytest.mark.parametrize(
    "fields",
    [
        {"destination": "Nguyễn <a@example.vn>"},
        {"destination": "a@example.vn\r\nBcc: b@example.vn"},
        {"dossier_code": "x\r\nBcc: b@example.vn"},
        {"attachment": Attachment('a"b.html', "text/html", "x")},
        {"attachment": Attachment("tệp.html", "text/html", "x")},
    ],
)
def test_unusual_addresses_and_names_take_the_email_message_path(
    fields: dict[str, Any],
) -> None:
    assert not can_build_fast(_message(**fields))


@pytest.mark.parametrize(
    ("sender", "plain"),
    [
        (SENDER, True),
        ("motcua@localhost", True),
        ("Bộ phận Một cửa <motcua@localhost>", False),
        ("Bo phan, Mot cua <motcua@localhost>", False),
    ],
)
def test_only_a_plain_sender_is_written_as_is(sender: str, plain: bool) -> None:
    assert plain_sender(sender) is plain


def test_a_subject_with_a_line_break_cannot_inject_headers() -> None:
    raw = email_bytes(_message(subject="Hồ sơ\r\nBcc: b@example.vn"), SENDER)
    assert b"\r\nBcc:" not in raw
