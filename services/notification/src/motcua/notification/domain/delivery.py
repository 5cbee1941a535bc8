"""Delivery states of a notice and what happens after each provider answer.

A notice is one message to one recipient on one channel::

    created -> sending -> delivered | temporary-failure | permanent-failure
    temporary-failure -> sending            (retry with exponential backoff)
    permanent-failure                       (a notice on the next channel, if any)
    dead-lettered -> created                (every channel failed; operator retry)
    created | sending -> cancelled          (a postal order the dossier no longer needs)

Only infrastructure failures are retried on the same channel; a refusal of the
recipient (invalid number, unknown mailbox) falls back at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from motcua.shared.contracts.common import NotificationChannel


class NoticeState(StrEnum):
    CREATED = "created"
    SENDING = "sending"
    DELIVERED = "delivered"
    TEMPORARY_FAILURE = "temporary-failure"
    PERMANENT_FAILURE = "permanent-failure"
    DEAD_LETTERED = "dead-lettered"
    CANCELLED = "cancelled"


FINAL_STATES = frozenset(
    {
        NoticeState.DELIVERED,
        NoticeState.PERMANENT_FAILURE,
        NoticeState.DEAD_LETTERED,
        NoticeState.CANCELLED,
    }
)
IN_FLIGHT_STATES = frozenset(
    {NoticeState.CREATED, NoticeState.SENDING, NoticeState.TEMPORARY_FAILURE}
)


class Outcome(StrEnum):
    """A provider's answer to one send."""

    ACCEPTED = "accepted"
    """Taken over; a delivery receipt or status callback will follow."""
    DELIVERED = "delivered"
    """Delivered as far as this channel can tell (SMTP has no receipts)."""
    TEMPORARY = "temporary"
    """Not sent, try again later (outage, overload, timeout)."""
    PERMANENT = "permanent"
    """Refused for this recipient: retrying the same channel will not help."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay_s: float = 1.0
    max_delay_s: float = 300.0
    jitter: float = 0.2
    """Fraction of the delay randomised away, so retries of an outage spread out."""


def backoff_delay(attempt: int, policy: RetryPolicy, random_fraction: float) -> float:
    """Seconds before attempt ``attempt + 1``: base x 2^(attempt-1), capped, with
    up to ``jitter`` of it taken off (``random_fraction`` in [0, 1))."""
    raw: float = min(
        policy.base_delay_s * 2.0 ** max(attempt - 1, 0), policy.max_delay_s
    )
    return raw * (1 - policy.jitter * random_fraction)


def should_retry(attempt: int, policy: RetryPolicy) -> bool:
    """True while the notice has attempts left on its channel."""
    return attempt < policy.max_attempts


class FallbackKind(StrEnum):
    NEXT = "next"
    """Create a notice on ``channel``."""
    COVERED = "covered"
    """``channel`` already carries (or carried) this notice: nothing to add."""
    NONE = "none"
    """No channel left: dead-letter."""


@dataclass(frozen=True)
class Fallback:
    kind: FallbackKind
    channel: NotificationChannel | None = None


def choose_fallback(
    order: Sequence[NotificationChannel],
    failed: NotificationChannel,
    reachable: frozenset[NotificationChannel],
    existing: Mapping[NotificationChannel, NoticeState],
) -> Fallback:
    """The next channel after ``failed`` in ``order`` for the same event and
    recipient. ``reachable``: channels the recipient has an address for;
    ``existing``: states of notices already made for this event and recipient.

    A channel already delivering or delivered covers the citizen; a channel that
    already failed is skipped.
    """
    after = list(order)[list(order).index(failed) + 1 :] if failed in order else []
    for channel in after:
        if channel not in reachable:
            continue
        state = existing.get(channel)
        if state is None:
            return Fallback(FallbackKind.NEXT, channel)
        if state in IN_FLIGHT_STATES or state == NoticeState.DELIVERED:
            return Fallback(FallbackKind.COVERED, channel)
    return Fallback(FallbackKind.NONE)
