"""CPU per record of the consumer core as the end-to-end bench drives it:
signed, chained acts checked by the chain guard, then a handler.

Per dossier, the end-to-end bench's mix: ``dossier.received``,
``dossier.routed``, ``dossier.handoff_offered`` and ``dossier.nearly_due``
(signed and linked as their producers seal them) on the dossier topic, and two
``notification.delivered`` on the notification topic, interleaved as the two
topics arrive (the notices a few dossiers behind). Two consumers apply them in
batches of ``--batch`` records on a fresh SQLite database, each on records of
its own (a signature this process verified once is remembered, so no run may
see another's):

- *core*: a handler that does nothing, with the chain guard: what every
  consuming service pays per record before its own work (admission, inbox,
  span and log context, the guard);
- *reporting*: reporting's ``Projector`` on its migrated schema.

CPU is this process's (``time.process_time``, SQLite's work included).

    .venv/bin/python bench/consumer_bench.py --dossiers 1000
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from motcua.reporting.projections import Projector
from motcua.shared.contracts import EventData, new_event
from motcua.shared.contracts.common import Channel, NotificationChannel
from motcua.shared.contracts.dossier import DossierReceivedV2, Person
from motcua.shared.contracts.handoff import (
    DeadlineScope,
    DossierNearlyDueV1,
    DossierRoutedV1,
    HandoffOfferedV1,
    RoutedStep,
)
from motcua.shared.contracts.notification import NotificationDeliveredV1
from motcua.shared.contracts.topics import DOSSIER_EVENTS, NOTIFICATION_EVENTS
from motcua.shared.db import create_engine, create_session_factory, migrate
from motcua.shared.domain.agencies import load_registry
from motcua.shared.messaging import ConsumedRecord, EventConsumer, HandlerContext
from motcua.shared.messaging.outbox import envelope_headers
from motcua.shared.personal_data import PersonalDataAccess, load_keys
from motcua.shared.settings import CommonSettings, SigningSettings
from motcua.shared.signing.chain import ChainState
from motcua.shared.signing.guard import ChainGuard
from motcua.shared.signing.keystore import (
    FileKeystore,
    KeyMaterial,
    province_of,
    registry_agencies,
)
from motcua.shared.signing.producer import seal
from motcua.shared.testing.helpers import one_key_ring, sealed

MIGRATIONS = (
    Path(__file__).resolve().parents[1]
    / "services/reporting/src/motcua/reporting/migrations"
)
DESK, STP = "000.01.31.H14", "000.00.05.H14"
RECORDS_PER_DOSSIER = 6


def _acts(code: str, at: datetime) -> list[EventData]:
    steps = [
        RoutedStep(step_no=n, role="r", agency_code=a, hours=8)
        for n, a in enumerate((DESK, STP, DESK), start=1)
    ]
    return [
        DossierReceivedV2(
            procedure_code="2.000488",
            procedure_name="Cấp Phiếu lý lịch tư pháp",
            field_code="F01",
            field_name="Tư pháp",
            channel=Channel.ONLINE,
            receiving_agency_code=DESK,
            received_at=at,
            due_at=at + timedelta(days=14),
            personal_data=sealed(code, Person(full_name="Nguyễn Thị Lan")),
        ),
        DossierRoutedV1(competent_agency_code=STP, steps=steps),
        HandoffOfferedV1(step_no=1, to_agency_code=DESK),
        DossierNearlyDueV1(
            scope=DeadlineScope.STEP,
            holding_agency_code=DESK,
            step_no=1,
            due_at=at + timedelta(hours=8),
        ),
    ]


def mix(dossiers: int, keys: KeyMaterial, first: int) -> list[ConsumedRecord]:
    """The records of ``dossiers`` dossiers as the two topics interleave them."""
    at = datetime.now(UTC)
    streams: dict[str, list[tuple[bytes, Any]]] = {
        DOSSIER_EVENTS: [],
        NOTIFICATION_EVENTS: [],
    }
    for n in range(first, first + dossiers):
        code = f"{DESK}-261206-{n:04d}"
        state = ChainState()
        cause = None
        for data in _acts(code, at):
            envelope = new_event(
                data, dossier_code=code, producer="bench", causation=cause
            )
            done = seal(envelope, state, keys)
            state = done.state
            cause = envelope
            streams[DOSSIER_EVENTS].append((done.body, done.envelope))
        for channel in (NotificationChannel.SMS, NotificationChannel.EMAIL):
            notice = new_event(
                NotificationDeliveredV1(
                    notification_id=uuid.uuid4(),
                    channel=channel,
                    template="dossier.received",
                    trigger_event_type="dossier.received",
                    provider="sim",
                ),
                dossier_code=code,
                producer="notification",
                causation=cause,
            )
            streams[NOTIFICATION_EVENTS].append((notice.to_json(), notice))
    records: list[ConsumedRecord] = []
    offsets = dict.fromkeys(streams, 0)
    lag = 5  # the notices of the dossier five dossiers back
    for n in range(dossiers + lag):
        for topic, per, k in (
            (DOSSIER_EVENTS, 4, n),
            (NOTIFICATION_EVENTS, 2, n - lag),
        ):
            for body, envelope in streams[topic][max(k, 0) * per : (k + 1) * per]:
                records.append(
                    ConsumedRecord(
                        topic=topic,
                        partition=0,
                        offset=offsets[topic],
                        key=envelope.dossier_code,
                        value=body,
                        headers=envelope_headers(envelope),
                        timestamp_ms=int(time.time() * 1000),
                    )
                )
                offsets[topic] += 1
    return records


async def nothing(_ctx: HandlerContext, _event: Any) -> None:
    return None


async def measure(
    name: str,
    handler: Any,
    guard: ChainGuard,
    records: list[ConsumedRecord],
    batch: int,
) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await migrate(MIGRATIONS, url, version_table="alembic_version_reporting")
        engine = create_engine(url)
        consumer = EventConsumer(
            group_id=name,
            topics=[DOSSIER_EVENTS, NOTIFICATION_EVENTS],
            handler=handler,
            sessions=create_session_factory(engine),
            producer="bench",
            guard=guard,
        )
        cpu = time.process_time()
        for start in range(0, len(records), batch):
            await consumer.apply_batch(records[start : start + batch])
        cpu = time.process_time() - cpu
        await engine.dispose()
    return cpu * 1000 / len(records)


async def run(args: argparse.Namespace) -> None:
    # reporting logs each opening of personal data (info): not what is measured
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING)
    )
    one_key_ring()
    registry = load_registry()
    folder = Path(tempfile.mkdtemp(prefix="bench-keys-")) / "keys"
    store = FileKeystore(folder)
    store.init(
        registry_agencies(registry),
        province=province_of(registry),
        valid_from=datetime.now(UTC) - timedelta(days=1),
    )
    os.environ["MOTCUA_SIGNING_KEYSTORE"] = str(folder)
    keys = KeyMaterial(store)
    guard = ChainGuard(lambda: keys, SigningSettings())
    access = PersonalDataAccess("reporting", load_keys(CommonSettings()))
    made = 0

    def fresh(dossiers: int) -> list[ConsumedRecord]:
        nonlocal made
        made += dossiers
        return mix(dossiers, keys, made - dossiers)

    await measure("warm", Projector(access), guard, fresh(50), args.batch)
    results: dict[str, list[float]] = {"core": [], "reporting": []}
    for _ in range(args.repeat):
        for name, handler in (("core", nothing), ("reporting", Projector(access))):
            records = fresh(args.dossiers)
            results[name].append(
                await measure(name, handler, guard, records, args.batch)
            )
    for name, runs in results.items():
        best = min(runs)
        print(
            f"{name}: {best:.3f} ms CPU per record (best of {len(runs)}; median "
            f"{statistics.median(runs):.3f}), {best * RECORDS_PER_DOSSIER:.2f} ms "
            "per dossier"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, default=500)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
