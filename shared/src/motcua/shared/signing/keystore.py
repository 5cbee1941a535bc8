"""The keystore on disk: agencies' private keys, certificates and the JWKS.

Layout of a keystore folder (the development one is ``<data folder>/keys``,
created by ``motcua up`` or ``motcua keys init``; production points
``MOTCUA_SIGNING_KEYSTORE`` at a folder mounted from a secret store, never at
the repository)::

    jwks.json               every public key, current and retired (published)
    ca.pem                  the certificate that issued the agency certificates
    private/<key file>.pem  each current key's private key (mode 0600)
    private/ca.pem          the issuing key (development only)

The JWKS is the single source of public keys: verifiers load it, and
``GET /.well-known/jwks.json`` (reporting) serves it. Rotation writes a new key
and closes the old key's period (after a grace period, so processes that have
not reloaded yet still sign validly); the old public key stays in the JWKS and
its private key file is deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from joserfc.jwk import ECKey

from motcua.shared.signing.jws import sign_detached
from motcua.shared.signing.keys import Keyring, PublicKey, new_kid

JWKS_FILE = "jwks.json"
CA_FILE = "ca.pem"
PRIVATE_DIR = "private"
CERT_YEARS = 5


class KeystoreError(RuntimeError):
    """The keystore is missing, unreadable or lacks a key that is needed."""


@dataclass(frozen=True)
class AgencyName:
    code: str
    name: str


def _key_file(kid: str) -> str:
    return kid.replace("#", "_").replace("/", "_") + ".pem"


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Several processes (``motcua up`` starts four) may create or rotate at once."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _cap(text: str) -> str:
    """X.509 caps these attributes at 64 bytes; agency names run longer."""
    return text.encode()[:64].decode(errors="ignore")


def _name(common: str, org: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _cap(org)),
            x509.NameAttribute(NameOID.COMMON_NAME, _cap(common)),
        ]
    )


def _write_private(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _der_b64(cert: x509.Certificate) -> str:
    from base64 import b64encode

    return b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


class FileKeystore:
    """A keystore folder (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def jwks_path(self) -> Path:
        return self.folder / JWKS_FILE

    def exists(self) -> bool:
        return self.jwks_path.is_file()

    # -- reading ---------------------------------------------------------------

    def keyring(self) -> Keyring:
        try:
            return Keyring.from_jwks(json.loads(self.jwks_path.read_text("utf-8")))
        except FileNotFoundError as exc:
            msg = f"no keystore at {self.folder} (run `motcua keys init`)"
            raise KeystoreError(msg) from exc
        except ValueError as exc:
            msg = f"unreadable JWKS {self.jwks_path}: {exc}"
            raise KeystoreError(msg) from exc

    def private_pem(self, kid: str) -> bytes:
        """The PKCS#8 PEM of a current key, from ``private/`` or, where the
        keystore is a flat folder (a Kubernetes Secret volume), beside the JWKS."""
        for path in (
            self.folder / PRIVATE_DIR / _key_file(kid),
            self.folder / _key_file(kid),
        ):
            if path.is_file():
                return path.read_bytes()
        msg = f"no private key for {kid} in {self.folder}"
        raise KeystoreError(msg)

    def private_key(self, kid: str) -> ECKey:
        return ECKey.import_key(self.private_pem(kid))

    # -- creating and rotating ----------------------------------------------------

    def init(
        self,
        agencies: Iterable[AgencyName],
        *,
        province: str,
        now: datetime | None = None,
        valid_from: datetime | None = None,
        signing_since: datetime | None = None,
    ) -> bool:
        """Create the keystore with one key per agency; False if it existed.

        ``valid_from`` (default: now) starts the keys' validity and the
        signing era; tests that replay business times from years ago set it
        back (certificates always start now)."""
        now = now or datetime.now(UTC)
        since = valid_from or now
        with _locked(self.folder):
            if self.exists():
                return False
            ca_key = ec.generate_private_key(ec.SECP256R1())
            ca_name = _name(f"motcua development CA {province}", province)
            ca_cert = (
                x509.CertificateBuilder()
                .subject_name(ca_name)
                .issuer_name(ca_name)
                .public_key(ca_key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(days=1))
                .not_valid_after(now + timedelta(days=365 * 20))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
                .add_extension(
                    x509.KeyUsage(
                        digital_signature=True,
                        content_commitment=False,
                        key_encipherment=False,
                        data_encipherment=False,
                        key_agreement=False,
                        key_cert_sign=True,
                        crl_sign=True,
                        encipher_only=False,
                        decipher_only=False,
                    ),
                    True,
                )
                .sign(ca_key, hashes.SHA256())
            )
            _write_private(self.folder / PRIVATE_DIR / CA_FILE, ca_key)
            (self.folder / CA_FILE).write_bytes(
                ca_cert.public_bytes(serialization.Encoding.PEM)
            )
            keys = [
                self._new_key(a, now, ca_key, ca_cert, valid_from=since)
                for a in agencies
            ]
            ring = Keyring(
                keys={k.kid: k for k in keys},
                province=province,
                signing_since=signing_since or since,
            )
            self._save(ring)
        return True

    def rotate(
        self,
        agencies: Iterable[AgencyName],
        *,
        now: datetime | None = None,
        grace: timedelta = timedelta(minutes=5),
    ) -> list[tuple[str | None, str]]:
        """A new key for each agency; the old one stays valid ``grace`` longer.

        Returns (old kid, new kid) pairs.
        """
        now = now or datetime.now(UTC)
        changes: list[tuple[str | None, str]] = []
        with _locked(self.folder):
            ring = self.keyring()
            ca_key, ca_cert = self._issuer()
            keys = dict(ring.keys)
            for agency in agencies:
                old = ring.current(agency.code, now)
                fresh = self._new_key(agency, now, ca_key, ca_cert)
                keys[fresh.kid] = fresh
                if old is not None:
                    keys[old.kid] = PublicKey(
                        kid=old.kid,
                        agency_code=old.agency_code,
                        valid_from=old.valid_from,
                        valid_until=now + grace,
                        jwk=old.jwk,
                        certificates=old.certificates,
                    )
                changes.append((old.kid if old else None, fresh.kid))
            self._save(
                Keyring(
                    keys=keys, province=ring.province, signing_since=ring.signing_since
                )
            )
            for old_kid, _ in changes:
                if old_kid is not None:
                    self._retire_private(old_kid, now + grace)
        return changes

    def _issuer(self) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        try:
            key = serialization.load_pem_private_key(
                (self.folder / PRIVATE_DIR / CA_FILE).read_bytes(), password=None
            )
            cert = x509.load_pem_x509_certificate((self.folder / CA_FILE).read_bytes())
        except FileNotFoundError as exc:
            msg = f"no issuing key in {self.folder}: rotate with your CA instead"
            raise KeystoreError(msg) from exc
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key, cert

    def _new_key(
        self,
        agency: AgencyName,
        now: datetime,
        ca_key: ec.EllipticCurvePrivateKey,
        ca_cert: x509.Certificate,
        *,
        valid_from: datetime | None = None,
    ) -> PublicKey:
        key = ec.generate_private_key(ec.SECP256R1())
        kid = new_kid(agency.code, now)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(agency.name, agency.code))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=365 * CERT_YEARS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                True,
            )
            .sign(ca_key, hashes.SHA256())
        )
        _write_private(self.folder / PRIVATE_DIR / _key_file(kid), key)
        public = ECKey.import_key(
            key.public_key().public_bytes(
                serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo,
            )
        ).as_dict(private=False)
        return PublicKey(
            kid=kid,
            agency_code=agency.code,
            valid_from=valid_from or now,
            valid_until=None,
            jwk={k: public[k] for k in ("kty", "crv", "x", "y")},
            certificates=(_der_b64(cert), _der_b64(ca_cert)),
        )

    def _retire_private(self, kid: str, at: datetime) -> None:
        """The private key of a retired key goes once its grace period ends;
        until then a marker says when (``motcua keys list`` shows it)."""
        marker = self.folder / PRIVATE_DIR / (_key_file(kid) + ".retire-at")
        marker.write_text(at.isoformat())

    def purge_retired(self, now: datetime | None = None) -> list[str]:
        """Delete private keys whose grace period is over."""
        now = now or datetime.now(UTC)
        gone: list[str] = []
        for marker in (self.folder / PRIVATE_DIR).glob("*.retire-at"):
            if datetime.fromisoformat(marker.read_text().strip()) <= now:
                key_file = marker.with_name(marker.name.removesuffix(".retire-at"))
                key_file.unlink(missing_ok=True)
                marker.unlink(missing_ok=True)
                gone.append(key_file.name)
        return gone

    def _save(self, ring: Keyring) -> None:
        _atomic_write(
            self.jwks_path, json.dumps(ring.to_jwks(), ensure_ascii=False, indent=1)
        )


@dataclass
class KeyMaterial:
    """A process's view of a keystore: the keyring and the private keys it
    signs with, reloaded when ``jwks.json`` changes (after a rotation)."""

    store: FileKeystore
    check_every_s: float = 1.0
    _ring: Keyring | None = None
    _mtime: float = -1.0
    _checked: float = 0.0
    _private: dict[str, ECKey] = field(default_factory=dict)

    def keyring(self) -> Keyring:
        now = time.monotonic()
        if self._ring is None or now - self._checked >= self.check_every_s:
            self._checked = now
            try:
                mtime = self.store.jwks_path.stat().st_mtime
            except FileNotFoundError:
                mtime = -1.0
            if self._ring is None or mtime != self._mtime:
                self._ring = self.store.keyring()
                self._mtime = mtime
                self._private.clear()
        return self._ring

    def refresh(self) -> Keyring:
        """Reload now (an unknown key id may be a key rotated a moment ago)."""
        self._checked = 0.0
        self._mtime = -2.0
        return self.keyring()

    def signing_key(self, agency_code: str, at: datetime) -> tuple[str, ECKey]:
        ring = self.keyring()
        key = ring.current(agency_code, at)
        if key is None:
            msg = f"no signing key for agency {agency_code}"
            raise KeystoreError(msg)
        private = self._private.get(key.kid)
        if private is None:
            private = self._private[key.kid] = self.store.private_key(key.kid)
        return key.kid, private

    def sign(self, agency_code: str, canonical: bytes, at: datetime) -> str:
        kid, private = self.signing_key(agency_code, at)
        return sign_detached(canonical, kid, private)


def registry_agencies(registry: Any) -> list[AgencyName]:
    """Every agency of a :class:`~motcua.shared.domain.agencies.AgencyRegistry`."""
    return [AgencyName(a.code, a.name) for a in registry]


def province_of(registry: Any) -> str:
    """The registry's root agency (the province's People's Committee)."""
    roots = [a.code for a in registry if not registry.ancestors(a.code)]
    levels = {a.code: a.level for a in registry}
    provinces = [c for c in roots if str(levels[c]) == "province"]
    return str(sorted(provinces or roots)[0])
