"""What the simulators share: settings, signed callbacks with retries, pages."""

from __future__ import annotations

import asyncio
import html
import json
import random
from typing import Any

import httpx
import structlog
from fastapi import FastAPI
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from motcua.notification.settings import NotificationSettings
from motcua.notification.signing import sign

log = structlog.get_logger(__name__)


class SimulatorSettings(BaseSettings):
    """Behaviour of the simulators (prefix ``MOTCUA_SIMULATOR_``)."""

    model_config = SettingsConfigDict(env_prefix="MOTCUA_SIMULATOR_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="Bind address.")
    fail_rate: float = Field(
        default=0.0, ge=0, le=1, description="Fraction of requests answered 503."
    )
    delivery_failure_rate: float = Field(
        default=0.0, ge=0, le=1, description="Fraction of SMS receipts `failed`."
    )
    receipt_delay_s: float = Field(
        default=0.2, ge=0, description="Delay before the SMS delivery receipt."
    )
    accept_delay_s: float = Field(
        default=0.0, ge=0, description="Time the gateway takes to answer a send."
    )
    postal_accept_delay_s: float = Field(
        default=0.5, ge=0, description="Delay before the postal `accepted` callback."
    )
    postal_deliver_delay_s: float = Field(
        default=2.0,
        ge=0,
        description="Delay before the postal `delivered` callback.",
    )
    postal_auto_deliver: bool = Field(
        default=True,
        description="Deliver orders on their own; false: only through /api/orders/{code}/status.",
    )


class Control(BaseModel):
    """``POST /api/control``: change behaviour at run time (tests, demos)."""

    outage: bool | None = None
    fail_rate: float | None = Field(default=None, ge=0, le=1)
    fail_next: int | None = Field(default=None, ge=0)
    reject: list[str] | None = Field(
        default=None, description="Recipients refused as invalid (permanent)."
    )
    receipt_status: str | None = Field(
        default=None,
        description="Force the SMS receipt status (delivered/failed/expired).",
    )
    accept_delay_s: float | None = Field(default=None, ge=0)
    auto_deliver: bool | None = None


class Behaviour:
    """Failure injection shared by the simulators."""

    def __init__(self, settings: SimulatorSettings) -> None:
        self.outage = False
        self.fail_rate = settings.fail_rate
        self.fail_next = 0
        self.reject: set[str] = set()
        self.receipt_status: str | None = None
        self.accept_delay_s = settings.accept_delay_s
        self.auto_deliver = settings.postal_auto_deliver
        self.requests = 0

    def apply(self, control: Control) -> dict[str, Any]:
        for name, value in control.model_dump(exclude_none=True).items():
            setattr(self, name, set(value) if name == "reject" else value)
        return self.describe()

    def describe(self) -> dict[str, Any]:
        return {
            "outage": self.outage,
            "fail_rate": self.fail_rate,
            "fail_next": self.fail_next,
            "reject": sorted(self.reject),
            "receipt_status": self.receipt_status,
            "accept_delay_s": self.accept_delay_s,
            "auto_deliver": self.auto_deliver,
            "requests": self.requests,
        }

    def should_fail(self) -> bool:
        """True when this request is to be answered 503."""
        self.requests += 1
        if self.outage:
            return True
        if self.fail_next > 0:
            self.fail_next -= 1
            return True
        return random.random() < self.fail_rate


def add_operations_routes(app: FastAPI, behaviour: Behaviour) -> None:
    """``POST /api/control`` (failure injection) and ``GET /healthz``."""

    @app.post("/api/control")
    async def control(body: Control) -> dict[str, Any]:
        return behaviour.apply(body)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}


def secrets() -> tuple[str, str, str, str]:
    """(SMS callback secret, postal callback secret, SMS password, postal
    token): read from the notification service's own variables, so both
    sides agree without more configuration."""
    s = NotificationSettings()
    return (
        s.sms_callback_secret.get_secret_value(),
        s.postal_callback_secret.get_secret_value(),
        s.sms_password.get_secret_value(),
        s.postal_api_token.get_secret_value(),
    )


async def send_callback(
    client: httpx.AsyncClient, url: str, payload: dict[str, Any], secret: str
) -> bool:
    """POST a signed callback, retrying with backoff like real providers do."""
    body = json.dumps(payload).encode()
    delay = 0.2
    for _ in range(8):
        headers = {"content-type": "application/json", **sign(secret, body)}
        try:
            response = await client.post(url, content=body, headers=headers)
            if response.status_code < 300:
                return True
            if response.status_code in (400, 401, 422):
                log.warning("callback_refused", status=response.status_code)
                return False
        except httpx.HTTPError:
            pass
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)
    return False


def page(title: str, columns: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return (
        f'<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="3"><title>{html.escape(title)}</title>'
        "<style>body{font-family:sans-serif;margin:2rem}td,th{border:1px solid #ccc;"
        "padding:.3rem .5rem;text-align:left;vertical-align:top}table{border-collapse:"
        f"collapse}}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{len(rows)} mục (tự làm mới mỗi 3 giây)</p>"
        f"<table><tr>{head}</tr>{body}</table></body></html>"
    )
