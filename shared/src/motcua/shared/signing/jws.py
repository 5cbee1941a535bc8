"""Detached JWS (RFC 7515 appendix F) over canonical bytes, with joserfc.

A signature travels as ``<base64url protected header>..<base64url signature>``:
the payload (the event's canonical bytes) is left out, and the verifier puts
it back. The protected header is ``{"alg": "ES256", "kid": …}``.
"""

from __future__ import annotations

import functools
import json
from base64 import urlsafe_b64decode
from collections.abc import Mapping
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from motcua.shared.signing.keys import ALGORITHM


class SignatureError(ValueError):
    """The signature is malformed or does not match."""


def sign_detached(canonical: bytes, kid: str, private_key: ECKey) -> str:
    token = jws.serialize_compact(
        {"alg": ALGORITHM, "kid": kid}, canonical, private_key, algorithms=[ALGORITHM]
    )
    header, _payload, signature = token.split(".")
    return f"{header}..{signature}"


def header_of(signature: str) -> dict[str, Any]:
    """The protected header of a detached JWS (not yet verified)."""
    parts = signature.split(".")
    if len(parts) != 3 or parts[1] or not parts[0] or not parts[2]:
        msg = "not a detached compact JWS"
        raise SignatureError(msg)
    try:
        raw = urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4))
        header = json.loads(raw)
    except ValueError as exc:
        msg = f"unreadable JWS header: {exc}"
        raise SignatureError(msg) from exc
    if not isinstance(header, dict):
        msg = "JWS header is not an object"
        raise SignatureError(msg)
    return header


@functools.lru_cache(maxsize=4096)
def _public(kty: str, crv: str, x: str, y: str) -> ECKey:
    return ECKey.import_key({"kty": kty, "crv": crv, "x": x, "y": y})


def public_key(jwk: Mapping[str, Any]) -> ECKey:
    """A joserfc key for a public JWK (imported once per key); a malformed key
    (a point off the curve, say) is a :class:`SignatureError`."""
    try:
        return _public(
            str(jwk.get("kty")),
            str(jwk.get("crv")),
            str(jwk.get("x")),
            str(jwk.get("y")),
        )
    except (JoseError, ValueError, TypeError) as exc:
        msg = f"unusable public key: {exc}"
        raise SignatureError(msg) from exc


def verify_detached(signature: str, canonical: bytes, key: ECKey) -> None:
    """Raises :class:`SignatureError` unless ``signature`` signs ``canonical``."""
    try:
        jws.deserialize_compact(
            signature, key, algorithms=[ALGORITHM], payload=canonical
        )
    except (JoseError, ValueError) as exc:
        msg = f"signature does not verify: {type(exc).__name__}"
        raise SignatureError(msg) from exc
