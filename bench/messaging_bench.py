"""CPU cost of the reliable-messaging core itself, without a service around it.

Applies N records through :class:`EventConsumer` (inbox claim, span and log
context per record, a handler that emits one follow-up event into the outbox,
one transaction per batch), then publishes every outbox row through
:class:`OutboxRelay` to a publisher that acknowledges at once. What remains is
the core's own overhead per record, which every consuming service pays.

    .venv/bin/python bench/messaging_bench.py --records 5000
    .venv/bin/python bench/messaging_bench.py --records 2000 --relay-batch 2
    .venv/bin/python bench/messaging_bench.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from motcua.shared.contracts import new_event
from motcua.shared.contracts.dossier import DossierWithdrawnV1
from motcua.shared.db import create_engine, create_session_factory
from motcua.shared.messaging import EventConsumer, HandlerContext, OutboxRelay
from motcua.shared.messaging.consumer import ConsumedRecord
from motcua.shared.messaging.outbox import envelope_headers
from motcua.shared.messaging.tables import InboxRecord, OutboxRecord


def records(count: int) -> list[ConsumedRecord]:
    out = []
    for i in range(count):
        event = new_event(
            DossierWithdrawnV1(reason="rút hồ sơ"),
            dossier_code=f"000.01.31.H14-261201-{i % 300:04d}",
            producer="bench",
            # unsigned (imported): the core's own cost; signing_bench.py
            # measures what signing and checking add
            imported=True,
        )
        out.append(
            ConsumedRecord(
                topic="bench.in",
                partition=i % 6,
                offset=i,
                key=event.dossier_code,
                value=event.to_json(),
                headers=envelope_headers(event),
            )
        )
    return out


async def follow_up(ctx: HandlerContext, event: Any) -> None:
    ctx.emit(DossierWithdrawnV1(reason="tiếp"), cause=event, topic="bench.out")


async def run(url: str, count: int, batch: int, relay_batch: int) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        tables = [OutboxRecord.__table__, InboxRecord.__table__]  # type: ignore[attr-defined]
        await conn.run_sync(lambda c: SQLModel.metadata.create_all(c, tables=tables))
    sessions = create_session_factory(engine)
    consumer = EventConsumer(
        group_id="bench",
        topics=["bench.in"],
        handler=follow_up,
        sessions=sessions,
        producer="bench",
    )
    batch_of = records(count)
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, count, batch):
        await consumer.apply_batch(batch_of[start : start + batch])
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"consumer: {count} records, {cpu / count * 1000:.3f} ms CPU per record, "
        f"{count / wall:,.0f} records/s"
    )

    async def acknowledged(*_args: Any) -> asyncio.Future[None]:
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    relay = OutboxRelay(
        name="bench",
        engine=engine,
        sessions=sessions,
        publish=acknowledged,
        batch_size=relay_batch,
    )
    cpu, wall, published = time.process_time(), time.perf_counter(), 0
    while n := await relay.publish_pending():
        published += n
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"relay: {published} rows, {cpu / max(published, 1) * 1000:.3f} ms CPU per row, "
        f"{published / wall:,.0f} rows/s"
    )
    outbox = OutboxRecord.__table__  # type: ignore[attr-defined]
    async with sessions() as session:
        left = await session.scalar(
            sa.select(sa.func.count()).where(outbox.c.published_at.is_(None))
        )
    assert published == count, (published, count)
    assert left == 0, left
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument(
        "--relay-batch",
        type=int,
        default=500,
        help="rows per relay round (a service's rounds carry a few rows each)",
    )
    parser.add_argument(
        "--database-url", help="an empty database (default: a fresh SQLite file)"
    )
    args = parser.parse_args()
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    asyncio.run(run(url, args.records, args.batch, args.relay_batch))


if __name__ == "__main__":
    main()
