"""The history topics are created to be kept forever (ADR 0013)."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from motcua.shared.contracts.topics import (
    BUSINESS_TOPICS,
    dead_letter_topic,
    topic_config,
)
from motcua.shared.kafka import _admin_kwargs, declare_topics
from motcua.shared.settings import KafkaSettings

pytestmark = pytest.mark.broker


def test_only_the_history_topics_are_retained_forever() -> None:
    for topic in BUSINESS_TOPICS:
        assert topic_config(topic) == {"retention.ms": "-1", "retention.bytes": "-1"}
    assert topic_config(dead_letter_topic("routing")) == {}


async def test_declared_history_topics_keep_their_records_forever(
    kafka_settings: KafkaSettings,
) -> None:
    await declare_topics(kafka_settings, BUSINESS_TOPICS)
    admin = AIOKafkaAdminClient(**_admin_kwargs(kafka_settings))
    await admin.start()
    try:
        answers = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t) for t in BUSINESS_TOPICS]
        )
    finally:
        await admin.close()
    seen = {}
    for answer in answers:
        for _code, _msg, _type, topic, entries in answer.resources:
            seen[topic] = {e[0]: e[1] for e in entries}
    for topic in BUSINESS_TOPICS:
        assert seen[topic].get("retention.ms") == "-1", (topic, seen[topic])
