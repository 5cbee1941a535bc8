"""The provider interface and the message handed to it.

A provider turns one :class:`OutgoingMessage` into a :class:`SendResult`; it
never raises for a provider-side problem (those are results), and tells
whether the failure says something about the provider itself
(``provider_fault``: counted by its circuit breaker) or only about this
recipient.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Protocol

from motcua.notification.domain.delivery import Outcome
from motcua.notification.rendering import Attachment
from motcua.shared.contracts.common import NotificationChannel


@dataclass(frozen=True)
class PostalParty:
    name: str
    address: str
    phone: str = ""
    province: str = ""
    commune: str = ""


@dataclass(frozen=True)
class OutgoingMessage:
    notice_id: uuid.UUID
    dossier_code: str
    channel: NotificationChannel
    idempotency_key: uuid.UUID
    """The provider's idempotency key: the same for every attempt whose outcome
    is unknown, so a provider that honours it never sends twice."""
    destination: str
    """Phone number or email address; for post the receiver's address."""
    text: str
    subject: str | None = None
    attachment: Attachment | None = None
    receiver: PostalParty | None = None
    waybill_code: str | None = None
    order_kind: str | None = None
    agency_code: str = ""


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    reference: str | None = None
    detail: str = ""
    provider_fault: bool = False


@dataclass(frozen=True)
class CancelResult:
    cancelled: bool
    detail: str = ""
    provider_fault: bool = False


class Provider(Protocol):
    name: str
    channel: NotificationChannel

    async def send(self, message: OutgoingMessage) -> SendResult: ...

    async def aclose(self) -> None: ...


@dataclass
class Providers:
    """The provider of each channel."""

    by_channel: dict[NotificationChannel, Provider] = field(default_factory=dict)

    def __getitem__(self, channel: NotificationChannel) -> Provider:
        return self.by_channel[channel]

    async def aclose(self) -> None:
        for provider in self.by_channel.values():
            await provider.aclose()
