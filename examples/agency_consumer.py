"""Read one agency's hand-offs from motcua, as an agency's own system would.

Every routing event on ``motcua.dossier.events`` carries the e-ID code of the
agency the dossier goes to (or is held by) in the ``agency-code`` Kafka header.
This consumer looks at that header first and parses only its own agency's
records; everything else is skipped unread. It prints one JSON line per event.

    python examples/agency_consumer.py --bootstrap 127.0.0.1:9092 \\
        --agency 000.00.05.H14 --group so-tu-phap-connector

Use your own consumer group: Kafka then remembers how far you have read, and a
restart continues where it stopped. Delivery is at least once: the same
``event_id`` can arrive twice, so record the ids you have handled.

Only ``aiokafka`` is needed (``pip install aiokafka``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from typing import Any, TextIO

from aiokafka import AIOKafkaConsumer

TOPIC = "motcua.dossier.events"
AGENCY_HEADER = "agency-code"
EVENT_TYPE_HEADER = "event-type"

# Routing's events an agency acts on; the header is set on these and on the
# other routing events about dossiers the agency holds (supplements, fees,
# results, deadlines, apologies).
HANDOFF_TYPES = frozenset(
    {
        "dossier.handoff_offered",
        "dossier.handoff_acknowledged",
        "dossier.step_completed",
        "dossier.handoff_returned",
        "dossier.handoff_escalated",
    }
)


def header(record: Any, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode()
    return None


def summary(record: Any) -> dict[str, Any]:
    """What an agency's inbox needs from a routing event."""
    event = json.loads(record.value)
    data = event["data"]
    return {
        "event_id": event["event_id"],
        "event_type": event["event_type"],
        "dossier_code": event["dossier_code"],
        "occurred_at": event["occurred_at"],
        "step_no": data.get("step_no"),
        "from_agency_code": data.get("from_agency_code"),
        "to_agency_code": data.get("to_agency_code"),
        "step_due_at": data.get("step_due_at"),
        "reason": data.get("reason"),
    }


async def consume(
    bootstrap: str,
    agency: str,
    group: str,
    *,
    handoffs_only: bool = True,
    from_beginning: bool = False,
    exit_when_idle_s: float | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """Print the agency's events until interrupted (or idle); returns how many."""
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest" if from_beginning else "latest",
        enable_auto_commit=False,
    )
    await consumer.start()
    printed = 0
    idle = 0.0
    try:
        while exit_when_idle_s is None or idle < exit_when_idle_s:
            batch = await consumer.getmany(timeout_ms=500)
            records = [r for rs in batch.values() for r in rs]
            idle = idle + 0.5 if not records else 0.0
            for record in records:
                if header(record, AGENCY_HEADER) != agency:
                    continue  # another agency's: not even parsed
                if (
                    handoffs_only
                    and header(record, EVENT_TYPE_HEADER) not in HANDOFF_TYPES
                ):
                    continue
                print(
                    json.dumps(summary(record), ensure_ascii=False),
                    file=out,
                    flush=True,
                )
                printed += 1
            if records:
                await consumer.commit()  # after handling: at least once
    finally:
        await consumer.stop()
    return printed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092", help="Kafka host:port")
    parser.add_argument("--agency", required=True, help="Your agency's e-ID code")
    parser.add_argument("--group", required=True, help="Your consumer group")
    parser.add_argument(
        "--all-events",
        action="store_true",
        help="Also supplements, fees, results and deadlines of dossiers you hold",
    )
    parser.add_argument(
        "--from-beginning",
        action="store_true",
        help="A new group starts at the oldest record",
    )
    parser.add_argument(
        "--exit-when-idle",
        type=float,
        default=None,
        help="Stop after this many idle seconds",
    )
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops it quietly
        asyncio.run(
            consume(
                args.bootstrap,
                args.agency,
                args.group,
                handoffs_only=not args.all_events,
                from_beginning=args.from_beginning,
                exit_when_idle_s=args.exit_when_idle,
            )
        )


if __name__ == "__main__":
    main()
