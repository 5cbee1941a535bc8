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
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785

SIGNATURE_FIELD = "signature"
CHAIN_FIELD = "chain"


class NotAnEventError(ValueError):
    """The record body is not a JSON object (it cannot be canonicalised)."""


_SORTED_COMPACT = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode

_NUMBER_LIKE = re.compile(rb"[:,\[]-?[0-9]+(?:[.eE]|[0-9]{15})")
"""Where the standard library's output may differ from RFC 8785 in a number:
any float (Python's ``repr`` is not ECMAScript's Number::toString) and any
integer of 16 digits or more (RFC 8785 refuses those beyond 2**53 - 1). In
compact output a number inside an object or array follows ``":``, ``,`` or
``[``; see :func:`_numbers_to_check`."""
_COLON, _QUOTE = ord(":"), ord('"')


def _numbers_to_check(raw: bytes) -> bool:
    """Whether ``raw`` may hold a float or a large integer. A member's value
    follows the closing quote of its name, so ``:`` after anything else is
    inside a string (the ``10:13:36.123`` of every timestamp); a string that
    still looks like a number merely takes the slow path."""
    for found in _NUMBER_LIKE.finditer(raw):
        at = found.start()
        if raw[at] != _COLON or raw[at - 1] == _QUOTE:
            return True
    return False


_HIGH_CHARACTERS = re.compile(rb"[\xee-\xf4]")
"""UTF-8 lead bytes of U+E000 and above: Python sorts keys by code point,
RFC 8785 by UTF-16 code unit, and the two orders differ only between a
character in U+E000..U+FFFF and one beyond U+FFFF."""


def jcs(value: Any) -> bytes:
    """RFC 8785 (JSON Canonicalization Scheme) bytes of a JSON value (as
    ``json.loads`` or ``model_dump(mode="json")`` give it: string keys).

    The standard library's C encoder writes exactly RFC 8785 for objects with
    sorted keys, strings, integers of safe size, booleans and null (the same
    escapes, lowercase ``\\u00xx``, UTF-8 as is), two to three times faster
    than the reference implementation ``rfc8785``; the reference writes what
    the fast path cannot vouch for (floats, large integers, characters beyond
    U+DFFF, lone surrogates) and raises what it raises. A property test holds
    the two byte for byte equal (``shared/tests/test_canonical.py``)."""
    if not isinstance(value, (dict, list)):  # a lone scalar: rare, and cheap
        return rfc8785.dumps(value)
    try:
        raw = _SORTED_COMPACT(value).encode()
    except (TypeError, ValueError, RecursionError):  # UnicodeEncodeError too
        return rfc8785.dumps(value)
    if _numbers_to_check(raw) or _HIGH_CHARACTERS.search(raw):
        return rfc8785.dumps(value)
    return raw


_SAFE_INTEGER = 2**53


def _number(text: str) -> float | int:
    value = float(text)
    if value.is_integer() and -_SAFE_INTEGER < value < _SAFE_INTEGER:
        return int(value)
    return value


def parse_json(raw: bytes | str) -> Any:
    """``json.loads``, with numbers that have an integer value as ``int``
    (``8.0`` as ``8``): the same JSON number, the same RFC 8785 bytes (``8``),
    and the canonical bytes of the record then take :func:`jcs`'s fast path
    (the allotted hours of every step are written ``8.0``). Models declaring
    a ``float`` read them back as floats."""
    if isinstance(raw, bytes | bytearray):  # as json.loads decodes bytes
        raw = raw.decode(json.detect_encoding(raw), "surrogatepass")
    elif raw.startswith("\ufeff"):
        msg = "Unexpected UTF-8 BOM (decode using utf-8-sig)"
        raise json.JSONDecodeError(msg, raw, 0)
    return _DECODER.decode(raw)


_DECODER = json.JSONDecoder(parse_float=_number)
"""One decoder: ``json.loads(raw, parse_float=…)`` builds a new one per call."""


def canonical_bytes(envelope: Mapping[str, Any]) -> bytes:
    """RFC 8785 bytes of ``envelope`` without its signature."""
    unsigned = {k: v for k, v in envelope.items() if k != SIGNATURE_FIELD}
    return jcs(unsigned)


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
        obj = parse_json(raw)
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
