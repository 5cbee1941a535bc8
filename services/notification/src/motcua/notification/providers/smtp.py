"""Email over SMTP (aiosmtplib), with the receipt or result notice attached.

SMTP has no idempotency: a server that accepted the message cannot be asked
whether it did. What narrows the double-send window:

- the ``sending`` mark is committed right before the SMTP transaction and the
  outcome right after, so only a crash inside one SMTP transaction is uncertain;
- the Message-ID is derived from the notice's idempotency key, so a resent
  copy is the *same* message to every MTA and mail client that deduplicates by
  Message-ID;
- ``email_resend_uncertain=false`` trades "maybe twice" for "maybe never, then
  fall back to the next channel".
"""

from __future__ import annotations

import base64
import secrets
from email.header import Header
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr

import aiosmtplib

from motcua.notification.domain.delivery import Outcome
from motcua.notification.providers.base import OutgoingMessage, SendResult
from motcua.shared.contracts.common import NotificationChannel

MESSAGE_ID_DOMAIN = "motcua.notification"


def message_id(message: OutgoingMessage) -> str:
    return f"<{message.idempotency_key}@{MESSAGE_ID_DOMAIN}>"


KEEP_CONNECTIONS = 4
"""Idle SMTP connections kept open (at most one per email sent at once)."""


def build_email(message: OutgoingMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.destination
    email["Subject"] = message.subject or ""
    email["Message-ID"] = message_id(message)
    email["Date"] = formatdate(localtime=True)
    email["X-Motcua-Dossier"] = message.dossier_code
    email.set_content(message.text)
    if message.attachment is not None:
        _maintype, subtype = message.attachment.content_type.split("/", 1)
        email.add_attachment(
            message.attachment.content,
            subtype=subtype,
            charset="utf-8",
            filename=message.attachment.filename,
        )
    return email


def _plain_header(value: str) -> bool:
    return value.isascii() and "\r" not in value and "\n" not in value


def _header(name: str, value: str) -> str:
    """``Name: value`` for an SMTP message: as is when short ASCII, else RFC 2047
    (UTF-8, base64), folded at 76 characters."""
    if _plain_header(value) and len(name) + len(value) + 2 <= 78:
        return f"{name}: {value}"
    return f"{name}: {Header(value, 'utf-8', header_name=name).encode(linesep=CRLF)}"


CRLF = "\r\n"


def _base64_lines(text: str) -> str:
    """A text part in canonical form (CRLF line breaks, RFC 2045), base64."""
    canonical = CRLF.join(text.splitlines()) + CRLF  # set_content ends with one too
    return base64.encodebytes(canonical.encode()).decode("ascii").replace("\n", CRLF)


def plain_sender(sender: str) -> bool:
    """An ASCII ``Name <address>`` that a mail client reads back as written."""
    name, address = parseaddr(sender)
    return (
        bool(address)
        and _plain_header(sender)
        and formataddr((name, address)) == sender
    )


def can_build_fast(message: OutgoingMessage) -> bool:
    """The address and the file name are plain ASCII (the common case); other
    messages go through :func:`build_email` and its address parsing."""
    address = message.destination
    return (
        _plain_header(address)
        and parseaddr(address)[1] == address
        and _plain_header(message.dossier_code)
        and (
            message.attachment is None
            or (
                _plain_header(message.attachment.filename)
                and len(message.attachment.filename) <= 64
                and _plain_header(message.attachment.content_type)
                and not any(c in message.attachment.filename for c in '"\\')
            )
        )
    )


def email_bytes(message: OutgoingMessage, sender: str) -> bytes:
    """The same message :func:`build_email` makes (headers, text part, optional
    attachment), written directly: ``email.message`` parses and re-folds every
    header through its policy, which costs more than the rest of the send.
    Bodies are base64, so the message is 7-bit clean for any server. Only for
    a :func:`plain_sender` and messages :func:`can_build_fast` accepts."""
    lines = [
        f"From: {sender}",
        f"To: {message.destination}",
        _header("Subject", message.subject or ""),
        f"Message-ID: {message_id(message)}",
        f"Date: {formatdate(localtime=True)}",
        f"X-Motcua-Dossier: {message.dossier_code}",
        "MIME-Version: 1.0",
    ]
    text_headers = (
        'Content-Type: text/plain; charset="utf-8"'
        + CRLF
        + "Content-Transfer-Encoding: base64"
        + CRLF
    )
    attachment = message.attachment
    if attachment is None:
        head = CRLF.join(lines) + CRLF + text_headers
        return (head + CRLF + _base64_lines(message.text)).encode("ascii")
    boundary = f"=_motcua_{secrets.token_hex(16)}"
    lines.append(f'Content-Type: multipart/mixed;{CRLF} boundary="{boundary}"')
    parts = [
        CRLF.join(lines) + CRLF + CRLF,
        f"--{boundary}{CRLF}",
        text_headers + CRLF + _base64_lines(message.text) + CRLF,
        f"--{boundary}{CRLF}",
        f'Content-Type: {attachment.content_type}; charset="utf-8"{CRLF}'
        f"Content-Transfer-Encoding: base64{CRLF}"
        f'Content-Disposition: attachment;{CRLF} filename="{attachment.filename}"{CRLF}'
        f"{CRLF}{_base64_lines(attachment.content)}{CRLF}",
        f"--{boundary}--{CRLF}",
    ]
    return "".join(parts).encode("ascii")


class SmtpProvider:
    name = "smtp"
    channel = NotificationChannel.EMAIL

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None,
        password: str | None,
        starttls: bool,
        use_tls: bool,
        timeout_s: float,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._username = username
        self._password = password
        self._starttls = starttls
        self._use_tls = use_tls
        self._timeout_s = timeout_s
        self._envelope_sender = parseaddr(sender)[1]
        self._plain_sender = plain_sender(sender)
        # Open connections are kept for the next emails: a new connection per
        # email (connect, EHLO, STARTTLS, AUTH, QUIT) costs more than the email.
        self._idle: list[aiosmtplib.SMTP] = []

    async def _connection(self) -> aiosmtplib.SMTP:
        while self._idle:
            client = self._idle.pop()
            if client.is_connected:
                return client
        client = aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            use_tls=self._use_tls,
            start_tls=self._starttls,
            timeout=self._timeout_s,
        )
        await client.connect()
        if self._username:
            await client.login(self._username, self._password or "")
        return client

    def _release(self, client: aiosmtplib.SMTP) -> None:
        if client.is_connected and len(self._idle) < KEEP_CONNECTIONS:
            self._idle.append(client)
        else:
            client.close()

    async def send(self, message: OutgoingMessage) -> SendResult:
        fast = self._plain_sender and can_build_fast(message)
        raw = email_bytes(message, self._sender) if fast else None
        email = None if fast else build_email(message, self._sender)
        client: aiosmtplib.SMTP | None = None
        try:
            client = await self._connection()
            if raw is not None:
                await client.sendmail(self._envelope_sender, [message.destination], raw)
            else:
                assert email is not None
                await client.send_message(email)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            _discard(client)
            codes = [r.code for r in exc.recipients]
            if codes and all(400 <= c < 500 for c in codes):
                return SendResult(Outcome.TEMPORARY, detail=f"SMTP {codes[0]}")
            return SendResult(Outcome.PERMANENT, detail=f"SMTP {codes[:1]}")
        except aiosmtplib.SMTPResponseException as exc:
            _discard(client)
            if 400 <= exc.code < 500:
                return SendResult(
                    Outcome.TEMPORARY, detail=f"SMTP {exc.code}", provider_fault=True
                )
            return SendResult(Outcome.PERMANENT, detail=f"SMTP {exc.code}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            _discard(client)
            return SendResult(
                Outcome.TEMPORARY, detail=type(exc).__name__, provider_fault=True
            )
        self._release(client)
        return SendResult(Outcome.DELIVERED, reference=message_id(message))

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()


def _discard(client: aiosmtplib.SMTP | None) -> None:
    """A connection that saw an error is in an unknown state: never reuse it."""
    if client is not None:
        client.close()
