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

from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from motcua.notification.domain.delivery import Outcome
from motcua.notification.providers.base import OutgoingMessage, SendResult
from motcua.shared.contracts.common import NotificationChannel

MESSAGE_ID_DOMAIN = "motcua.notification"


def message_id(message: OutgoingMessage) -> str:
    return f"<{message.idempotency_key}@{MESSAGE_ID_DOMAIN}>"


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

    async def send(self, message: OutgoingMessage) -> SendResult:
        email = build_email(message, self._sender)
        try:
            await aiosmtplib.send(
                email,
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                start_tls=self._starttls,
                use_tls=self._use_tls,
                timeout=self._timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if codes and all(400 <= c < 500 for c in codes):
                return SendResult(Outcome.TEMPORARY, detail=f"SMTP {codes[0]}")
            return SendResult(Outcome.PERMANENT, detail=f"SMTP {codes[:1]}")
        except aiosmtplib.SMTPResponseException as exc:
            if 400 <= exc.code < 500:
                return SendResult(
                    Outcome.TEMPORARY, detail=f"SMTP {exc.code}", provider_fault=True
                )
            return SendResult(Outcome.PERMANENT, detail=f"SMTP {exc.code}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return SendResult(
                Outcome.TEMPORARY, detail=type(exc).__name__, provider_fault=True
            )
        return SendResult(Outcome.DELIVERED, reference=message_id(message))

    async def aclose(self) -> None:
        return None
