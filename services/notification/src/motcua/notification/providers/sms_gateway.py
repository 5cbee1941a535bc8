"""Brand-name SMS through an HTTP gateway.

``POST {url}/api/sms/send`` with HTTP Basic credentials and an
``Idempotency-Key`` header; the gateway answers 202 with its message id and
later calls ``callback_url`` with the delivery receipt (signed, see
:mod:`motcua.notification.signing`).
"""

from __future__ import annotations

from motcua.notification.domain.delivery import Outcome
from motcua.notification.providers.base import OutgoingMessage, SendResult
from motcua.notification.providers.http_common import (
    CALL_ERRORS,
    JsonClient,
    basic_auth,
    failure_from_exception,
    failure_from_response,
)
from motcua.shared.contracts.common import NotificationChannel


class SmsGatewayProvider:
    name = "sms-gateway"
    channel = NotificationChannel.SMS

    def __init__(
        self,
        *,
        base_url: str,
        username: str,
        password: str,
        brand_name: str,
        callback_url: str,
        timeout_s: float,
    ) -> None:
        self._client = JsonClient(
            base_url,
            headers={"Authorization": basic_auth(username, password)},
            timeout_s=timeout_s,
        )
        self._brand_name = brand_name
        self._callback_url = callback_url

    async def send(self, message: OutgoingMessage) -> SendResult:
        try:
            response = await self._client.post(
                "/api/sms/send",
                {
                    "brand_name": self._brand_name,
                    "to": message.destination,
                    "text": message.text,
                    "reference": str(message.idempotency_key),
                    "callback_url": self._callback_url,
                },
                headers={"Idempotency-Key": str(message.idempotency_key)},
            )
        except CALL_ERRORS as exc:
            return failure_from_exception(exc)
        if response.status_code in (200, 201, 202):
            return SendResult(Outcome.ACCEPTED, reference=response.json()["message_id"])
        return failure_from_response(response)

    async def aclose(self) -> None:
        await self._client.aclose()
