"""AsyncAPI 3.0 documents generated from the event contracts.

Each service says which topics it consumes and which event types it publishes;
message payloads are the JSON schemas of the typed envelopes, headers the
documented Kafka headers. The handlers take raw batches (the messaging core
parses and dead-letters), so the document is built from the contracts rather
than from handler signatures.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from motcua.shared.contracts import headers as h
from motcua.shared.contracts.envelope import (
    EventData,
    EventEnvelope,
    registered_event_types,
)
from motcua.shared.contracts.topics import dead_letter_topic

_HEADERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        h.EVENT_ID: {
            "type": "string",
            "format": "uuid",
            "description": "Idempotency key.",
        },
        h.EVENT_TYPE: {"type": "string", "description": "e.g. `dossier.received`."},
        h.SCHEMA_VERSION: {"type": "string", "description": "Payload schema version."},
        h.TRACEPARENT: {"type": "string", "description": "W3C trace context."},
        h.CORRELATION_ID: {"type": "string"},
        h.PRODUCER: {"type": "string", "description": "Producing service."},
        h.AGENCY_CODE: {
            "type": "string",
            "description": "Hand-off events only: e-ID of the receiving agency.",
        },
    },
    "required": [h.EVENT_ID, h.EVENT_TYPE, h.SCHEMA_VERSION],
}

_DLT_HEADERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        name: {"type": "string"}
        for name in (
            h.DLT_CONSUMER,
            h.DLT_ORIGINAL_TOPIC,
            h.DLT_ORIGINAL_PARTITION,
            h.DLT_ORIGINAL_OFFSET,
            h.DLT_ORIGINAL_KEY,
            h.DLT_ERROR,
            h.DLT_ERROR_TYPE,
            h.DLT_REASON,
            h.DLT_ATTEMPTS,
            h.DLT_FAILED_AT,
        )
    },
}


def _message_id(model: type[EventData]) -> str:
    return f"{model.EVENT_TYPE}.v{model.SCHEMA_VERSION}"


def _camel(topic: str) -> str:
    return "".join(p.capitalize() for p in topic.replace("-", ".").split("."))


def build_asyncapi(
    *,
    service: str,
    title: str,
    description: str,
    version: str,
    bootstrap_servers: str,
    consumes: Iterable[tuple[str, Sequence[str]]],
    publishes: Iterable[type[EventData]],
) -> dict[str, Any]:
    """``consumes`` is ``(consumer group, topics)`` pairs; every event type known
    on a consumed topic is listed, since consumers skip types they ignore."""
    registry = registered_event_types()
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}

    def add_message(model: type[EventData]) -> str:
        mid = _message_id(model)
        if mid not in messages:
            schema = EventEnvelope[model].model_json_schema(  # type: ignore[valid-type]
                ref_template="#/components/schemas/{model}"
            )
            schemas.update(schema.pop("$defs", {}))
            messages[mid] = {
                "name": model.EVENT_TYPE,
                "title": model.__name__,
                "summary": (model.__doc__ or "").strip().splitlines()[0]
                if model.__doc__
                else model.EVENT_TYPE,
                "contentType": "application/json",
                "headers": _HEADERS_SCHEMA,
                "payload": schema,
                "bindings": {
                    "kafka": {"key": {"type": "string", "description": "Dossier code."}}
                },
            }
        return mid

    def channel(topic: str, mids: Iterable[str], *, dlt: bool = False) -> None:
        entry = channels.setdefault(topic, {"address": topic, "messages": {}})
        for mid in mids:
            entry["messages"][mid] = {"$ref": f"#/components/messages/{mid}"}
        if dlt:
            entry["description"] = (
                "Records this service could not apply, body untouched, "
                "failure described in `dlt-*` headers."
            )

    def refs(topic: str, mids: Iterable[str]) -> list[dict[str, str]]:
        return [{"$ref": f"#/channels/{topic}/messages/{mid}"} for mid in mids]

    for group, topics in consumes:
        for topic in topics:
            mids = [
                add_message(m)
                for (_t, _v), m in sorted(registry.items())
                if topic == m.TOPIC
            ]
            channel(topic, mids)
            operations[f"{group}Receive{_camel(topic)}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{topic}"},
                "summary": f"Consumer group `{group}`: applies each event once "
                "(inbox), commits offsets after the database commit.",
                "messages": refs(topic, mids),
            }
        dlt = dead_letter_topic(group)
        messages.setdefault(
            "dead-letter",
            {
                "name": "dead-letter",
                "title": "Dead letter",
                "contentType": "application/octet-stream",
                "headers": _DLT_HEADERS_SCHEMA,
                "payload": {"description": "The failed record's original body."},
            },
        )
        channel(dlt, ["dead-letter"], dlt=True)
        operations[f"{group}SendDeadLetters"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{dlt}"},
            "messages": refs(dlt, ["dead-letter"]),
        }

    by_topic: dict[str, list[str]] = {}
    for model in publishes:
        by_topic.setdefault(model.TOPIC, []).append(add_message(model))
    for topic, mids in by_topic.items():
        channel(topic, mids)
        operations[f"{service}Send{_camel(topic)}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{topic}"},
            "summary": "Published through the transactional outbox; key = dossier code.",
            "messages": refs(topic, mids),
        }

    return {
        "asyncapi": "3.0.0",
        "info": {"title": title, "version": version, "description": description},
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {
                "host": bootstrap_servers.split(",")[0],
                "protocol": "kafka",
                "description": "Local tansu broker or any Kafka cluster.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
