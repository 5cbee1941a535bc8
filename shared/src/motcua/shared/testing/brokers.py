"""A real Kafka-protocol broker for tests.

``KAFKA_BOOTSTRAP_SERVERS`` if set; else testcontainers' Kafka when a Docker
engine answers; else the tansu binary on a free loopback port.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from motcua.shared.local_broker import LocalBroker, free_port


@dataclass(frozen=True)
class BrokerUnderTest:
    bootstrap_servers: str
    profile: str  # "tansu" or "kafka"
    kind: str  # "external", "testcontainers" or "tansu"


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


@contextmanager
def broker_for_tests() -> Iterator[BrokerUnderTest]:
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield BrokerUnderTest(
            external, os.environ.get("KAFKA_PROFILE", "kafka"), "external"
        )
        return
    if _docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as kafka:
            yield BrokerUnderTest(
                kafka.get_bootstrap_server(), "kafka", "testcontainers"
            )
        return
    broker = LocalBroker("127.0.0.1", free_port()).start()
    try:
        yield BrokerUnderTest(broker.bootstrap_servers, "tansu", "tansu")
    finally:
        broker.stop()
