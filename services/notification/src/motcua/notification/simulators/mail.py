"""Local SMTP server (aiosmtpd) whose mailbox can be read over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from motcua.notification.simulators.common import (
    Behaviour,
    SimulatorSettings,
    add_operations_routes,
    page,
)


@dataclass
class ReceivedMail:
    received_at: str
    mail_from: str
    to: list[str]
    subject: str
    message_id: str
    text: str
    attachments: list[dict[str, Any]]


def parse_mail(envelope: Envelope) -> ReceivedMail:
    raw = envelope.original_content or envelope.content
    data = raw if isinstance(raw, bytes) else str(raw).encode()
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain", "html"))
    attachments = [
        {
            "filename": part.get_filename(),
            "content_type": part.get_content_type(),
            "size": len(part.get_payload(decode=True) or b""),
            "content": part.get_content()
            if part.get_content_maintype() == "text"
            else None,
        }
        for part in message.iter_attachments()
    ]
    return ReceivedMail(
        received_at=datetime.now(UTC).isoformat(),
        mail_from=str(envelope.mail_from),
        to=list(envelope.rcpt_tos),
        subject=str(message.get("Subject", "")),
        message_id=str(message.get("Message-ID", "")),
        text=body.get_content() if body is not None else "",
        attachments=attachments,
    )


class MailboxHandler:
    """aiosmtpd handler: refuse what the test asks to refuse, keep the rest."""

    def __init__(self, behaviour: Behaviour, mailbox: list[ReceivedMail]) -> None:
        self.behaviour = behaviour
        self.mailbox = mailbox

    async def handle_MAIL(  # noqa: N802  (aiosmtpd's hook names)
        self,
        _server: SMTP,
        _session: Session,
        envelope: Envelope,
        address: str,
        _options: list[str],
    ) -> str:
        if self.behaviour.should_fail():
            return "421 Service not available, try again later"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(  # noqa: N802
        self,
        _server: SMTP,
        _session: Session,
        envelope: Envelope,
        address: str,
        _options: list[str],
    ) -> str:
        if address in self.behaviour.reject:
            return "550 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, _server: SMTP, _session: Session, envelope: Envelope
    ) -> str:
        if self.behaviour.accept_delay_s:
            await asyncio.sleep(self.behaviour.accept_delay_s)
        self.mailbox.append(parse_mail(envelope))
        return "250 Message accepted for delivery"


def create_mail_simulator(
    settings: SimulatorSettings | None = None, *, smtp_port: int = 2525
) -> FastAPI:
    """The mailbox HTTP app; its lifespan runs the SMTP server on ``smtp_port``."""
    settings = settings or SimulatorSettings()
    behaviour = Behaviour(settings)
    mailbox: list[ReceivedMail] = []
    handler = MailboxHandler(behaviour, mailbox)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(handler, hostname="motcua-smtp", enable_SMTPUTF8=True),
            host=settings.host,
            port=smtp_port,
        )
        try:
            yield
        finally:
            server.close()
            await server.wait_closed()

    app = FastAPI(title="SMTP mailbox simulator", lifespan=lifespan)

    @app.get("/api/messages")
    async def list_messages(to: str | None = None) -> list[dict[str, Any]]:
        return [asdict(m) for m in mailbox if to is None or to in m.to]

    @app.delete("/api/messages")
    async def clear() -> dict[str, int]:
        count = len(mailbox)
        mailbox.clear()
        return {"cleared": count}

    add_operations_routes(app, behaviour)

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        return page(
            "Hộp thư SMTP (giả lập)",
            ["Thời điểm", "Gửi tới", "Tiêu đề", "Message-ID", "Đính kèm", "Nội dung"],
            [
                [
                    m.received_at,
                    ", ".join(m.to),
                    m.subject,
                    m.message_id,
                    ", ".join(a["filename"] or "" for a in m.attachments),
                    m.text,
                ]
                for m in reversed(mailbox)
            ],
        )

    return app
