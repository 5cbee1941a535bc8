"""Topic names: the only place they are spelled out."""

from __future__ import annotations

from typing import Final

DOSSIER_EVENTS: Final = "motcua.dossier.events"
"""Every dossier lifecycle event; key = dossier code, so one dossier's events
stay in one partition and every consumer sees them in causal order."""

NOTIFICATION_EVENTS: Final = "motcua.notification.events"
"""Delivery state of notices sent to citizens; key = dossier code."""

DEAD_LETTER_PREFIX: Final = "motcua.dlt."

BUSINESS_TOPICS: Final = (DOSSIER_EVENTS, NOTIFICATION_EVENTS)


def dead_letter_topic(consumer: str) -> str:
    """Per-consumer dead-letter topic, e.g. ``motcua.dlt.routing``."""
    return f"{DEAD_LETTER_PREFIX}{consumer}"


def is_dead_letter_topic(topic: str) -> bool:
    return topic.startswith(DEAD_LETTER_PREFIX)
