"""Topic names: the only place they are spelled out."""

from __future__ import annotations

from typing import Final

DOSSIER_EVENTS: Final = "motcua.dossier.events"
"""Every dossier lifecycle event; key = dossier code, so one dossier's events
stay in one partition and every consumer sees them in causal order."""

NOTIFICATION_EVENTS: Final = "motcua.notification.events"
"""Outcomes of notices sent to citizens and of postal result returns; key =
dossier code (ADR 0017: a notice's intermediate states are not published)."""

CHECKPOINTS: Final = "motcua.signing.checkpoints"
"""The province's signed checkpoints over the dossier chains (ADR 0012); key =
checkpoint number. Kept forever, like the history it vouches for."""

DEAD_LETTER_PREFIX: Final = "motcua.dlt."

MAX_EVENT_BYTES: Final = 256 * 1024
"""Largest event body motcua writes or accepts (a reception with every field
full is a few kilobytes). Producers refuse to write a larger one; consumers
refuse a larger record unread, and its dead letter keeps only this many bytes
of it, so a dead letter always fits the topic."""

MAX_RECORD_BYTES: Final = 1024 * 1024
"""Largest record the topics are declared to take (``max.message.bytes``, what
Kafka uses by default, set explicitly), the largest request a producer sends
and the most a consumer fetches per partition: an event, its headers and a
dead letter's headers fit well inside."""

BUSINESS_TOPICS: Final = (DOSSIER_EVENTS, NOTIFICATION_EVENTS)

RETAINED_FOREVER: Final = {"retention.ms": "-1", "retention.bytes": "-1"}
"""Topic configuration of the history topics (ADR 0013): they are the legal
record every rebuild and verification reads, kept as long as dossiers are
(Kafka's default would drop them after seven days)."""


def topic_config(topic: str) -> dict[str, str]:
    """Configuration a topic is created with (empty: the broker's defaults)."""
    return dict(RETAINED_FOREVER) if topic in (*BUSINESS_TOPICS, CHECKPOINTS) else {}


def dead_letter_topic(consumer: str) -> str:
    """Per-consumer dead-letter topic, e.g. ``motcua.dlt.routing``."""
    return f"{DEAD_LETTER_PREFIX}{consumer}"


def is_dead_letter_topic(topic: str) -> bool:
    return topic.startswith(DEAD_LETTER_PREFIX)
