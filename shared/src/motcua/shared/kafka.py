"""Kafka plumbing: timing profiles, the broker factory, explicit topic
declaration, and the adapters between FastStream and the messaging core."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from motcua.shared.contracts import headers as h
from motcua.shared.contracts.topics import (
    BUSINESS_TOPICS,
    MAX_RECORD_BYTES,
    dead_letter_topic,
    topic_config,
)
from motcua.shared.messaging.consumer import EventConsumer
from motcua.shared.messaging.continuity import ForgetOnRebalance
from motcua.shared.messaging.relay import Publish
from motcua.shared.settings import KafkaSettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ConsumerProfile:
    """Group and fetch timings. Tansu holds every group join for half the
    session timeout and re-polls fetches, so it wants short values; a real
    cluster refuses sessions under 6 s."""

    session_timeout_ms: int
    heartbeat_interval_ms: int
    fetch_max_wait_ms: int


PROFILES: dict[str, ConsumerProfile] = {
    # A fetch with nothing to return is held up to fetch_max_wait_ms, and
    # tansu re-polls its storage meanwhile: 20 ms cost the four idle services
    # ~200 ms of CPU per second and tansu ~230; 50 ms, 123 and 114 (bench
    # idle figures), for some 30 ms more per hop when records trickle in.
    "tansu": ConsumerProfile(
        session_timeout_ms=1000, heartbeat_interval_ms=300, fetch_max_wait_ms=50
    ),
    "kafka": ConsumerProfile(
        session_timeout_ms=10000, heartbeat_interval_ms=3000, fetch_max_wait_ms=100
    ),
}


def consumer_profile(settings: KafkaSettings) -> ConsumerProfile:
    base = PROFILES[settings.profile or "tansu"]
    return ConsumerProfile(
        session_timeout_ms=settings.session_timeout_ms or base.session_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms
        or base.heartbeat_interval_ms,
        fetch_max_wait_ms=settings.fetch_max_wait_ms or base.fetch_max_wait_ms,
    )


def _ssl_context(settings: KafkaSettings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=settings.ssl_cafile)


def _security(settings: KafkaSettings) -> BaseSecurity | None:
    use_ssl = settings.security_protocol in ("SSL", "SASL_SSL")
    ctx = _ssl_context(settings) if use_ssl else None
    if settings.security_protocol.startswith("SASL"):
        user = settings.sasl_username or ""
        password = (
            settings.sasl_password.get_secret_value() if settings.sasl_password else ""
        )
        mechanism = (settings.sasl_mechanism or "PLAIN").upper()
        cls = {"SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}.get(
            mechanism, SASLPlaintext
        )
        return cls(user, password, ssl_context=ctx)
    if use_ssl:
        return BaseSecurity(ssl_context=ctx)
    return None


def _admin_kwargs(settings: KafkaSettings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"bootstrap_servers": settings.bootstrap_servers}
    if settings.security_protocol != "PLAINTEXT":
        kwargs["security_protocol"] = settings.security_protocol
        kwargs["ssl_context"] = _ssl_context(settings)
        if settings.sasl_mechanism:
            kwargs["sasl_mechanism"] = settings.sasl_mechanism
            kwargs["sasl_plain_username"] = settings.sasl_username
            kwargs["sasl_plain_password"] = (
                settings.sasl_password.get_secret_value()
                if settings.sasl_password
                else None
            )
    return kwargs


def create_broker(settings: KafkaSettings, *, client_id: str) -> KafkaBroker:
    """A FastStream broker that never auto-creates topics and never asks for an
    idempotent producer (aiokafka's InitProducerId fails on tansu): duplicates
    are removed by the consumers' inboxes instead.

    Records go to partitions by aiokafka's default partitioner, murmur2 of the
    key (as Kafka's Java client): a dossier's events share a partition only if
    every producer of the topic uses it (librdkafka: ``partitioner=
    murmur2_random``; its own default, CRC32, picks other partitions)."""
    return KafkaBroker(
        settings.bootstrap_servers,
        client_id=f"motcua-{client_id}",
        allow_auto_create_topics=False,
        acks="all",
        enable_idempotence=False,
        linger_ms=2,
        max_batch_size=256 * 1024,
        max_request_size=MAX_RECORD_BYTES,
        request_timeout_ms=30_000,
        security=_security(settings),
        logger=None,  # per-message access logs cost more than they tell
        graceful_timeout=15.0,
    )


def business_topic_names() -> tuple[str, ...]:
    return BUSINESS_TOPICS


async def declare_topics(settings: KafkaSettings, names: Iterable[str]) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created.

    Topics are never left to auto-creation (tansu would give them 4 partitions).
    """
    admin = AIOKafkaAdminClient(**_admin_kwargs(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in dict.fromkeys(names) if n not in existing]
        created: list[str] = []
        for name in missing:
            try:
                await admin.create_topics(
                    [
                        NewTopic(
                            name,
                            settings.partitions,
                            settings.replication_factor,
                            topic_configs={
                                "max.message.bytes": str(MAX_RECORD_BYTES),
                                **topic_config(name),
                            },
                        )
                    ]
                )
                created.append(name)
            except TopicAlreadyExistsError:  # another service won the race
                pass
        if created:
            log.info("topics_declared", topics=created, partitions=settings.partitions)
        await _check_retention(admin, [n for n in names if n not in created])
        return created
    finally:
        await admin.close()


async def _check_retention(admin: AIOKafkaAdminClient, names: Iterable[str]) -> None:
    """A history topic created before ADR 0013 (or by hand) may still drop
    records after the broker's default retention: say so loudly (changing a
    topic's configuration is the cluster operator's decision)."""
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    wanted = [n for n in dict.fromkeys(names) if topic_config(n)]
    if not wanted:
        return
    try:
        answers = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, n) for n in wanted]
        )
    except Exception as exc:  # a broker without DescribeConfigs: nothing to check
        log.info("topic_retention_unchecked", error=repr(exc))
        return
    for answer in answers:
        for _code, _msg, _type, topic, entries in answer.resources:
            configs = {e[0]: e[1] for e in entries}
            expected = topic_config(topic)
            if any(configs.get(k) not in (None, v) for k, v in expected.items()):
                log.warning(
                    "topic_retention_too_short",
                    topic=topic,
                    retention_ms=configs.get("retention.ms"),
                    expected=expected,
                    fix=f"kafka-configs.sh --alter --entity-type topics --entity-name "
                    f"{topic} --add-config retention.ms=-1,retention.bytes=-1",
                )


def kafka_publisher(broker: KafkaBroker) -> Publish:
    """Adapter the outbox relay sends through (enqueue now, confirm later)."""

    async def publish(
        topic: str, key: bytes | None, value: bytes, headers: dict[str, str]
    ) -> asyncio.Future[Any]:
        return await broker.publish(
            value,
            topic,
            key=key,
            headers=headers,
            correlation_id=headers.get(h.CORRELATION_ID),
            no_confirm=True,
        )

    return publish


async def _keep_raw(_message: Any) -> None:
    """Decoder that leaves bodies as bytes: the messaging core parses them, so a
    malformed body becomes a dead letter instead of a framework error."""
    return None


def subscribe(
    broker: KafkaBroker,
    consumer: EventConsumer,
    settings: KafkaSettings,
    *,
    batch_size: int,
    description: str = "",
) -> None:
    """Register an :class:`EventConsumer` as a batch subscriber with manual acks."""
    profile = consumer_profile(settings)

    async def on_batch(message: KafkaMessage) -> None:
        await consumer.on_kafka_batch(message)

    on_batch.__name__ = f"{consumer.group_id.replace('-', '_')}_consumer"
    broker.subscriber(
        *consumer.topics,
        group_id=consumer.group_id,
        batch=True,
        max_records=batch_size,
        batch_timeout_ms=profile.fetch_max_wait_ms,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        session_timeout_ms=profile.session_timeout_ms,
        heartbeat_interval_ms=profile.heartbeat_interval_ms,
        fetch_max_wait_ms=profile.fetch_max_wait_ms,
        max_partition_fetch_bytes=MAX_RECORD_BYTES,
        decoder=_keep_raw,
        listener=ForgetOnRebalance(consumer.continuity),
        description=description or None,
    )(on_batch)


def topics_for(consumers: Iterable[EventConsumer]) -> list[str]:
    names: list[str] = list(BUSINESS_TOPICS)
    for consumer in consumers:
        names.extend(consumer.topics)
        names.append(dead_letter_topic(consumer.group_id))
    return names
