"""Settings refuse development shortcuts in production."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from motcua.shared.settings import CommonSettings, KafkaSettings, ServiceSettings


def test_production_needs_a_real_secret_and_database() -> None:
    with pytest.raises(ValidationError, match="MOTCUA_JWT_SECRET"):
        CommonSettings(environment="production")
    common = CommonSettings(environment="production", jwt_secret=SecretStr("x" * 40))
    with pytest.raises(ValidationError, match="DATABASE_URL must be set"):
        ServiceSettings(common=common)
    assert ServiceSettings(
        common=common, database_url="postgresql+asyncpg://db/x"
    ).database_url


def test_the_kafka_profile_follows_where_the_broker_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("KAFKA_PROFILE", raising=False)
    assert KafkaSettings().profile == "tansu"
    assert KafkaSettings(bootstrap_servers="kafka:9092").profile == "kafka"
    assert (
        KafkaSettings(bootstrap_servers="kafka:9092", profile="tansu").profile
        == "tansu"
    )
