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

_NUMBER_TAIL = rb"-?[0-9]+(?:[.eE]|[0-9]{15})"
_NUMBERS_LIKE = tuple(
    (re.compile(re.escape(before) + _NUMBER_TAIL), len(before))
    for before in (b'":', b",", b"[")
)
"""Where the standard library's output may differ from RFC 8785 in a number:
a float, or an integer of 16 digits or more (RFC 8785 refuses those beyond
2**53 - 1). In compact output a number is a member's value (after the
closing quote of its name and ``:``) or an item of an array (after ``,`` or
``[``). Each pattern starts with a literal, which the regular expression
engine finds several times faster than a set of characters; a string that
merely looks like a number (``"a\\":8.0,"``) costs a slower path, never other
bytes. See :func:`_numbers_to_fix`."""
_NUMBER = re.compile(rb"-?([0-9]+)(\.[0-9]+)?([eE])?")
_REFERENCE, _INTEGRAL_FLOATS = 2, 1


def _numbers_to_fix(raw: bytes) -> int:
    """0 when every number of ``raw`` is already RFC 8785's, 1 when some may
    be integral floats, 2 when some may need the reference.

    Python writes a float as ``repr`` does; where ``repr`` uses no exponent
    (1e-4 <= |x| < 1e16) RFC 8785 (ECMAScript's Number::toString) writes the
    same shortest digits, except that an integral float drops its ``.0``
    (``8.0`` is ``8``, ``-0.0`` is ``0``). Exponents and 16 digits or more are
    the reference's."""
    found = 0
    for pattern, skip in _NUMBERS_LIKE:
        for match in pattern.finditer(raw):
            number = _NUMBER.match(raw, match.start() + skip)
            assert number is not None  # the pattern matched one there
            digits, fraction, exponent = number.groups()
            if exponent or len(digits) > 15:
                return _REFERENCE
            if fraction == b".0":
                found = _INTEGRAL_FLOATS
    return found


_BELOW_U_E000 = bytes(range(0xEE))
"""Every byte but the UTF-8 lead bytes of U+E000 and above (0xEE-0xF4): what
deleting leaves is empty unless the text has such a character. Python sorts
keys by code point, RFC 8785 by UTF-16 code unit, and the two orders differ
only between a character in U+E000..U+FFFF and one beyond U+FFFF. (A C loop
over the bytes: several times faster than a regular expression's search.)"""


def jcs(value: Any) -> bytes:
    """RFC 8785 (JSON Canonicalization Scheme) bytes of a JSON value (as
    ``json.loads`` or ``model_dump(mode="json")`` give it: string keys).

    The standard library's C encoder writes exactly RFC 8785 for objects with
    sorted keys, strings, integers of safe size, booleans, null and floats
    written without an exponent (the same escapes, lowercase ``\\u00xx``,
    UTF-8 as is, the same shortest digits), two to three times faster than the
    reference implementation ``rfc8785``. Integral floats (the allotted hours
    of every step, ``8.0``) are read back as integers and written again, still
    in C. The reference writes what the fast path cannot vouch for (exponents,
    large integers, characters beyond U+DFFF, lone surrogates) and raises what
    it raises. A property test holds the two byte for byte equal
    (``shared/tests/test_canonical.py``)."""
    if not isinstance(value, (dict, list)):  # a lone scalar: rare, and cheap
        return rfc8785.dumps(value)
    try:
        raw = _SORTED_COMPACT(value).encode()
    except (TypeError, ValueError, RecursionError):  # UnicodeEncodeError too
        return rfc8785.dumps(value)
    if not raw.isascii() and raw.translate(None, _BELOW_U_E000):
        return rfc8785.dumps(value)
    fix = _numbers_to_fix(raw)
    if fix == _REFERENCE:
        return rfc8785.dumps(value)
    if fix == _INTEGRAL_FLOATS:
        # the same value with its integral floats as int (those under 2**53:
        # larger ones have 16 digits and went to the reference), in C
        return _SORTED_COMPACT(parse_json(raw)).encode()
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


def signed_body(canonical: bytes, signature: str) -> bytes:
    """The record body of a signed event: its canonical bytes (a JSON object)
    with the signature as one more member. Readers parse the body, so the
    order of its members is theirs to ignore, and removing the signature gives
    back these very bytes; no second serialisation of the envelope."""
    if not canonical.endswith(b"}") or canonical == b"{}":
        msg = "the canonical bytes of an event are a non-empty JSON object"
        raise NotAnEventError(msg)
    member = f',"{SIGNATURE_FIELD}":{json.dumps(signature)}}}'.encode()
    return canonical[:-1] + member
