"""HMAC signatures of provider callbacks (delivery receipts, postal status).

The provider sends ``X-Motcua-Timestamp`` (Unix seconds) and
``X-Motcua-Signature: sha256=<hex>`` of ``"<timestamp>.<raw body>"`` under the
secret shared with it; stale timestamps are refused so a captured callback
cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Motcua-Timestamp"
SIGNATURE_HEADER = "X-Motcua-Signature"
MAX_SKEW_S = 300


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Headers to send with ``body``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256)
    return {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: f"sha256={digest.hexdigest()}"}


def verify(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    now: float | None = None,
) -> bool:
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > MAX_SKEW_S:
        return False
    expected = sign(secret, body, int(timestamp))[SIGNATURE_HEADER]
    return hmac.compare_digest(expected, signature)
