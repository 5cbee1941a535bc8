"""The HTTP client of the SMS gateway and the postal API, and how their
answers map to delivery outcomes.

One aiohttp session per provider, its connections kept alive between calls.
aiohttp, not httpx: a call costs the process about a third of the CPU (0.3
against 0.9 ms measured against the SMS simulator), and every SMS and postal
order is one call.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from motcua.notification.domain.delivery import Outcome
from motcua.notification.providers.base import SendResult

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})

CALL_ERRORS: tuple[type[BaseException], ...] = (
    aiohttp.ClientError,
    asyncio.TimeoutError,
    OSError,
)
"""What a call that got no answer raises (refused, reset, timed out)."""


@dataclass(frozen=True)
class Answer:
    """A provider's HTTP answer, read in full."""

    status_code: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class JsonClient:
    """POSTs JSON to one provider. The session is opened on the first call
    (inside the running event loop) and kept until :meth:`aclose`."""

    def __init__(
        self, base_url: str, *, headers: dict[str, str], timeout_s: float
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = headers
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def post(
        self, path: str, payload: Any, headers: dict[str, str] | None = None
    ) -> Answer:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=self._timeout
            )
        async with self._session.post(
            self._base_url + path, json=payload, headers=headers
        ) as response:
            return Answer(response.status, await response.read())

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def basic_auth(username: str, password: str) -> str:
    """An ``Authorization`` header value for HTTP Basic."""
    return aiohttp.encode_basic_auth(username, password)


def error_detail(response: Answer) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    message = body.get("message") or body.get("error") or body.get("detail") or ""
    return f"HTTP {response.status_code}: {str(message)[:200]}"


def failure_from_response(response: Answer) -> SendResult:
    """A non-success answer: overload and server errors are the provider's
    (retry later, count for the circuit); a refusal of the request is final for
    this recipient. A refused login is the provider's too: every message would
    fail the same way, so retrying after the operator fixes it is right."""
    detail = error_detail(response)
    if response.status_code in RETRYABLE_STATUS or response.status_code in (401, 403):
        return SendResult(Outcome.TEMPORARY, detail=detail, provider_fault=True)
    return SendResult(Outcome.PERMANENT, detail=detail)


def failure_from_exception(exc: BaseException) -> SendResult:
    return SendResult(
        Outcome.TEMPORARY, detail=f"{type(exc).__name__}", provider_fault=True
    )
