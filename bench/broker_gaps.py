"""Does the local broker ever hand a consumer records past a hole, and does
offset continuity (``motcua.shared.messaging.continuity``) read them again?

Starts tansu, declares one topic, and runs several producers writing small
bursts concurrently while several consumer groups read with the services'
fetch settings. Each group checks that every partition's offsets follow each
other and that it saw every record sent. With ``--continuity`` the groups
read through ``contiguous`` (as every motcua consumer does): a hole is sought
back and read again. Without it, a hole is a record lost for that group.

    .venv/bin/python bench/broker_gaps.py --seconds 90
    .venv/bin/python bench/broker_gaps.py --seconds 90 --continuity
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from motcua.shared.local_broker import LocalBroker, free_port
from motcua.shared.messaging.continuity import OffsetContinuity, contiguous

TOPIC = "broker.gaps"


@dataclass
class Group:
    name: str
    seen: set[bytes] = field(default_factory=set)
    holes: int = 0
    rereads: int = 0

    def count(self, outcome: str) -> None:
        self.rereads += outcome == "reread"


async def produce(bootstrap: str, sent: set[bytes], rate: float, until: float) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=2)
    await producer.start()
    try:
        while time.monotonic() < until:
            burst = random.randint(1, 8)
            pending = []
            for _ in range(burst):
                value = uuid.uuid4().bytes
                pending.append(await producer.send(TOPIC, value, key=value[:4]))
                sent.add(value)
            await asyncio.gather(*pending)
            await asyncio.sleep(burst / rate * random.uniform(0.5, 1.5))
    finally:
        await producer.stop()


async def consume(
    bootstrap: str, group: Group, done: asyncio.Event, checked: bool
) -> None:
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=bootstrap,
        group_id=group.name,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
        session_timeout_ms=1000,
        heartbeat_interval_ms=300,
    )
    await consumer.start()
    continuity = OffsetContinuity()
    last: dict[TopicPartition, int] = {}
    idle = 0
    try:
        while idle < 25:
            batch = await consumer.getmany(timeout_ms=200, max_records=100)
            if checked:
                batch, pause = await contiguous(
                    consumer,
                    continuity,
                    batch,
                    grouped=True,
                    reader=group.name,
                    count=group.count,
                )
            for tp, records in batch.items():
                for record in records:
                    if tp in last and record.offset > last[tp] + 1:
                        group.holes += 1
                    last[tp] = record.offset
                    group.seen.add(record.value)
                if checked:
                    continuity.advance(tp, records)
            if any(batch.values()):
                await consumer.commit()
                idle = 0
            elif done.is_set():
                idle += 1
            if checked and pause:
                await asyncio.sleep(pause)
    finally:
        await consumer.stop()


async def run(args: argparse.Namespace) -> None:
    with LocalBroker("127.0.0.1", free_port()) as broker:
        bootstrap = broker.bootstrap_servers
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        await admin.create_topics([NewTopic(TOPIC, args.partitions, 1)])
        await admin.close()
        sent: set[bytes] = set()
        done = asyncio.Event()
        groups = [Group(f"g{i}") for i in range(args.groups)]
        readers = [
            asyncio.create_task(consume(bootstrap, g, done, args.continuity))
            for g in groups
        ]
        await asyncio.sleep(3)  # every group joined
        until = time.monotonic() + args.seconds
        rate = args.rate / args.producers
        await asyncio.gather(
            *(produce(bootstrap, sent, rate, until) for _ in range(args.producers))
        )
        done.set()
        await asyncio.gather(*readers)
    print(
        f"{len(sent)} records, {args.producers} producers, {args.partitions} partitions, "
        f"{args.seconds:.0f} s, continuity {'on' if args.continuity else 'off'}"
    )
    print("| group | seen | missing | holes seen | rereads |")
    print("|---|---|---|---|---|")
    for g in groups:
        print(
            f"| {g.name} | {len(g.seen)} | {len(sent - g.seen)} | {g.holes} | {g.rereads} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument(
        "--rate", type=float, default=1500, help="records/s, all producers"
    )
    parser.add_argument("--producers", type=int, default=8)
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--groups", type=int, default=4)
    parser.add_argument("--continuity", action="store_true")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
