"""The event envelope every motcua record carries, and the registry of event types.

One envelope for all events: consumers read the same metadata (id, type, version,
business time, dossier code, producer, acting agency, correlation and causation)
whatever the payload. Payload models subclass :class:`EventData` and declare their
``EVENT_TYPE`` and ``SCHEMA_VERSION``; declaring one registers it, so
:func:`parse_event` can turn bytes from Kafka back into a typed envelope.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar, cast
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
"""Business time zone: every timestamp in an event is expressed in it."""


def now_vn() -> datetime:
    return datetime.now(VN_TZ)


class EventData(BaseModel):
    """Base of every event payload.

    Readers are tolerant (unknown fields are ignored) so that a producer can add
    optional fields without breaking older consumers; a breaking change gets a new
    ``SCHEMA_VERSION`` and a new class.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", str_max_length=4000)

    EVENT_TYPE: ClassVar[str] = ""
    SCHEMA_VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = ""
    """The topic events of this type are published on."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.EVENT_TYPE:
            _register(cls)


class UnknownEventData(EventData):
    """Payload of an event type this build does not know (a newer producer)."""

    model_config = ConfigDict(frozen=True, extra="allow")


DataT = TypeVar("DataT", bound=EventData)

_REGISTRY: dict[tuple[str, int], type[EventData]] = {}


def _register(model: type[EventData]) -> None:
    key = (model.EVENT_TYPE, model.SCHEMA_VERSION)
    existing = _REGISTRY.get(key)
    if existing is not None and existing.__qualname__ != model.__qualname__:
        msg = f"event type {key} is declared twice: {existing} and {model}"
        raise TypeError(msg)
    _REGISTRY[key] = model


def registered_event_types() -> dict[tuple[str, int], type[EventData]]:
    """Every known (event type, schema version) and its payload model."""
    from motcua.shared import contracts  # noqa: F401  (registers all modules)

    return dict(_REGISTRY)


class ChainLink(BaseModel):
    """Where an event sits in its dossier's hash chain (ADR 0012)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    prev: list[str] = Field(
        default_factory=list,
        description="SHA-256 digests (hex) of the dossier's events this one follows: "
        "the heads of the chain as its producer knew them (sorted; empty for the "
        "first event of a dossier, several when it joins concurrent acts).",
    )
    seq: int = Field(
        ge=1, description="1 + the highest `seq` among `prev` (1 for the first)."
    )


class EventEnvelope(BaseModel, Generic[DataT]):
    """What travels on every motcua topic: metadata plus a typed payload."""

    model_config = ConfigDict(frozen=True)

    event_id: uuid.UUID = Field(description="Unique id; the idempotency key.")
    event_type: str = Field(description="e.g. `dossier.received`.")
    schema_version: int = Field(ge=1, description="Version of the payload schema.")
    occurred_at: AwareDatetime = Field(
        description="Business time, Asia/Ho_Chi_Minh. For imported history this "
        "is the original time, so reports put the event in the right period."
    )
    dossier_code: str = Field(description="`<agency e-ID>-<yyMMdd>-<NNNN>`.")
    producer: str = Field(description="Service that produced the event.")
    agency_code: str | None = Field(
        default=None, description="e-ID code of the agency that acted, if any."
    )
    correlation_id: str = Field(
        description="Shared by every event caused by one request or import run."
    )
    causation_id: uuid.UUID | None = Field(
        default=None, description="Id of the event that caused this one."
    )
    imported: bool = Field(
        default=False,
        description="True for history loaded from a legacy system: consumers "
        "update records and reports but send no notices.",
    )
    data: DataT
    chain: ChainLink | None = Field(
        default=None,
        description="Link in the dossier's hash chain; set on every event that "
        "changes a dossier's legal state (unset: unsigned legacy or not chained).",
    )
    signature: str | None = Field(
        default=None,
        description="Detached JWS (compact, `<header>..<signature>`, ES256) of the "
        "acting agency over the RFC 8785 bytes of this envelope without "
        "`signature`; the header's `kid` names the key (published JWKS).",
    )

    @field_validator("occurred_at")
    @classmethod
    def _in_vietnam_time(cls, value: datetime) -> datetime:
        return value.astimezone(VN_TZ)

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()


def new_event(
    data: DataT,
    *,
    dossier_code: str,
    producer: str,
    agency_code: str | None = None,
    correlation_id: str | None = None,
    causation: EventEnvelope[Any] | None = None,
    occurred_at: datetime | None = None,
    imported: bool | None = None,
    event_id: uuid.UUID | None = None,
    causation_id: uuid.UUID | None = None,
) -> EventEnvelope[DataT]:
    """Wrap a payload in an envelope.

    Correlation and the ``imported`` flag are inherited from the causing event,
    so a whole chain of reactions stays linked and an imported history never
    wakes up live side effects downstream.
    """
    if not data.EVENT_TYPE:
        msg = f"{type(data).__name__} declares no EVENT_TYPE"
        raise TypeError(msg)
    if correlation_id is None:
        correlation_id = causation.correlation_id if causation else str(uuid.uuid4())
    if imported is None:
        imported = causation.imported if causation else False
    envelope_cls = envelope_class(type(data))
    envelope = envelope_cls(
        event_id=event_id or uuid.uuid4(),
        event_type=data.EVENT_TYPE,
        schema_version=data.SCHEMA_VERSION,
        occurred_at=occurred_at or now_vn(),
        dossier_code=dossier_code,
        producer=producer,
        agency_code=agency_code,
        correlation_id=correlation_id,
        causation_id=causation.event_id if causation else causation_id,
        imported=imported,
        data=data,
    )
    return cast(EventEnvelope[DataT], envelope)


class EventParseError(ValueError):
    """The bytes are not a valid motcua envelope: a poison message."""


_ENVELOPES: dict[type[EventData], type[EventEnvelope[Any]]] = {}


def envelope_class(model: type[EventData]) -> type[EventEnvelope[Any]]:
    """``EventEnvelope[model]``, looked up once per model (pydantic's own
    lookup of a parametrised generic costs more than validating a payload)."""
    envelope_cls = _ENVELOPES.get(model)
    if envelope_cls is None:
        envelope_cls = _ENVELOPES[model] = EventEnvelope[model]  # type: ignore[valid-type]
    return envelope_cls


def parse_event(raw: bytes | str) -> EventEnvelope[EventData]:
    """Turn a record body into a typed envelope.

    An unknown type or version parses with :class:`UnknownEventData` (consumers
    skip what they do not understand); a malformed body or a known type with an
    invalid payload raises :class:`EventParseError`.
    """
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        msg = f"not a motcua event envelope: {exc}"
        raise EventParseError(msg) from exc
    return parse_envelope(obj)


def parse_envelope(obj: Any) -> EventEnvelope[EventData]:
    """:func:`parse_event` for a body already decoded from JSON."""
    try:
        key = (obj["event_type"], int(obj["schema_version"]))
    except (ValueError, TypeError, KeyError) as exc:
        msg = f"not a motcua event envelope: {exc}"
        raise EventParseError(msg) from exc
    model = _REGISTRY.get(key, UnknownEventData)
    try:
        envelope_cls = envelope_class(model)
        return envelope_cls.model_validate(obj)
    except ValueError as exc:
        msg = f"invalid {key[0]} v{key[1]} event: {exc}"
        raise EventParseError(msg) from exc
