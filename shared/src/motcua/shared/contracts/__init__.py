"""Versioned event contracts: the envelope, every event type, topics and headers.

Importing this package registers every event type with the envelope parser.
"""

from motcua.shared.contracts import dossier, handoff, headers, notification, topics
from motcua.shared.contracts.envelope import (
    VN_TZ,
    ChainLink,
    EventData,
    EventEnvelope,
    EventParseError,
    UnknownEventData,
    new_event,
    now_vn,
    parse_envelope,
    parse_event,
    registered_event_types,
)

__all__ = [
    "VN_TZ",
    "ChainLink",
    "EventData",
    "EventEnvelope",
    "EventParseError",
    "UnknownEventData",
    "dossier",
    "handoff",
    "headers",
    "new_event",
    "notification",
    "now_vn",
    "parse_envelope",
    "parse_event",
    "registered_event_types",
    "topics",
]
