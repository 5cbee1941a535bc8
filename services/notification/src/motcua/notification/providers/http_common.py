"""How HTTP answers map to delivery outcomes (SMS gateway and postal API)."""

from __future__ import annotations

import httpx

from motcua.notification.domain.delivery import Outcome
from motcua.notification.providers.base import SendResult

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def error_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    message = body.get("message") or body.get("error") or body.get("detail") or ""
    return f"HTTP {response.status_code}: {str(message)[:200]}"


def failure_from_response(response: httpx.Response) -> SendResult:
    """A non-success answer: overload and server errors are the provider's
    (retry later, count for the circuit); a refusal of the request is final for
    this recipient. A refused login is the provider's too: every message would
    fail the same way, so retrying after the operator fixes it is right."""
    detail = error_detail(response)
    if response.status_code in RETRYABLE_STATUS or response.status_code in (401, 403):
        return SendResult(Outcome.TEMPORARY, detail=detail, provider_fault=True)
    return SendResult(Outcome.PERMANENT, detail=detail)


def failure_from_exception(exc: Exception) -> SendResult:
    return SendResult(
        Outcome.TEMPORARY, detail=f"{type(exc).__name__}", provider_fault=True
    )
