"""CPU and SQL statements per dossier of notification's and the portal's
consumers of dossier events, alone.

Each service runs offline (``motcua.shared.testing.offline``: its lifespan on
a real SQLite database, no broker), its background workers stopped, and its
consumer core is fed what the bench's dossiers put on ``motcua.dossier.events``
(``dossier.received``, ``dossier.routed``, ``dossier.handoff_offered``),
unsigned as legacy history is, in batches of ``--batch`` records. CPU is this
process's time (the SQLite calls run on the loop's thread), so the figures move
far less with the machine's load than a whole bench's. ``--portal-sender``
adds the portal's sender, run after each batch until nothing is due, against
the national portal simulator in this process.

    .venv/bin/python bench/consumers_bench.py --dossiers 1000 --batch 3
    .venv/bin/python bench/consumers_bench.py --service portal --portal-sender
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from motcua.bench.load_events import dossier_code, dossier_events
from motcua.shared.logging import configure_logging
from motcua.shared.settings import CommonSettings
from motcua.shared.testing.helpers import one_key_ring
from motcua.shared.testing.offline import offline
from motcua.shared.testing.signing import use_legacy_keystore


def _stop_background_workers() -> None:
    """The bench measures the consumers: the delivery worker, the portal's
    sender and poller would otherwise call providers that are not there."""

    async def idle(_self: Any) -> None:
        await asyncio.Event().wait()

    from motcua.notification.worker import DeliveryWorker
    from motcua.portal.poller import Poller
    from motcua.portal.sender import Sender

    DeliveryWorker.run = idle  # type: ignore[method-assign]
    Sender.run = idle  # type: ignore[method-assign]
    Poller.run = idle  # type: ignore[method-assign]


def _app(service: str, data_dir: Path) -> Any:
    common = CommonSettings(data_dir=data_dir, environment="test", log_level="WARNING")
    if service == "notification":
        from motcua.notification.app import create_app as notification_app
        from motcua.notification.settings import NotificationSettings

        return notification_app(NotificationSettings(common=common))
    from motcua.portal.app import create_app as portal_app
    from motcua.portal.settings import PortalSettings

    return portal_app(PortalSettings(common=common))


def _portal_sender(app: Any) -> Any:
    """The portal's sender, talking to the national portal simulator in this
    process (what ``--portal-sender`` measures with the consumer)."""
    import httpx
    from prometheus_client import CollectorRegistry

    from motcua.portal.app import platform_credentials
    from motcua.portal.client import PortalClient
    from motcua.portal.simulator.app import create_simulator
    from motcua.portal.simulator.settings import credentials
    from motcua.portal.simulator.state import Portal

    settings = app.state.runtime.settings
    sender = app.state.sender
    sender.client = PortalClient(
        platform_credentials(settings),
        registry=CollectorRegistry(),
        transport=httpx.ASGITransport(
            app=create_simulator(Portal(credentials(settings)))
        ),
    )
    return sender


async def _drain(sender: Any) -> None:
    while await sender.round():
        pass


async def measure(
    service: str, dossiers: int, batch: int, *, portal_sender: bool = False
) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix=f"consumers-bench-{service}-"))
    app = _app(service, data_dir)
    sender = _portal_sender(app) if service == "portal" and portal_sender else None
    async with offline(app) as svc:
        engine = svc.runtime.engine
        statements: collections.Counter[str] = collections.Counter()

        @sa.event.listens_for(engine.sync_engine, "before_cursor_execute")
        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            words = statement.split(None, 1)
            verb = words[0] if words else "?"
            table = re.search(r"(?:FROM|INTO|UPDATE)\s+(\w+)", statement)
            statements[f"{verb} {table.group(1) if table else ''}".strip()] += 1

        stamp = time.strftime("%H%M%S")
        records = [
            svc.record(event)
            for n in range(dossiers)
            for event in dossier_events(dossier_code(stamp, n), n)
        ]
        warm, records = records[: 30 * 3], records[30 * 3 :]
        for start in range(0, len(warm), batch):
            await svc.feed_records(*warm[start : start + batch])
            if sender is not None:
                await _drain(sender)
        measured = dossiers - 30
        statements.clear()
        cpu, wall = time.process_time(), time.perf_counter()
        for start in range(0, len(records), batch):
            await svc.feed_records(*records[start : start + batch])
            if sender is not None:
                await _drain(sender)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    total = sum(statements.values())
    print(
        f"{service}{' and its sender' if sender is not None else ''}: "
        f"{measured} dossiers in batches of {batch} records: "
        f"{cpu * 1000 / measured:.2f} ms CPU per dossier "
        f"({wall * 1000 / measured:.2f} ms wall), "
        f"{total / measured:.2f} SQL statements per dossier"
    )
    print(
        "  "
        + ", ".join(
            f"{k} {v / measured:.2f}"
            for k, v in sorted(statements.items(), key=lambda kv: -kv[1])
        )
    )


async def run(args: argparse.Namespace) -> None:
    for service in args.service:
        await measure(
            service, args.dossiers, args.batch, portal_sender=args.portal_sender
        )


def main() -> None:
    use_legacy_keystore()  # the events are unsigned (legacy), as other benches'
    one_key_ring()
    configure_logging("bench", level="WARNING")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dossiers", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=3, help="records per batch")
    parser.add_argument(
        "--service",
        action="append",
        choices=["notification", "portal"],
        help="default: both",
    )
    parser.add_argument(
        "--portal-sender",
        action="store_true",
        help="also run the portal's sender after each batch until nothing is "
        "due, against the national portal simulator in this process",
    )
    args = parser.parse_args()
    args.service = args.service or ["notification", "portal"]
    _stop_background_workers()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
