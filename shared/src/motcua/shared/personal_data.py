"""Personal data of a dossier's people, sealed per entitled service (ADR 0007).

Events on ``motcua.dossier.events`` are read by every service and by every
agency's connector, so they carry no ID number, phone, email, address or name
in clear. Intake, which collects them, seals what each entitled service needs
into the event itself: one JWE per service (RFC 7516 compact serialisation,
``dir`` + ``A256GCM``) under that service's own key, with the dossier code in
the protected header so a sealed block cannot be moved to another dossier.

===============  =================================================  ===========
service          what it can open                                   why
===============  =================================================  ===========
notification     names, phones, emails, addresses of the applicant  notices,
                 and the representative; the postal address          post
portal           everything, ID numbers included                    DVCQG sync
reporting        a keyed digest of the applicant's ID number        lookup
routing          nothing (its empty block proves intake sealed it)  origin
others           nothing, no block
===============  =================================================  ===========

A service opens an event with :meth:`PersonalDataAccess.open`: it gets the
fields it is entitled to (the others are ``None``), and the access is logged
(``personal_data_opened``: service, dossier code, purpose, field names);
a service with no entitlement gets :class:`NotEntitledError`, a block that
does not open (forged, another dossier's, unknown key) :class:`SealBrokenError`.
The AES-GCM tag authenticates too: only a holder of the service's key (intake,
and the service itself) can write a block the service accepts.

Keys: a JSON Web Key Set of symmetric keys, ``<service>-<n>`` (the highest
``n`` seals, every one opens: rotation) and ``lookup-<n>`` (the HMAC key of
the lookup digest). Production reads it from ``MOTCUA_PERSONAL_DATA_KEYS``
(the JWKS itself) or ``MOTCUA_PERSONAL_DATA_KEYS_FILE``, each service given
only its own keys (intake all of them); development creates one under the data
folder (``keys/personal-data.jwks.json``) the first time a process needs it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import structlog
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from joserfc.registry import HeaderParameter
from pydantic import BaseModel, ConfigDict, ValidationError

from motcua.shared.contracts.dossier import (
    Person,
    PersonalData,
    SealedPersonalData,
)
from motcua.shared.contracts.envelope import EventEnvelope
from motcua.shared.settings import CommonSettings

log = structlog.get_logger(__name__)


class Entitlement(BaseModel):
    model_config = ConfigDict(frozen=True)

    people: bool = False
    """Names, phones, emails and addresses of the applicant and representative,
    and the postal address."""
    id_numbers: bool = False
    id_digest: bool = False

    @property
    def fields(self) -> tuple[str, ...]:
        names = []
        if self.people:
            names += ["full_name", "phone", "email", "address", "postal_address"]
        if self.id_numbers:
            names.append("id_number")
        if self.id_digest:
            names.append("id_digest")
        return tuple(names)


ENTITLEMENTS: Final[Mapping[str, Entitlement]] = MappingProxyType(
    {
        "notification": Entitlement(people=True),
        "portal": Entitlement(people=True, id_numbers=True),
        "reporting": Entitlement(id_digest=True),
        "routing": Entitlement(),
    }
)
"""Who may open what (ADR 0007). Routing's block holds nothing: that it opens
proves the reception came from intake (only intake and routing hold the key).
Any other service gets :class:`NotEntitledError`."""


class PersonalDataError(Exception):
    """Base of the errors below; messages never contain personal data."""


class NotEntitledError(PersonalDataError):
    def __init__(self, service: str) -> None:
        super().__init__(
            f"service {service!r} is not entitled to personal data (ADR 0007); "
            f"entitled: {', '.join(sorted(ENTITLEMENTS))}"
        )


class MissingKeyError(PersonalDataError):
    """The key ring lacks a key this process needs (configuration)."""


class SealBrokenError(PersonalDataError):
    """A sealed block is missing, forged, for another dossier or under an
    unknown key: the event must not be applied."""


_REGISTRY = jwe.JWERegistry(
    header_registry={
        "dossier": HeaderParameter("Dossier code the block belongs to", "str", True)
    },
    algorithms=["dir", "A256GCM"],
)
_ALG: Final = {"alg": "dir", "enc": "A256GCM"}
LOOKUP: Final = "lookup"


# -- the key ring ---------------------------------------------------------------


@dataclass(frozen=True)
class PersonalDataKeys:
    """Symmetric keys by id ``<name>-<n>``; the highest ``n`` of a name is current."""

    keys: Mapping[str, OctKey]

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any]) -> PersonalDataKeys:
        found: dict[str, OctKey] = {}
        for entry in jwks.get("keys", []):
            kid = entry.get("kid", "")
            _split_kid(kid)  # a key without a proper id is a configuration error
            secret = str(entry.get("k", ""))
            try:
                raw = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
            except ValueError:
                raw = b""
            if entry.get("kty") != "oct" or len(raw) != 32:
                msg = f"key {kid} must be a 256-bit symmetric key (kty oct)"
                raise MissingKeyError(msg)
            found[kid] = OctKey.import_key(raw, {"kid": kid})
        return cls(MappingProxyType(found))

    @classmethod
    def generate(
        cls, names: Iterable[str] = (*ENTITLEMENTS, LOOKUP)
    ) -> PersonalDataKeys:
        return cls(
            MappingProxyType(
                {
                    f"{name}-1": OctKey.import_key(
                        secrets.token_bytes(32), {"kid": f"{name}-1"}
                    )
                    for name in names
                }
            )
        )

    def to_jwks(self) -> dict[str, Any]:
        return {
            "keys": [
                {**key.as_dict(private=True), "kid": kid}
                for kid, key in sorted(self.keys.items())
            ]
        }

    def current(self, name: str) -> tuple[str, OctKey]:
        versions = [(n, kid) for kid in self.keys if (n := _version(kid, name))]
        if not versions:
            msg = f"the personal-data key ring has no key for {name!r}"
            raise MissingKeyError(msg)
        kid = max(versions)[1]
        return kid, self.keys[kid]

    def has(self, name: str) -> bool:
        return any(_version(kid, name) for kid in self.keys)

    def lookup_key(self) -> bytes:
        return self.current(LOOKUP)[1].raw_value


def share_for(keys: PersonalDataKeys, service: str) -> PersonalDataKeys:
    """The keys a deployment gives ``service``: intake all of them (it seals for
    everyone), an entitled service its own (reporting also the lookup key),
    any other service none."""
    if service == "intake":
        return keys
    names = {service} if service in ENTITLEMENTS else set()
    if ENTITLEMENTS.get(service, Entitlement()).id_digest:
        names.add(LOOKUP)
    return PersonalDataKeys(
        MappingProxyType(
            {kid: k for kid, k in keys.keys.items() if _split_kid(kid)[0] in names}
        )
    )


def _split_kid(kid: str) -> tuple[str, int]:
    name, _, number = kid.rpartition("-")
    if not name or not number.isdigit():
        msg = f"personal-data key id {kid!r} is not <service>-<number>"
        raise MissingKeyError(msg)
    return name, int(number)


def _version(kid: str, name: str) -> int:
    found, number = _split_kid(kid)
    return number if found == name else 0


DEV_KEYS_FILE: Final = Path("keys") / "personal-data.jwks.json"


def load_keys(settings: CommonSettings) -> PersonalDataKeys:
    """The key ring this process runs with (see the module's docstring)."""
    if settings.personal_data_keys is not None:
        return PersonalDataKeys.from_jwks(
            json.loads(settings.personal_data_keys.get_secret_value())
        )
    if settings.personal_data_keys_file is not None:
        return PersonalDataKeys.from_jwks(
            json.loads(settings.personal_data_keys_file.read_text("utf-8"))
        )
    if settings.environment == "production":
        msg = (
            "MOTCUA_PERSONAL_DATA_KEYS or MOTCUA_PERSONAL_DATA_KEYS_FILE must be "
            "set in production"
        )
        raise MissingKeyError(msg)
    return ensure_dev_keys(settings.data_dir)


def ensure_dev_keys(data_dir: Path) -> PersonalDataKeys:
    """The development key ring under ``data_dir``, created on first use (by
    whichever process comes first: the file appears whole or not at all)."""
    path = data_dir / DEV_KEYS_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        temporary.write_text(json.dumps(PersonalDataKeys.generate().to_jwks()), "utf-8")
        temporary.chmod(0o600)
        try:
            os.link(temporary, path)  # fails if another process made it first
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return PersonalDataKeys.from_jwks(json.loads(path.read_text("utf-8")))


# -- sealing (intake) --------------------------------------------------------------


def normalise_id_number(id_number: str) -> str:
    return "".join(id_number.split()).upper()


def lookup_digest(lookup_key: bytes, id_number: str) -> str:
    """What the public lookup compares: HMAC-SHA256 of the normalised number."""
    digest = hmac.new(
        lookup_key, normalise_id_number(id_number).encode(), hashlib.sha256
    )
    return digest.hexdigest()


def view_for(
    entitlement: Entitlement, data: PersonalData, lookup_key: bytes | None
) -> PersonalData:
    """The part of ``data`` an entitlement covers."""

    def person(p: Person | None) -> Person | None:
        if p is None or not entitlement.people:
            return None
        return p if entitlement.id_numbers else p.model_copy(update={"id_number": None})

    digest = None
    if entitlement.id_digest and data.applicant and data.applicant.id_number:
        assert lookup_key is not None
        digest = lookup_digest(lookup_key, data.applicant.id_number)
    return PersonalData(
        applicant=person(data.applicant),
        representative=person(data.representative),
        postal_address=data.postal_address if entitlement.people else None,
        id_digest=digest,
    )


class PersonalDataSealer:
    """Intake's side: seal a dossier's people for every entitled service."""

    def __init__(self, keys: PersonalDataKeys) -> None:
        self._keys = {name: keys.current(name) for name in ENTITLEMENTS}
        self._lookup_key = keys.lookup_key()

    def seal(self, data: PersonalData, *, dossier_code: str) -> SealedPersonalData:
        sealed: dict[str, str] = {}
        for name, entitlement in ENTITLEMENTS.items():
            kid, key = self._keys[name]
            view = view_for(entitlement, data, self._lookup_key)
            sealed[name] = jwe.encrypt_compact(
                {**_ALG, "kid": kid, "dossier": dossier_code},
                view.model_dump_json(exclude_none=True),
                key,
                registry=_REGISTRY,
            )
        return sealed


# -- opening (each entitled service) ----------------------------------------------


class PersonalDataAccess:
    """One service's narrow path to the personal data in events."""

    def __init__(self, service: str, keys: PersonalDataKeys) -> None:
        entitlement = ENTITLEMENTS.get(service)
        if entitlement is None:
            raise NotEntitledError(service)
        if not keys.has(service):
            msg = f"the personal-data key ring has no key for {service!r}"
            raise MissingKeyError(msg)
        self.service = service
        self.entitlement = entitlement
        self._keys = {
            kid: key for kid, key in keys.keys.items() if _version(kid, service)
        }
        self._lookup_key = keys.lookup_key() if entitlement.id_digest else None

    def open(
        self, sealed: SealedPersonalData | None, *, dossier_code: str, purpose: str
    ) -> PersonalData:
        """This service's view of a dossier's people, from an event's
        ``personal_data``; logged and counted. Raises :class:`SealBrokenError`."""
        block = (sealed or {}).get(self.service)
        if block is None:
            raise SealBrokenError(f"no personal data sealed for {self.service}")
        try:
            obj = jwe.decrypt_compact(block, self._key_for, registry=_REGISTRY)
            if obj.protected.get("dossier") != dossier_code:
                raise SealBrokenError("personal data sealed for another dossier")
            view = PersonalData.model_validate_json(obj.plaintext or b"")
        except (JoseError, ValueError, ValidationError) as exc:
            raise SealBrokenError(
                f"personal data sealed for {self.service} does not open "
                f"({type(exc).__name__})"
            ) from None
        log.info(
            "personal_data_opened",
            service=self.service,
            dossier_code=dossier_code,
            purpose=purpose,
            fields=list(self.entitlement.fields),
        )
        return view

    def open_event(self, event: EventEnvelope[Any], *, purpose: str) -> PersonalData:
        """:meth:`open` for an event whose payload has ``personal_data``
        (``dossier.received``, ``dossier.refused``, ``dossier.completion_requested``)."""
        sealed = getattr(event.data, "personal_data", None)
        return self.open(sealed, dossier_code=event.dossier_code, purpose=purpose)

    def _key_for(self, obj: Any) -> OctKey:
        kid = obj.headers().get("kid", "")
        key = self._keys.get(kid)
        if key is None:
            raise SealBrokenError("personal data sealed under a key this service lacks")
        return key

    def lookup_digest(self, id_number: str) -> str:
        """The digest of a number a citizen typed (reporting's lookup)."""
        if self._lookup_key is None:
            raise NotEntitledError(self.service)
        return lookup_digest(self._lookup_key, id_number)
