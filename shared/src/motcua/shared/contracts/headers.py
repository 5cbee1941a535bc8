"""Kafka header names carried by every motcua record.

Headers let a consumer (or an agency's own system) route and filter without
parsing the body: the event id is the idempotency key, the type selects the
handler, ``traceparent`` joins the distributed trace.
"""

from __future__ import annotations

from typing import Final

EVENT_ID: Final = "event-id"
EVENT_TYPE: Final = "event-type"
SCHEMA_VERSION: Final = "schema-version"
TRACEPARENT: Final = "traceparent"
TRACESTATE: Final = "tracestate"
CORRELATION_ID: Final = "correlation-id"
PRODUCER: Final = "producer"
AGENCY_CODE: Final = "agency-code"
"""On hand-off events: the e-ID code of the agency the dossier is handed to, so an
agency's own system can consume only its own hand-offs."""
CONTENT_TYPE: Final = "content-type"

# Dead-letter records keep the failed message's body untouched and describe the
# failure in these headers.
DLT_CONSUMER: Final = "dlt-consumer"
DLT_ORIGINAL_TOPIC: Final = "dlt-original-topic"
DLT_ORIGINAL_PARTITION: Final = "dlt-original-partition"
DLT_ORIGINAL_OFFSET: Final = "dlt-original-offset"
DLT_ORIGINAL_KEY: Final = "dlt-original-key"
DLT_ERROR: Final = "dlt-error"
DLT_ERROR_TYPE: Final = "dlt-error-type"
DLT_REASON: Final = "dlt-reason"
"""Why the record was dead-lettered, as a stable code: ``malformed``,
``unknown_event_type``, ``invalid_payload`` (the generic checks of
``motcua.shared.messaging.admission``), ``handler_failed`` (the handler kept
raising), or the reason a consumer refused to apply it (``unknown_dossier``,
``duplicate_creation``, ``illegal_transition``, ``parked_expired``,
``signature_invalid`` …: see :class:`EventRefused` and docs/integrators.md)."""
DLT_ATTEMPTS: Final = "dlt-attempts"
DLT_BODY_BYTES: Final = "dlt-body-bytes"
"""Set when the failed record was larger than an event may be: its size, while
the dead letter keeps only its first ``MAX_EVENT_BYTES``."""
DLT_FAILED_AT: Final = "dlt-failed-at"

REPLAY_OF: Final = "replay-of"
"""Set when an operator re-publishes a dead-lettered record: the consumer that
dead-lettered it processes it again instead of skipping it as a duplicate."""
