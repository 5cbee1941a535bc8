"""Agencies' public signing keys: key ids, validity periods, the JWKS (pure).

A key belongs to one agency (its e-ID code) and is valid from ``valid_from``
until ``valid_until`` (open while it is the agency's current key). Rotation
gives the agency a new key and closes the old one's period; the old public key
stays published, so every signature it made stays verifiable.

The published JWKS (RFC 7517) carries, besides each key's standard members
(``kty``, ``crv``, ``x``, ``y``, ``kid``, ``alg``, ``use``, ``x5c``), the members
``agency``, ``valid_from`` and ``valid_until`` (ISO 8601), and at the top level
``province`` (whose key signs checkpoints and system events) and
``signing_since`` (events after that moment must be signed).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

ALGORITHM = "ES256"
"""ECDSA P-256 with SHA-256 (ADR 0012: verifies faster than Ed25519 here and
every PDF reader and HSM knows it, so one key signs events and printouts)."""


def _moment(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        msg = f"validity time without a time zone: {value!r}"
        raise ValueError(msg)
    return moment


@dataclass(frozen=True)
class PublicKey:
    """One agency key as published."""

    kid: str
    agency_code: str
    valid_from: datetime
    valid_until: datetime | None
    jwk: Mapping[str, Any]
    """The public JWK (kty, crv, x, y), without our extra members."""
    certificates: tuple[str, ...] = ()
    """``x5c``: base64 DER, the key's certificate first."""

    def valid_at(self, moment: datetime, tolerance: timedelta = timedelta()) -> bool:
        if moment < self.valid_from - tolerance:
            return False
        return self.valid_until is None or moment < self.valid_until + tolerance

    def to_jwk(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            **self.jwk,
            "kid": self.kid,
            "alg": ALGORITHM,
            "use": "sig",
            "agency": self.agency_code,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
        }
        if self.certificates:
            out["x5c"] = list(self.certificates)
        return out

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> PublicKey:
        valid_from = _moment(jwk.get("valid_from"))
        if valid_from is None or not jwk.get("kid") or not jwk.get("agency"):
            msg = f"JWK without kid, agency or valid_from: {jwk.get('kid')!r}"
            raise ValueError(msg)
        return cls(
            kid=str(jwk["kid"]),
            agency_code=str(jwk["agency"]),
            valid_from=valid_from,
            valid_until=_moment(jwk.get("valid_until")),
            jwk={k: jwk[k] for k in ("kty", "crv", "x", "y") if k in jwk},
            certificates=tuple(jwk.get("x5c") or ()),
        )


@dataclass(frozen=True)
class Keyring:
    """Every published key (current and retired) by key id."""

    keys: Mapping[str, PublicKey] = field(default_factory=dict)
    province: str = ""
    signing_since: datetime | None = None

    def __iter__(self) -> Iterator[PublicKey]:
        return iter(self.keys.values())

    def find(self, kid: str) -> PublicKey | None:
        return self.keys.get(kid)

    def current(self, agency_code: str, at: datetime) -> PublicKey | None:
        """The agency's key valid at ``at`` (the newest if several overlap)."""
        valid = [
            k
            for k in self.keys.values()
            if k.agency_code == agency_code and k.valid_at(at)
        ]
        return max(valid, key=lambda k: k.valid_from, default=None)

    def of_agency(self, agency_code: str) -> list[PublicKey]:
        return sorted(
            (k for k in self.keys.values() if k.agency_code == agency_code),
            key=lambda k: k.valid_from,
        )

    def to_jwks(self) -> dict[str, Any]:
        return {
            "keys": [k.to_jwk() for k in sorted(self, key=lambda k: k.kid)],
            "province": self.province,
            "signing_since": self.signing_since.isoformat()
            if self.signing_since
            else None,
        }

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any]) -> Keyring:
        keys = [PublicKey.from_jwk(k) for k in jwks.get("keys") or ()]
        return cls(
            keys={k.kid: k for k in keys},
            province=str(jwks.get("province") or ""),
            signing_since=_moment(jwks.get("signing_since")),
        )

    def merged(self, extra: Iterable[PublicKey]) -> Keyring:
        return Keyring(
            keys={**self.keys, **{k.kid: k for k in extra}},
            province=self.province,
            signing_since=self.signing_since,
        )


def new_kid(agency_code: str, created_at: datetime) -> str:
    """``<agency e-ID>#<UTC yyyymmddThhmmssZ>``: readable, unique per agency."""
    from datetime import UTC

    return f"{agency_code}#{created_at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}"
