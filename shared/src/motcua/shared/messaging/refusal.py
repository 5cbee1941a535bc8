"""A consumer's refusal to apply an event it must not apply.

Anyone who can write to the broker can send anything, so a handler checks an
event before acting on it: a valid payload of a known type and version, an act
possible in the dossier's state as this service records it (and, once events
are signed, a signature of the agency entitled to act). When the check fails
the handler raises :class:`EventRefused`; the consumer then rolls back whatever
the handler did for that record, dead-letters the record at once (no retries:
trying again cannot make it valid) with the reason in the ``dlt-reason``
header, logs ``event_refused`` and counts it in
``motcua_events_refused_total{consumer, reason}``.
"""

from __future__ import annotations


class EventRefused(Exception):  # noqa: N818  (a verdict, not an accident)
    """Raised by a handler: this event must not be applied.

    ``reason`` is a stable snake_case code operators filter on (it becomes the
    ``dlt-reason`` header and a metric label, so keep the set small and fixed);
    ``detail`` explains it for the log and the ``dlt-error`` header. Neither may
    contain personal data.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        if not reason or not reason.replace("_", "").isalnum() or not reason.islower():
            msg = f"refusal reason must be a snake_case code, not {reason!r}"
            raise ValueError(msg)
        self.reason = reason
        self.detail = detail or reason
        super().__init__(f"{reason}: {self.detail}")
