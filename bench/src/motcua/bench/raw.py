"""The broker's raw limit: plain aiokafka produce and consume of messages the
size of ours, on the same broker, with the producer settings motcua uses."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from motcua.shared.kafka import consumer_profile, declare_topics
from motcua.shared.settings import KafkaSettings


@dataclass(frozen=True)
class RawResult:
    messages: int
    message_bytes: int
    produce_per_s: float
    consume_per_s: float
    end_to_end_per_s: float


async def measure_broker_limit(
    settings: KafkaSettings, *, count: int = 50_000, message_bytes: int = 1_500
) -> RawResult:
    topic = f"motcua.bench.raw.{uuid.uuid4().hex[:8]}"
    await declare_topics(settings, [topic])
    profile = consumer_profile(settings)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.bootstrap_servers,
        group_id=f"bench-raw-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=profile.session_timeout_ms,
        heartbeat_interval_ms=profile.heartbeat_interval_ms,
        fetch_max_wait_ms=profile.fetch_max_wait_ms,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        acks="all",
        linger_ms=2,
        max_batch_size=256 * 1024,
        enable_idempotence=False,
    )
    await consumer.start()
    await producer.start()
    try:
        while not consumer.assignment():  # noqa: ASYNC110  (aiokafka offers no event)
            await asyncio.sleep(0.05)
        payload = os.urandom(message_bytes // 2).hex().encode()
        received = 0
        last_receive = 0.0

        async def consume() -> None:
            nonlocal received, last_receive
            while received < count:
                batch = await consumer.getmany(timeout_ms=500, max_records=10_000)
                got = sum(len(records) for records in batch.values())
                if got:
                    received += got
                    last_receive = time.perf_counter()

        reader = asyncio.create_task(consume())
        started = time.perf_counter()
        futures = [
            await producer.send(
                topic, payload, key=f"000.01.31.H14-260302-{i % 9999:04d}".encode()
            )
            for i in range(count)
        ]
        await asyncio.gather(*futures)
        produced = time.perf_counter()
        consume_started = produced if received == 0 else started
        await asyncio.wait_for(reader, timeout=120)
        return RawResult(
            messages=count,
            message_bytes=len(payload),
            produce_per_s=count / (produced - started),
            consume_per_s=count / max(last_receive - consume_started, 1e-9)
            if received
            else 0.0,
            end_to_end_per_s=count / (last_receive - started),
        )
    finally:
        await producer.stop()
        await consumer.stop()
