"""Outcomes of notices, produced by notification on
``motcua.notification.events``.

These events are read by reporting (timelines, results returned by post) and
routing (a postal delivery closes the dossier), so they carry no phone number,
email or address: only the channel and provider references.

Only what another service reads is published (ADR 0017): a notice's outcome
(delivered, failed on a channel, dead-lettered, skipped) and the postal
order's life. The steps on the way (recorded, being sent, retried later) stay
in notification's own notice table (``GET /api/v1/notifications``). Their
classes below are still registered, so the history written before ADR 0017
(kept forever, ADR 0013) is read and rebuilt as it was: nothing publishes them
any more.
"""

from __future__ import annotations

import uuid

from pydantic import Field

from motcua.shared.contracts.common import NotificationChannel
from motcua.shared.contracts.envelope import EventData
from motcua.shared.contracts.topics import NOTIFICATION_EVENTS


class _NotificationState(EventData):
    TOPIC = NOTIFICATION_EVENTS

    notification_id: uuid.UUID
    channel: NotificationChannel
    template: str = Field(description="Template name, e.g. `dossier.received`.")
    trigger_event_id: uuid.UUID | None = None
    trigger_event_type: str | None = None
    attempt: int = 0
    provider: str | None = None
    provider_reference: str | None = None
    detail: str = ""


class NotificationCreatedV1(_NotificationState):
    """Retired from publication (ADR 0017): read in history only."""

    EVENT_TYPE = "notification.created"

    sms_segments: int | None = None


class NotificationSendingV1(_NotificationState):
    """Retired from publication (ADR 0017): read in history only."""

    EVENT_TYPE = "notification.sending"


class NotificationDeliveredV1(_NotificationState):
    """The notice reached the recipient on this channel (SMS receipt, SMTP
    acceptance, or the letter delivered)."""

    EVENT_TYPE = "notification.delivered"


class NotificationTemporaryFailureV1(_NotificationState):
    """Retired from publication (ADR 0017): read in history only."""

    EVENT_TYPE = "notification.temporary_failure"

    retry_in_seconds: float | None = None


class NotificationPermanentFailureV1(_NotificationState):
    """This channel will not reach the recipient (refused, or out of
    attempts); ``fallback_channel`` carries the notice on if any."""

    EVENT_TYPE = "notification.permanent_failure"

    fallback_channel: NotificationChannel | None = None


class NotificationSkippedV1(_NotificationState):
    """The event calls for a notice but the recipient gave no phone, email or
    address for any allowed channel: nothing is sent (the officer can see why)."""

    EVENT_TYPE = "notification.skipped"


class NotificationDeadLetteredV1(_NotificationState):
    """Every channel failed; an operator can retry it."""

    EVENT_TYPE = "notification.dead_lettered"


class PostalOrderCreatedV1(_NotificationState):
    """A result-return order was placed with the postal operator (order number =
    dossier code). Letters carrying a notice emit only the notice events."""

    EVENT_TYPE = "notification.postal_order_created"

    waybill_code: str


class PostalStatusChangedV1(_NotificationState):
    """Status of a result-return order: accepted, delivered, failed (an attempt
    failed; the post tries again or returns it), returned (back at the agency)
    or cancelled. ``delivered`` means the result reached the citizen."""

    EVENT_TYPE = "notification.postal_status_changed"

    waybill_code: str
    postal_status: str
