"""SMS gateway simulator: what a brand-name SMS provider's HTTP API does."""

from __future__ import annotations

import asyncio
import json
import secrets as pysecrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Header
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, Field

from motcua.notification.domain.sms import measure
from motcua.notification.simulators.common import (
    Behaviour,
    SimulatorSettings,
    add_operations_routes,
    page,
    secrets,
    send_callback,
)

_basic = HTTPBasic(auto_error=False)


class SendIn(BaseModel):
    brand_name: str = Field(min_length=1, max_length=11)
    to: str = Field(pattern=r"^\+?\d{9,15}$")
    text: str = Field(min_length=1)
    reference: str = ""
    callback_url: str | None = None


@dataclass
class SentSms:
    message_id: str
    to: str
    brand_name: str
    text: str
    encoding: str
    segments: int
    reference: str
    idempotency_key: str | None
    received_at: str
    status: str = "accepted"
    receipts_sent: int = 0
    duplicates: int = field(default=0)


def create_sms_simulator(
    settings: SimulatorSettings | None = None, *, journal: Path | None = None
) -> FastAPI:
    """The gateway; with a ``journal`` (JSON lines) it keeps what it accepted
    across restarts, as a real gateway does, and sends the receipts it still
    owes when it starts again (``motcua up`` gives it one in the data folder)."""
    settings = settings or SimulatorSettings()
    callback_secret, _, password, _ = secrets()
    behaviour = Behaviour(settings)
    messages: list[SentSms] = []
    by_key: dict[str, SentSms] = {}
    tasks: set[asyncio.Task[None]] = set()

    def remember(entry: dict[str, Any]) -> None:
        if journal is not None:
            with journal.open("a", encoding="utf-8") as out:
                out.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def schedule(sms: SentSms, callback_url: str) -> None:
        task = asyncio.create_task(receipt(sms, callback_url))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def replay() -> None:
        """What the journal holds: the messages, and the receipts still owed."""
        if journal is None or not journal.exists():
            return
        owed: dict[str, tuple[SentSms, str]] = {}
        for line in journal.read_text("utf-8").splitlines():
            entry = json.loads(line)
            if "sms" in entry:
                sms = SentSms(**entry["sms"])
                messages.append(sms)
                if sms.idempotency_key:
                    by_key[sms.idempotency_key] = sms
                if entry.get("callback_url"):
                    owed[sms.message_id] = (sms, entry["callback_url"])
            elif "receipted" in entry:
                owed.pop(entry["receipted"], None)
        for sms, callback_url in owed.values():
            schedule(sms, callback_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if journal is not None:
            journal.parent.mkdir(parents=True, exist_ok=True)
        async with httpx.AsyncClient(timeout=5) as client:
            app.state.client = client
            replay()
            yield
            for task in tasks:
                task.cancel()

    app = FastAPI(title="SMS gateway simulator", lifespan=lifespan)

    async def receipt(sms: SentSms, callback_url: str) -> None:
        await asyncio.sleep(settings.receipt_delay_s)
        status = behaviour.receipt_status or "delivered"
        sms.status = status
        if await send_callback(
            app.state.client,
            callback_url,
            {
                "message_id": sms.message_id,
                "reference": sms.reference,
                "status": status,
            },
            callback_secret,
        ):
            sms.receipts_sent += 1
            remember({"receipted": sms.message_id})

    @app.post("/api/sms/send", status_code=202)
    async def send(
        body: SendIn,
        credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> Any:
        if credentials is None or not pysecrets.compare_digest(
            credentials.password.encode(), password.encode()
        ):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if behaviour.accept_delay_s:
            await asyncio.sleep(behaviour.accept_delay_s)
        if behaviour.should_fail():
            return JSONResponse({"error": "service unavailable"}, status_code=503)
        if idempotency_key and idempotency_key in by_key:
            known = by_key[idempotency_key]
            known.duplicates += 1  # the same message: not sent again
            return {
                "message_id": known.message_id,
                "status": known.status,
                "segments": known.segments,
            }
        if body.to in behaviour.reject:
            return JSONResponse(
                {"error": "invalid destination number"}, status_code=400
            )
        measured = measure(body.text)
        sms = SentSms(
            message_id=uuid.uuid4().hex,
            to=body.to,
            brand_name=body.brand_name,
            text=body.text,
            encoding=measured.encoding.value,
            segments=measured.segments,
            reference=body.reference,
            idempotency_key=idempotency_key,
            received_at=datetime.now(UTC).isoformat(),
        )
        messages.append(sms)
        if idempotency_key:
            by_key[idempotency_key] = sms
        remember({"sms": asdict(sms), "callback_url": body.callback_url})
        if body.callback_url:
            schedule(sms, body.callback_url)
        return {
            "message_id": sms.message_id,
            "status": "accepted",
            "segments": sms.segments,
        }

    @app.get("/api/messages")
    async def list_messages(to: str | None = None) -> list[dict[str, Any]]:
        return [asdict(m) for m in messages if to is None or m.to == to]

    @app.delete("/api/messages")
    async def clear() -> dict[str, int]:
        count = len(messages)
        messages.clear()
        by_key.clear()
        return {"cleared": count}

    add_operations_routes(app, behaviour)

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        return page(
            "Tin nhắn SMS đã nhận (giả lập)",
            [
                "Thời điểm",
                "Số nhận",
                "Thương hiệu",
                "Nội dung",
                "Mã hóa",
                "Số phần",
                "Trạng thái",
            ],
            [
                [
                    m.received_at,
                    m.to,
                    m.brand_name,
                    m.text,
                    m.encoding,
                    m.segments,
                    m.status,
                ]
                for m in reversed(messages)
            ],
        )

    return app
