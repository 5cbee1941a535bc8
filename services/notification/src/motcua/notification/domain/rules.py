"""Which dossier events tell the citizen something, on which channels.

The applicant chooses the channels at intake (``notify_channels``); the post
carries the result when they chose postal return (QĐ 45/2016). The person who
receives notices is the representative when one filed with a phone or an email
(they act for the applicant), otherwise the applicant.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from motcua.shared.contracts.common import NotificationChannel, ResultDelivery

RESULT_RETURN_TEMPLATE = "postal.result_return"
"""Template of the result-return order placed with the postal operator."""

NOTIFYING_EVENTS: frozenset[str] = frozenset(
    {
        "dossier.received",
        "dossier.refused",
        "dossier.completion_requested",
        "dossier.supplement_requested",
        "dossier.fee_requested",
        "dossier.apology_issued",
        "dossier.processing_stopped",
        "dossier.result_recorded",
        "dossier.withdrawn",
    }
)
"""Event types with a template (thông báo cho công dân)."""

MESSAGE_CHANNELS = (NotificationChannel.SMS, NotificationChannel.EMAIL)


@dataclass(frozen=True)
class Contact:
    """Where a recipient can be reached; personal data, never logged."""

    full_name: str
    phone: str | None = None
    email: str | None = None
    address: str | None = None

    def reachable(self) -> frozenset[NotificationChannel]:
        channels = set()
        if self.phone:
            channels.add(NotificationChannel.SMS)
        if self.email:
            channels.add(NotificationChannel.EMAIL)
        if self.address:
            channels.add(NotificationChannel.POST)
        return frozenset(channels)


@dataclass(frozen=True)
class PlannedNotice:
    channel: NotificationChannel
    template: str


def notice_recipient_role(
    applicant: Contact | None, representative: Contact | None
) -> str | None:
    """``representative`` when they can be reached by SMS or email, else
    ``applicant`` (if known)."""
    if representative is not None and (representative.phone or representative.email):
        return "representative"
    if applicant is not None:
        return "applicant"
    return None


def plan_notices(
    event_type: str,
    *,
    chosen: Sequence[NotificationChannel],
    reachable: frozenset[NotificationChannel],
    result_delivery: ResultDelivery,
    has_postal_address: bool,
) -> list[PlannedNotice]:
    """The notices an event gives rise to: one per chosen message channel the
    recipient can be reached on, plus the result-return order when the result
    goes by post. Letters are only a fallback, never planned first."""
    if event_type not in NOTIFYING_EVENTS:
        return []
    plans = [
        PlannedNotice(channel, event_type)
        for channel in MESSAGE_CHANNELS
        if channel in chosen and channel in reachable
    ]
    if (
        event_type == "dossier.result_recorded"
        and result_delivery == ResultDelivery.POST
        and has_postal_address
    ):
        plans.append(PlannedNotice(NotificationChannel.POST, RESULT_RETURN_TEMPLATE))
    return plans


def mask_destination(channel: NotificationChannel, value: str | None) -> str | None:
    """What an officer sees of a destination: enough to recognise, not to use."""
    if not value:
        return None
    if channel == NotificationChannel.SMS:
        digits = re.sub(r"\D", "", value)
        return "*" * max(len(digits) - 3, 0) + digits[-3:]
    if channel == NotificationChannel.EMAIL and "@" in value:
        local, domain = value.split("@", 1)
        return f"{local[:1]}***@{domain}"
    return value[:12] + "…" if len(value) > 12 else "***"
