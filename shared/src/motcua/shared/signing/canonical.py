"""The bytes a signature covers and the digest that links events (pure).

An event's *canonical bytes* are the RFC 8785 (JSON Canonicalization Scheme)
serialisation of its envelope without the ``signature`` member; its *digest*
is the SHA-256 of those bytes, in hex. The digest is what the next event's
``chain.prev`` names, so it covers the previous link too: editing, removing or
reordering an event changes a digest somebody else signed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785

SIGNATURE_FIELD = "signature"
CHAIN_FIELD = "chain"


class NotAnEventError(ValueError):
    """The record body is not a JSON object (it cannot be canonicalised)."""


def canonical_bytes(envelope: Mapping[str, Any]) -> bytes:
    """RFC 8785 bytes of ``envelope`` without its signature."""
    unsigned = {k: v for k, v in envelope.items() if k != SIGNATURE_FIELD}
    return rfc8785.dumps(unsigned)


def digest_of(canonical: bytes) -> str:
    return hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True)
class SignedBody:
    """A record body split into what was signed and the signature."""

    envelope: dict[str, Any]
    """The parsed body, signature included (what the contract parser reads)."""
    canonical: bytes
    digest: str
    signature: str | None

    @property
    def chain(self) -> Mapping[str, Any] | None:
        value = self.envelope.get(CHAIN_FIELD)
        return value if isinstance(value, Mapping) else None


def split_body(raw: bytes | str) -> SignedBody:
    """Parse a record body once: the envelope, its canonical bytes, digest and
    signature. Raises :class:`NotAnEventError` for anything but a JSON object
    (or for values RFC 8785 cannot represent, such as NaN or huge integers)."""
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        msg = f"not JSON: {exc}"
        raise NotAnEventError(msg) from exc
    if not isinstance(obj, dict):
        msg = "not a JSON object"
        raise NotAnEventError(msg)
    try:
        canonical = canonical_bytes(obj)
    except (rfc8785.CanonicalizationError, ValueError, TypeError) as exc:
        msg = f"cannot be canonicalised: {exc}"
        raise NotAnEventError(msg) from exc
    signature = obj.get(SIGNATURE_FIELD)
    return SignedBody(
        envelope=obj,
        canonical=canonical,
        digest=digest_of(canonical),
        signature=signature if isinstance(signature, str) else None,
    )


def signed_body(envelope: Mapping[str, Any], signature: str) -> bytes:
    """The record body of a signed event: the envelope plus its signature."""
    return json.dumps(
        {**envelope, SIGNATURE_FIELD: signature},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
