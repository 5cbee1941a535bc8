"""What every consumed record must be before any handler sees it.

Anyone who can write to the broker can write anything, so the consumer core
checks each record against the contract first, the same way for every
service, and refuses what fails (:class:`EventRefused`: dead-lettered at once
with the reason, nothing applied):

``malformed``
    not a motcua record: larger than :data:`MAX_EVENT_BYTES` (refused unread),
    not JSON, not an envelope, a dossier code of the wrong shape, or headers
    that are missing or contradict the body (``event-id`` and ``event-type``
    must be there, ``schema-version`` must match if there, and the key must be
    the dossier code);
``unknown_event_type``
    a type this consumer handles, in a schema version it does not know (a
    newer producer, or a retired version such as ``dossier.received`` v1);
``invalid_payload``
    a known type whose payload breaks its contract (a missing field, a text
    over its size, a value out of range).

A record of a type the consumer does not handle at all is not parsed, and is
counted (``motcua_events_unhandled_total``): unhandled is not an error, a new
type must not fill dead-letter topics. Types the consumer does not handle but
must still read (``reads``: the chained acts every consumer verifies, ADR 0012)
are admitted against the shared registry, and reach the handler only if it
handles them (:attr:`Admitted.handled`); for those, whether the ``event-id``
header is the signed id is the chain guard's check (a copy of an old act under
a new id is a replay, ``chain_broken``). The checks that need a dossier's state
(duplicate creation, illegal transition, unknown dossier) are each service's,
in its handler; checks that need keys (a seal, a signature) run after these
through :attr:`Admission.checks`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import ValidationError

from motcua.shared.contracts import headers as h
from motcua.shared.contracts.envelope import (
    EventData,
    EventEnvelope,
    UnknownEventData,
    envelope_class,
    registered_event_types,
)
from motcua.shared.contracts.topics import MAX_EVENT_BYTES
from motcua.shared.logging import safe_error_text
from motcua.shared.messaging.refusal import EventRefused
from motcua.shared.signing.canonical import parse_json

MALFORMED: Final = "malformed"
UNKNOWN_EVENT_TYPE: Final = "unknown_event_type"
INVALID_PAYLOAD: Final = "invalid_payload"

DOSSIER_CODE: Final = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}-\d{6}-\d{4}$")
"""``<agency e-ID (QCVN 102)>-<yyMMdd>-<NNNN>``: what intake issues and the
import accepts."""
AGENCY_CODE: Final = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")
_NAME: Final = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")

Check = Callable[[Any, EventEnvelope[EventData]], None]
"""A further check on an admitted record (the record, its envelope); raises
:class:`EventRefused`."""


@dataclass(frozen=True)
class Admitted:
    """A record that passed: its envelope, its decoded body (the chain guard
    checks the body as signed, not the model), and whether the handler acts
    on its type."""

    envelope: EventEnvelope[EventData]
    obj: dict[str, Any]
    handled: bool


@dataclass
class Admission:
    """The generic checks of one consumer.

    ``handles``: the payload classes its handler acts on (``None``: every
    registered type, as reporting's projection). ``reads``: the other types it
    must admit all the same (the chained acts its chain guard verifies).
    ``checks`` run, in order, on every record that passed the generic ones.
    """

    handles: Iterable[type[EventData]] | None = None
    checks: Sequence[Check] = field(default_factory=list)
    reads: Callable[[str | None], bool] | None = None

    def __post_init__(self) -> None:
        known = registered_event_types()
        handled = set(known.values()) if self.handles is None else set(self.handles)
        self._models = {(m.EVENT_TYPE, m.SCHEMA_VERSION): m for m in handled}
        self._known = dict(known)
        self.handled_types = frozenset(m.EVENT_TYPE for m in handled)
        self._registered_types = frozenset(t for t, _ in known)

    def _read(self, event_type: str | None) -> bool:
        return self.reads is not None and self.reads(event_type)

    def wants(self, event_type: str | None) -> bool:
        """Whether a record with this ``event-type`` header is parsed at all (a
        record without one is: it may be poison)."""
        return (
            event_type is None
            or event_type in self.handled_types
            or self._read(event_type)
        )

    def type_label(self, event_type: str | None) -> str:
        """A metric label that cannot grow without bound: the type if any
        motcua build declares it, else ``unregistered``."""
        if event_type in self._registered_types:
            return str(event_type)
        return "none" if event_type is None else "unregistered"

    def admit(self, record: Any) -> Admitted | None:
        """The admitted record, or ``None`` if this consumer neither handles
        nor reads its type; raises :class:`EventRefused`."""
        value: bytes = record.value
        if len(value) > MAX_EVENT_BYTES:
            raise EventRefused(
                MALFORMED,
                f"a record of {len(value)} bytes, over the {MAX_EVENT_BYTES} "
                "bytes an event may have: refused unread",
            )
        obj = _json_object(value)
        event_type, version = _type_and_version(obj)
        handled = event_type in self.handled_types
        read = self._read(event_type)
        if not handled and not read:
            return None
        if handled:
            model = self._models.get((event_type, version))
            if model is None:
                raise EventRefused(
                    UNKNOWN_EVENT_TYPE,
                    f"{event_type} v{version} is not a version this consumer "
                    f"handles (it handles v{self._versions(event_type)})",
                )
        else:  # read for the chain only: a newer version is still verified
            model = self._known.get((event_type, version), UnknownEventData)
        envelope = _validated(model, obj)
        _consistent(record, envelope, signed_id=read)
        for check in self.checks:
            check(record, envelope)
        return Admitted(envelope, obj, handled)

    def _versions(self, event_type: str) -> str:
        return ", v".join(str(v) for t, v in sorted(self._models) if t == event_type)


def _json_object(value: bytes) -> dict[str, Any]:
    try:
        obj = parse_json(value)
    except (ValueError, RecursionError) as exc:
        raise EventRefused(MALFORMED, f"not JSON: {type(exc).__name__}") from None
    if not isinstance(obj, dict):
        raise EventRefused(MALFORMED, "not a motcua event envelope (not an object)")
    return obj


def _type_and_version(obj: dict[str, Any]) -> tuple[str, int]:
    event_type, version = obj.get("event_type"), obj.get("schema_version")
    if (
        not isinstance(event_type, str)
        or not _NAME.match(event_type)
        or not isinstance(version, int)
        or isinstance(version, bool)
    ):
        raise EventRefused(
            MALFORMED, "not a motcua event envelope (event_type, schema_version)"
        )
    return event_type, version


def _validated(model: type[EventData], obj: dict[str, Any]) -> EventEnvelope[EventData]:
    try:
        envelope = envelope_class(model).model_validate(obj)
    except ValidationError as exc:
        in_payload = all(e["loc"][:1] == ("data",) for e in exc.errors())
        raise EventRefused(
            INVALID_PAYLOAD if in_payload else MALFORMED, safe_error_text(exc)
        ) from None
    if not DOSSIER_CODE.match(envelope.dossier_code):
        raise EventRefused(
            MALFORMED, "dossier_code is not <agency e-ID>-<yyMMdd>-<NNNN>"
        )
    if envelope.agency_code is not None and not AGENCY_CODE.match(envelope.agency_code):
        raise EventRefused(MALFORMED, "agency_code is not an agency e-ID code")
    return envelope


def _consistent(
    record: Any, envelope: EventEnvelope[EventData], *, signed_id: bool = False
) -> None:
    """Headers and key say what the body says: the inbox deduplicates on the
    ``event-id`` header and order holds per key, so a record whose header or
    key contradicts its body could be applied twice or out of order.
    ``signed_id``: the chain guard compares the ``event-id`` header with the
    signed id (after its replay check); here it must only be there."""
    headers: dict[str, str] = record.headers
    required = {h.EVENT_ID: str(envelope.event_id), h.EVENT_TYPE: envelope.event_type}
    wrong = [
        name
        for name, value in required.items()
        if headers.get(name) is None
        or (headers.get(name) != value and not (signed_id and name == h.EVENT_ID))
    ]
    version = headers.get(h.SCHEMA_VERSION)
    if version is not None and version != str(envelope.schema_version):
        wrong.append(h.SCHEMA_VERSION)
    if record.key != envelope.dossier_code:
        wrong.append("key")
    if wrong:
        raise EventRefused(
            MALFORMED, f"{', '.join(wrong)} do not match the event's body"
        )
