"""Notification's tables (SQLModel). Names start with ``notification_``.

Contact data (phones, emails, addresses) lives only here, never in events.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from motcua.shared.db import UTCDateTime, utcnow

M = TypeVar("M", bound=SQLModel)

_FACTORIES: dict[type[SQLModel], tuple[tuple[str, Callable[[], Any]], ...]] = {}


def new_row(model: type[M], **values: Any) -> M:
    """``model(**values)``, with the default factories of the fields not given
    called here. Pydantic inspects a factory's signature every time it calls
    it (``FieldInfo.default_factory_takes_validated_data`` is not cached),
    which cost more than the rest of building a row on the hot paths."""
    for name, factory in _factories(model):
        if name not in values:
            values[name] = factory()
    return model(**values)


_DEFAULTS: dict[type[SQLModel], dict[str, Any]] = {}


def row_values(model: type[SQLModel], **values: Any) -> dict[str, Any]:
    """Every column of ``model``'s row, for a Core insert: ``values`` and the
    fields' defaults (factories called here). The hot paths insert plain
    dictionaries: building a table model sets each attribute through the
    ORM's instrumentation, and flushing it runs a unit of work, which cost
    more than the statement itself."""
    defaults = _DEFAULTS.get(model)
    if defaults is None:
        defaults = _DEFAULTS[model] = {
            name: field.default
            for name, field in model.model_fields.items()
            if field.default_factory is None and not field.is_required()
        }
        for name, _factory in _factories(model):
            defaults.setdefault(name, None)
    row = {**defaults, **values}
    for name, factory in _factories(model):
        if name not in values:
            row[name] = factory()
    return row


def _factories(model: type[SQLModel]) -> tuple[tuple[str, Callable[[], Any]], ...]:
    factories = _FACTORIES.get(model)
    if factories is None:
        factories = _FACTORIES[model] = tuple(
            (name, cast(Callable[[], Any], field.default_factory))
            for name, field in model.model_fields.items()
            if field.default_factory is not None
        )
    return factories


def _uuid_pk() -> Any:
    return Field(
        default_factory=uuid.uuid4, sa_column=sa.Column(sa.Uuid, primary_key=True)
    )


def _when(*, nullable: bool = False, index: bool = False) -> Any:
    if nullable:
        return Field(
            default=None, sa_column=sa.Column(UTCDateTime, nullable=True, index=index)
        )
    return Field(
        default_factory=utcnow,
        sa_column=sa.Column(UTCDateTime, nullable=False, index=index),
    )


class DossierContact(SQLModel, table=True):
    """What notification remembers of a dossier (from ``dossier.received`` or
    the first event that carried the applicant): later events carry no contact."""

    __tablename__ = "notification_dossier"

    dossier_code: str = Field(primary_key=True, max_length=40)
    agency_code: str = Field(default="", max_length=32)
    procedure_code: str = Field(default="", max_length=32)
    procedure_name: str = Field(default="", max_length=300)
    received_at: datetime | None = _when(nullable=True)
    due_at: datetime | None = _when(nullable=True)
    result_delivery: str = Field(default="desk", max_length=16)
    notify_channels: list[str] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    postal_address: dict[str, Any] | None = Field(
        default=None, sa_column=sa.Column(sa.JSON, nullable=True)
    )
    components: list[str] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    recipient_role: str | None = Field(default=None, max_length=16)
    withdrawn: bool = False
    status: int = Field(default=0)
    """The dossier's status as far as notification can tell (the shared status
    table applied to the events it reads): an event impossible from it is
    refused. 0: not followed (imported history)."""
    imported: bool = False
    created_at: datetime = _when()
    updated_at: datetime = _when()


class Recipient(SQLModel, table=True):
    """A person of a dossier who can be told things (người nhận thông báo)."""

    __tablename__ = "notification_recipient"
    __table_args__ = (sa.UniqueConstraint("dossier_code", "role"),)

    id: uuid.UUID = _uuid_pk()
    dossier_code: str = Field(max_length=40, index=True)
    role: str = Field(max_length=16)
    full_name: str = Field(default="", max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    address: str | None = Field(default=None, max_length=500)


class Notice(SQLModel, table=True):
    """One message to one recipient on one channel, and its delivery state."""

    __tablename__ = "notification_notice"
    __table_args__ = (
        sa.Index("ix_notification_notice_due", "state", "next_attempt_at"),
        # an SMS receipt names its notice by the key it was sent with
        sa.Index(
            "ix_notification_notice_provider_idempotency_key",
            "provider_idempotency_key",
        ),
    )

    id: uuid.UUID = _uuid_pk()
    idempotency_key: str = Field(
        max_length=200,
        sa_column_kwargs={"unique": True},
        description="trigger event id : channel : recipient id",
    )
    dossier_code: str = Field(max_length=40, index=True)
    recipient_id: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, nullable=True)
    )
    trigger_event_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    trigger_event_type: str = Field(max_length=64)
    correlation_id: str = Field(default="", max_length=100)
    traceparent: str | None = Field(default=None, max_length=100)
    template: str = Field(max_length=64)
    channel: str = Field(max_length=16)
    context: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    subject: str | None = Field(default=None, max_length=300)
    body: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    sms_segments: int | None = None
    state: str = Field(max_length=20)
    attempt: int = 0
    next_attempt_at: datetime = _when()
    claim_token: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, nullable=True)
    )
    lease_until: datetime | None = _when(nullable=True)
    provider: str | None = Field(default=None, max_length=32)
    provider_idempotency_key: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, nullable=True)
    )
    provider_reference: str | None = Field(default=None, max_length=100, index=True)
    waybill_code: str | None = Field(default=None, max_length=32)
    last_error: str = Field(default="", max_length=500)
    fallback_of: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, nullable=True)
    )
    created_at: datetime = _when()
    updated_at: datetime = _when()
    accepted_at: datetime | None = _when(nullable=True)
    delivered_at: datetime | None = _when(nullable=True)


class PostalOrder(SQLModel, table=True):
    """An order with the postal operator: the result-return order (order number
    = dossier code) or a letter carrying a notice."""

    __tablename__ = "notification_postal_order"

    id: uuid.UUID = _uuid_pk()
    notice_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, nullable=False, unique=True)
    )
    dossier_code: str = Field(max_length=40, index=True)
    kind: str = Field(max_length=16, description="`result_return` or `letter`.")
    waybill_code: str = Field(max_length=32, sa_column_kwargs={"unique": True})
    status: str = Field(
        max_length=20,
        description="registered, accepted, delivered, failed, returned, "
        "cancel_requested, cancelled.",
    )
    cancel_reason: str = Field(default="", max_length=300)
    created_at: datetime = _when()
    updated_at: datetime = _when()


class Waybill(SQLModel, table=True):
    """A waybill code (mã vận đơn) pre-allocated by the postal operator."""

    __tablename__ = "notification_waybill"

    code: str = Field(primary_key=True, max_length=32)
    notice_id: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, nullable=True, index=True)
    )
    loaded_at: datetime = _when()
    used_at: datetime | None = _when(nullable=True)


DOSSIER: sa.Table = DossierContact.__table__  # type: ignore[attr-defined]
RECIPIENT: sa.Table = Recipient.__table__  # type: ignore[attr-defined]
NOTICE: sa.Table = Notice.__table__  # type: ignore[attr-defined]


NOTIFICATION_TABLES = frozenset(
    {
        "notification_dossier",
        "notification_recipient",
        "notification_notice",
        "notification_postal_order",
        "notification_waybill",
    }
)
