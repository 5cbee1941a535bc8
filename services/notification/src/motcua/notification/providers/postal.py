"""Orders with the postal operator (modelled on VNPost's order API via LGSP).

``POST {url}/api/orders`` with a bearer token and an ``Idempotency-Key``:
order number = dossier code, item code = the waybill code from our pool,
receiver name, address, phone, province and commune. Status ``"100"`` means
accepted. Status changes come back to ``callback_url`` (signed).
``POST {url}/api/orders/{item code}/cancel`` cancels an order not yet delivered.
"""

from __future__ import annotations

from dataclasses import asdict

from motcua.notification.domain.delivery import Outcome
from motcua.notification.providers.base import CancelResult, OutgoingMessage, SendResult
from motcua.notification.providers.http_common import (
    CALL_ERRORS,
    JsonClient,
    error_detail,
    failure_from_exception,
    failure_from_response,
)
from motcua.shared.contracts.common import NotificationChannel

ACCEPTED_STATUS = "100"


class PostalProvider:
    name = "postal"
    channel = NotificationChannel.POST

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        customer_code: str,
        callback_url: str,
        timeout_s: float,
    ) -> None:
        self._client = JsonClient(
            base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout_s=timeout_s,
        )
        self._customer_code = customer_code
        self._callback_url = callback_url

    async def send(self, message: OutgoingMessage) -> SendResult:
        assert message.receiver is not None
        assert message.waybill_code
        try:
            response = await self._client.post(
                "/api/orders",
                {
                    "order_number": message.dossier_code,
                    "item_code": message.waybill_code,
                    "customer_code": self._customer_code,
                    "kind": message.order_kind,
                    "sender": {"agency_code": message.agency_code},
                    "receiver": asdict(message.receiver),
                    "cod_amount": 0,
                    "description": message.text,
                    "callback_url": self._callback_url,
                },
                headers={"Idempotency-Key": str(message.idempotency_key)},
            )
        except CALL_ERRORS as exc:
            return failure_from_exception(exc)
        if response.status_code in (200, 201):
            body = response.json()
            if str(body.get("status")) == ACCEPTED_STATUS:
                return SendResult(Outcome.ACCEPTED, reference=str(body["order_id"]))
            return SendResult(Outcome.PERMANENT, detail=f"status {body.get('status')}")
        return failure_from_response(response)

    async def cancel(self, waybill_code: str, reason: str) -> CancelResult:
        try:
            response = await self._client.post(
                f"/api/orders/{waybill_code}/cancel", {"reason": reason}
            )
        except CALL_ERRORS as exc:
            return CancelResult(False, type(exc).__name__, provider_fault=True)
        if response.status_code == 200:
            return CancelResult(True)
        fault = response.status_code >= 500 or response.status_code == 429
        return CancelResult(False, error_detail(response), provider_fault=fault)

    async def aclose(self) -> None:
        await self._client.aclose()
