"""Postal operator simulator: result-return orders and their status callbacks."""

from __future__ import annotations

import asyncio
import secrets as pysecrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
from fastapi import FastAPI, Header
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from motcua.notification.simulators.common import (
    Behaviour,
    SimulatorSettings,
    add_operations_routes,
    page,
    secrets,
    send_callback,
)

FINAL = frozenset({"delivered", "returned", "cancelled"})


class Receiver(BaseModel):
    name: str = Field(min_length=1)
    address: str = Field(min_length=1)
    phone: str = ""
    province: str = ""
    commune: str = ""


class OrderIn(BaseModel):
    order_number: str = Field(min_length=1)
    item_code: str = Field(min_length=6)
    customer_code: str = ""
    kind: str | None = None
    sender: dict[str, Any] = Field(default_factory=dict)
    receiver: Receiver
    cod_amount: int = 0
    description: str = ""
    callback_url: str | None = None


class StatusIn(BaseModel):
    status: str
    note: str = ""


@dataclass
class Order:
    order_id: str
    order_number: str
    item_code: str
    kind: str | None
    receiver_name: str
    receiver_address: str
    description: str
    callback_url: str | None
    created_at: str
    status: str = "100"
    history: list[str] = field(default_factory=list)
    duplicates: int = 0


def create_postal_simulator(settings: SimulatorSettings | None = None) -> FastAPI:
    settings = settings or SimulatorSettings()
    _, callback_secret, _, token = secrets()
    behaviour = Behaviour(settings)
    orders: dict[str, Order] = {}
    by_key: dict[str, Order] = {}
    tasks: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=5) as client:
            app.state.client = client
            yield
            for task in tasks:
                task.cancel()

    app = FastAPI(title="Postal operator simulator", lifespan=lifespan)

    async def change(order: Order, status: str, note: str = "") -> None:
        if order.status in FINAL:
            return
        order.status = status
        order.history.append(f"{datetime.now(UTC).isoformat()} {status}")
        if order.callback_url:
            await send_callback(
                app.state.client,
                order.callback_url,
                {
                    "order_number": order.order_number,
                    "item_code": order.item_code,
                    "status": status,
                    "note": note,
                },
                callback_secret,
            )

    async def journey(order: Order) -> None:
        await asyncio.sleep(settings.postal_accept_delay_s)
        await change(order, "accepted", "Bưu điện đã nhận bưu gửi tại cơ quan")
        if not behaviour.auto_deliver:
            return
        await asyncio.sleep(settings.postal_deliver_delay_s)
        await change(order, "delivered", "Đã phát thành công")

    def authorised(authorization: str | None) -> bool:
        expected = f"Bearer {token}".encode()
        return authorization is not None and pysecrets.compare_digest(
            authorization.encode(), expected
        )

    @app.post("/api/orders")
    async def create_order(
        body: OrderIn,
        authorization: Annotated[str | None, Header()] = None,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> Any:
        if not authorised(authorization):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if behaviour.should_fail():
            return JSONResponse({"error": "service unavailable"}, status_code=503)
        if idempotency_key and idempotency_key in by_key:
            known = by_key[idempotency_key]
            known.duplicates += 1
            return {
                "status": "100",
                "order_id": known.order_id,
                "item_code": known.item_code,
            }
        if body.item_code in orders:
            return JSONResponse({"error": "item code already used"}, status_code=409)
        if body.receiver.address in behaviour.reject:
            return JSONResponse({"error": "address not served"}, status_code=400)
        order = Order(
            order_id=uuid.uuid4().hex[:12],
            order_number=body.order_number,
            item_code=body.item_code,
            kind=body.kind,
            receiver_name=body.receiver.name,
            receiver_address=body.receiver.address,
            description=body.description,
            callback_url=body.callback_url,
            created_at=datetime.now(UTC).isoformat(),
        )
        orders[order.item_code] = order
        if idempotency_key:
            by_key[idempotency_key] = order
        task = asyncio.create_task(journey(order))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return {
            "status": "100",
            "order_id": order.order_id,
            "item_code": order.item_code,
        }

    @app.post("/api/orders/{item_code}/cancel")
    async def cancel(
        item_code: str, authorization: Annotated[str | None, Header()] = None
    ) -> Any:
        if not authorised(authorization):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if behaviour.should_fail():
            return JSONResponse({"error": "service unavailable"}, status_code=503)
        order = orders.get(item_code)
        if order is None:
            return JSONResponse({"error": "unknown item code"}, status_code=404)
        if order.status in FINAL:
            return JSONResponse({"error": f"order is {order.status}"}, status_code=409)
        order.status = "cancelled"
        order.history.append(f"{datetime.now(UTC).isoformat()} cancelled")
        return {"status": "cancelled", "item_code": item_code}

    @app.post("/api/orders/{item_code}/status")
    async def set_status(item_code: str, body: StatusIn) -> Any:
        """Demo and test hook: move an order as the postman would."""
        order = orders.get(item_code)
        if order is None:
            return JSONResponse({"error": "unknown item code"}, status_code=404)
        await change(order, body.status, body.note)
        return asdict(order)

    @app.get("/api/orders")
    async def list_orders(order_number: str | None = None) -> list[dict[str, Any]]:
        return [
            asdict(o)
            for o in orders.values()
            if order_number is None or o.order_number == order_number
        ]

    add_operations_routes(app, behaviour)

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        return page(
            "Đơn hàng bưu chính (giả lập)",
            [
                "Tạo lúc",
                "Số đơn (mã hồ sơ)",
                "Mã vận đơn",
                "Loại",
                "Người nhận",
                "Địa chỉ",
                "Trạng thái",
            ],
            [
                [
                    o.created_at,
                    o.order_number,
                    o.item_code,
                    o.kind,
                    o.receiver_name,
                    o.receiver_address,
                    o.status,
                ]
                for o in reversed(list(orders.values()))
            ],
        )

    return app
