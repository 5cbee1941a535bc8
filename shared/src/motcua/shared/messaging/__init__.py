"""Reliable messaging: transactional outbox, idempotent inbox, dead letters."""

from motcua.shared.messaging.consumer import (
    ConsumedRecord,
    EventConsumer,
    EventHandler,
    HandlerContext,
)
from motcua.shared.messaging.outbox import add_event, add_raw
from motcua.shared.messaging.refusal import EventRefused
from motcua.shared.messaging.relay import OutboxRelay
from motcua.shared.messaging.tables import MESSAGING_TABLES, InboxRecord, OutboxRecord

__all__ = [
    "MESSAGING_TABLES",
    "ConsumedRecord",
    "EventConsumer",
    "EventHandler",
    "EventRefused",
    "HandlerContext",
    "InboxRecord",
    "OutboxRecord",
    "OutboxRelay",
    "add_event",
    "add_raw",
]
