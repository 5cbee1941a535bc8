"""Run as a separate process by the crash tests: writes dossier events through
the outbox, then dies without warning (``os._exit``) at a chosen moment.

    python crash_writer.py DB_URL BOOTSTRAP TOPIC COUNT (after_commit|after_send)
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from messaging_support import create_tables, withdrawal, write_events

from motcua.shared.db import create_engine, create_session_factory
from motcua.shared.kafka import create_broker, kafka_publisher
from motcua.shared.messaging import OutboxRelay
from motcua.shared.settings import KafkaSettings


async def main(url: str, bootstrap: str, topic: str, count: int, mode: str) -> None:
    engine = create_engine(url)
    await create_tables(engine)
    sessions = create_session_factory(engine)
    events = [
        withdrawal(f"000.00.12.H14-260101-{i % 5 + 10:04d}") for i in range(count)
    ]
    await write_events(sessions, topic, events)
    if mode == "after_commit":
        os._exit(137)  # committed, nothing published
    broker = create_broker(
        KafkaSettings(bootstrap_servers=bootstrap), client_id="crash"
    )
    await broker.start()

    async def die() -> None:
        os._exit(137)  # published, not yet marked as published

    relay = OutboxRelay(
        name="crash",
        engine=engine,
        sessions=sessions,
        publish=kafka_publisher(broker),
        after_send=die,
    )
    await relay.publish_pending()


if __name__ == "__main__":
    asyncio.run(
        main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    )
