"""Detached JWS (RFC 7515 appendix F) over canonical bytes, ES256 only.

A signature travels as ``<base64url protected header>..<base64url signature>``:
the payload (the event's canonical bytes) is left out, and the verifier puts
it back. The protected header is ``{"alg": "ES256", "kid": …}``.

Signing and verifying go straight to ``cryptography`` (joserfc made the same
calls through a registry, key guessing and header checks on every call: a
third of a verification's cost). Public keys are built once per key; a
signature that verified is remembered (bounded), so one process never checks
the same signature over the same bytes twice: a batch redone record by record,
or redelivered after a rewind, costs no second verification.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from joserfc.jwk import ECKey

from motcua.shared.signing.keys import ALGORITHM

_ECDSA = ec.ECDSA(hashes.SHA256())
_SIZE = 32
"""Bytes of r and of s in an ES256 signature (P-256)."""
_UNDERSTOOD = frozenset({"alg", "kid", "typ", "cty"})
"""Protected header members a verifier may meet; anything else (``crit``,
``b64``: RFC 7797's unencoded payload) changes what was signed: refused."""


class SignatureError(ValueError):
    """The signature is malformed or does not match."""


def _b64encode(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def _b64decode(text: str) -> bytes:
    """Strict base64url without padding: one encoding per value (as joserfc)."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        msg = f"not base64url: {exc}"
        raise SignatureError(msg) from None
    if _b64encode(raw) != text.encode():
        msg = "not canonical base64url"
        raise SignatureError(msg)
    return raw


@functools.lru_cache(maxsize=1024)
def _header_segment(kid: str) -> bytes:
    header = json.dumps({"alg": ALGORITHM, "kid": kid}, separators=(",", ":"))
    return _b64encode(header.encode())


def sign_detached(
    canonical: bytes, kid: str, private_key: ECKey | ec.EllipticCurvePrivateKey
) -> str:
    if isinstance(private_key, ECKey):
        native = private_key.private_key
        assert isinstance(native, ec.EllipticCurvePrivateKey)
        private_key = native
    header = _header_segment(kid)
    der = private_key.sign(header + b"." + _b64encode(canonical), _ECDSA)
    r, s = decode_dss_signature(der)
    signature = _b64encode(r.to_bytes(_SIZE, "big") + s.to_bytes(_SIZE, "big"))
    return f"{header.decode()}..{signature.decode()}"


@functools.lru_cache(maxsize=4096)
def _parsed_header(segment: str) -> dict[str, Any]:
    raw = _b64decode(segment)
    try:
        header = json.loads(raw)
    except ValueError as exc:
        msg = f"unreadable JWS header: {exc}"
        raise SignatureError(msg) from None
    if not isinstance(header, dict):
        msg = "JWS header is not an object"
        raise SignatureError(msg)
    return header


def _parts(signature: str) -> tuple[str, str]:
    parts = signature.split(".")
    if len(parts) != 3 or parts[1] or not parts[0] or not parts[2]:
        msg = "not a detached compact JWS"
        raise SignatureError(msg)
    return parts[0], parts[2]


def header_of(signature: str) -> dict[str, Any]:
    """The protected header of a detached JWS (not yet verified)."""
    segment, _ = _parts(signature)
    return dict(_parsed_header(segment))


@dataclass(frozen=True)
class VerifyingKey:
    """A P-256 public key, built once per JWK (:func:`public_key`)."""

    x: str
    y: str
    native: ec.EllipticCurvePublicKey = field(compare=False, hash=False)


@functools.lru_cache(maxsize=4096)
def _public(kty: str, crv: str, x: str, y: str) -> VerifyingKey:
    if kty != "EC" or crv != "P-256":
        msg = f"not an ES256 key: {kty} {crv}"
        raise SignatureError(msg)
    xb, yb = _b64decode(x), _b64decode(y)
    if len(xb) != _SIZE or len(yb) != _SIZE:
        msg = "coordinates are not 32 bytes"
        raise SignatureError(msg)
    numbers = ec.EllipticCurvePublicNumbers(
        int.from_bytes(xb, "big"), int.from_bytes(yb, "big"), ec.SECP256R1()
    )
    try:
        native = numbers.public_key()
    except ValueError as exc:  # a point off the curve
        msg = f"unusable public key: {exc}"
        raise SignatureError(msg) from None
    return VerifyingKey(x, y, native)


def public_key(jwk: Mapping[str, Any]) -> VerifyingKey:
    """The verifying key of a public JWK (built once per key); a malformed key
    (a point off the curve, say) is a :class:`SignatureError`."""
    return _public(
        str(jwk.get("kty")), str(jwk.get("crv")), str(jwk.get("x")), str(jwk.get("y"))
    )


class _Verified:
    """Signatures this process has verified: (key, signature, SHA-256 of the
    bytes), most recent last, bounded."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._seen: OrderedDict[tuple[str, str, str, bytes], None] = OrderedDict()

    def __contains__(self, item: tuple[str, str, str, bytes]) -> bool:
        if item in self._seen:
            self._seen.move_to_end(item)
            return True
        return False

    def add(self, item: tuple[str, str, str, bytes]) -> None:
        self._seen[item] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)

    def clear(self) -> None:
        self._seen.clear()


VERIFIED = _Verified(8192)


def verify_detached(signature: str, canonical: bytes, key: VerifyingKey) -> None:
    """Raises :class:`SignatureError` unless ``signature`` signs ``canonical``
    with ``key`` (ES256)."""
    segment, encoded = _parts(signature)
    remembered = (key.x, key.y, signature, hashlib.sha256(canonical).digest())
    if remembered in VERIFIED:
        return
    header = _parsed_header(segment)
    if header.get("alg") != ALGORITHM or not header.keys() <= _UNDERSTOOD:
        msg = f"signature does not verify: header {sorted(header)} alg {header.get('alg')!r}"
        raise SignatureError(msg)
    raw = _b64decode(encoded)
    if len(raw) != 2 * _SIZE:
        msg = "signature does not verify: not an ES256 signature"
        raise SignatureError(msg)
    der = encode_dss_signature(
        int.from_bytes(raw[:_SIZE], "big"), int.from_bytes(raw[_SIZE:], "big")
    )
    try:
        key.native.verify(der, segment.encode() + b"." + _b64encode(canonical), _ECDSA)
    except InvalidSignature:
        msg = "signature does not verify: BadSignatureError"
        raise SignatureError(msg) from None
    VERIFIED.add(remembered)
