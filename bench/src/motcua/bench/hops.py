"""Where a dossier's time goes between submission and notification: the
delay of each hop, from the timestamps the services already write (outbox
rows, inbox rows, notices) and the records' broker timestamps, read from the
SQLite files after a run (not on PostgreSQL: its rows are as good, but the
bench does not keep their databases).

Hops of the path to "notified" (the first ``notification.delivered`` the
bench's consumer sees), which add up to the whole:

1. intake, submission → reception's outbox row written (HTTP, signing);
2. intake's relay: row written → record sent (commit, relay wake-up, claim);
3. broker → notification's batch (fetch wait, the consumer busy before);
4. the batch → the dossier's notices written (records before it in the batch);
5. notices written → provider answered (the batch's commit, the delivery
   worker's wake-up and the round in flight before, its claim, the call);
6. provider answered → delivered (the SMS receipt; nothing for email);
7. notification's relay: delivered → record sent;
8. record sent → seen by the bench's consumer.

The clocks are those of one machine (wall time; the bench converts its own
``perf_counter`` times). A hop's figure is its own distribution; the share
of the slowest dossiers says which hops their time was spent in.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from motcua.bench.stats import summary_ms

HOPS = (
    "intake: submission → outbox row",
    "intake relay: row → record sent",
    "broker → notification's batch",
    "batch → notices written",
    "notices → provider answered",
    "provider → delivered (SMS receipt)",
    "notification relay: delivered → record sent",
    "record → bench's consumer",
)

REPORTING_HOPS = (
    "broker → reporting's batch",
    "reporting's batch → offsets committed and seen",
)


@dataclass
class Seen:
    """What the bench itself knows of one dossier (wall-clock seconds)."""

    submitted: float
    notified: float | None
    received_sent: float | None
    """The broker timestamp of its ``dossier.received`` (the relay's send)."""
    delivered_sent: float | None
    """The broker timestamp of its first ``notification.delivered``."""
    visible: float | None = None


@dataclass
class _Rows:
    received_row: dict[str, tuple[float, str]]
    """code → (outbox created_at, event id) of intake's dossier.received."""
    notification_batch: dict[str, float]
    """event id → notification's inbox processed_at (its batch's start)."""
    reporting_batch: dict[str, float]
    notices: dict[str, list[tuple[float, float | None, float | None]]]
    """code → per notice: created_at, accepted_at, delivered_at."""


def _when(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def read_rows(data_dir: Path, codes: Iterable[str]) -> _Rows:
    wanted = set(codes)
    received: dict[str, tuple[float, str]] = {}
    with _connect(data_dir / "intake.db") as db:
        for key, created, event_id in db.execute(
            "SELECT key, created_at, event_id FROM outbox WHERE "
            "json_extract(headers, '$.\"event-type\"') = 'dossier.received'"
        ):
            if key in wanted and key not in received:
                received[key] = (_when(created) or 0.0, str(event_id).replace("-", ""))
    batches: dict[str, dict[str, float]] = {}
    for service in ("notification", "reporting"):
        with _connect(data_dir / f"{service}.db") as db:
            batches[service] = {
                str(message_id).replace("-", ""): _when(processed) or 0.0
                for message_id, processed in db.execute(
                    "SELECT message_id, processed_at FROM inbox"
                )
            }
    notices: dict[str, list[tuple[float, float | None, float | None]]] = {}
    with _connect(data_dir / "notification.db") as db:
        for code, created, accepted, delivered in db.execute(
            "SELECT dossier_code, created_at, accepted_at, delivered_at "
            "FROM notification_notice WHERE trigger_event_type = 'dossier.received'"
        ):
            if code in wanted:
                notices.setdefault(code, []).append(
                    (_when(created) or 0.0, _when(accepted), _when(delivered))
                )
    return _Rows(received, batches["notification"], batches["reporting"], notices)


def dossier_hops(seen: Seen, rows: _Rows, code: str) -> list[float] | None:
    """The eight hops of one dossier (seconds), or None if a time is missing."""
    row = rows.received_row.get(code)
    delivered = [n for n in rows.notices.get(code, []) if n[2] is not None]
    if (
        row is None
        or not delivered
        or seen.notified is None
        or seen.received_sent is None
        or seen.delivered_sent is None
    ):
        return None
    written, event_id = row
    batch = rows.notification_batch.get(event_id)
    if batch is None:
        return None
    created, accepted, done = min(delivered, key=lambda n: n[2] or 0.0)
    assert done is not None
    answered = min(t for t in (accepted, done) if t is not None)
    times = [
        seen.submitted,
        written,
        seen.received_sent,
        batch,
        created,
        answered,
        done,
        seen.delivered_sent,
        seen.notified,
    ]
    return [b - a for a, b in pairwise(times)]


def reporting_hops(seen: Seen, rows: _Rows, code: str) -> list[float] | None:
    row = rows.received_row.get(code)
    if row is None or seen.visible is None or seen.received_sent is None:
        return None
    batch = rows.reporting_batch.get(row[1])
    if batch is None:
        return None
    return [batch - seen.received_sent, seen.visible - batch]


def breakdown(
    seen: Mapping[str, Seen], rows: _Rows, *, slowest_share: float = 0.05
) -> dict[str, Any]:
    """Per hop: its p50/p95/p99 over the dossiers, and its share of the
    end-to-end time of the slowest ``slowest_share`` of them."""
    per_code = {
        code: hops
        for code, s in seen.items()
        if (hops := dossier_hops(s, rows, code)) is not None
    }
    totals = sorted(per_code, key=lambda c: sum(per_code[c]), reverse=True)
    slow = totals[: max(1, round(len(totals) * slowest_share))] if totals else []
    slow_total = sum(sum(per_code[c]) for c in slow) or 1.0
    table = {
        name: {
            **summary_ms([per_code[c][i] for c in per_code]),
            "slowest_share_percent": round(
                100 * sum(per_code[c][i] for c in slow) / slow_total, 1
            ),
            "slowest_mean_ms": round(
                1000 * sum(per_code[c][i] for c in slow) / max(1, len(slow)), 1
            ),
        }
        for i, name in enumerate(HOPS)
    }
    reporting = {
        code: hops
        for code, s in seen.items()
        if (hops := reporting_hops(s, rows, code)) is not None
    }
    return {
        "dossiers": len(per_code),
        "slowest": len(slow),
        "total": summary_ms([sum(h) for h in per_code.values()]),
        "hops": table,
        "reporting": {
            name: summary_ms([h[i] for h in reporting.values()])
            for i, name in enumerate(REPORTING_HOPS)
        },
        # code → its submission (wall clock) and hops, for a closer look
        "per_dossier": {
            code: [round(seen[code].submitted, 3), *(round(h, 4) for h in hops)]
            for code, hops in per_code.items()
        },
    }


def markdown(phase: str, found: Mapping[str, Any]) -> list[str]:
    """The per-hop table of one phase."""
    lines = [
        "",
        f"Per hop, {phase} ({found['dossiers']} dossiers; the slowest "
        f"{found['slowest']} by submit → notified):",
        "",
        "| hop | p50 ms | p95 ms | p99 ms | max ms | slowest: mean ms | slowest: share % |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, s in found["hops"].items():
        lines.append(
            f"| {name} | {s['p50']} | {s['p95']} | {s['p99']} | {s['max']} | "
            f"{s['slowest_mean_ms']} | {s['slowest_share_percent']} |"
        )
    t = found["total"]
    lines.append(
        f"| **submit → notified** | {t['p50']} | {t['p95']} | {t['p99']} | {t['max']} | | |"
    )
    for name, s in found["reporting"].items():
        lines.append(
            f"| {name} | {s['p50']} | {s['p95']} | {s['p99']} | {s['max']} | | |"
        )
    return lines
