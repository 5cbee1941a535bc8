"""The reliable-messaging core over a real broker, on SQLite and PostgreSQL:
a crash between commit and publish loses nothing, a duplicate is applied once,
a poison message is dead-lettered and the next message is still processed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import messaging_support
import pytest
import sqlalchemy as sa
from messaging_support import (
    applied_counts,
    harness,
    read_topic,
    topic_size,
    withdrawal,
    write_events,
)

from motcua.shared.contracts import headers as h
from motcua.shared.contracts.dossier import DossierWithdrawnV1
from motcua.shared.messaging.tables import InboxRecord
from motcua.shared.settings import KafkaSettings
from motcua.shared.testing.helpers import wait_for

pytestmark = pytest.mark.broker

CRASH_WRITER = Path(__file__).with_name("crash_writer.py")


def _crash(
    database_url: str, kafka_settings: KafkaSettings, topic: str, count: int, mode: str
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(CRASH_WRITER),
            database_url,
            kafka_settings.bootstrap_servers,
            topic,
            str(count),
            mode,
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 137, result.stderr.decode()


@pytest.mark.parametrize("moment", ["after_commit", "after_send"])
async def test_a_crash_between_commit_and_publish_loses_nothing_and_applies_once(
    database_url: str, kafka_settings: KafkaSettings, unique: str, moment: str
) -> None:
    topic = f"t.crash.{unique}"
    from motcua.shared.kafka import declare_topics

    await declare_topics(kafka_settings, [topic])
    _crash(database_url, kafka_settings, topic, 20, moment)

    if moment == "after_send":
        # The dead process did publish: the relay will send those rows again.
        assert await topic_size(kafka_settings, topic) == 20

    async with harness(
        database_url, kafka_settings, topic=topic, group_id=f"g-{unique}", create=False
    ) as hx:

        async def all_applied() -> dict[str, int] | None:
            counts = await applied_counts(hx.sessions)
            return counts if len(counts) == 20 else None

        counts = await wait_for(all_applied, message="all 20 events applied")
        assert set(counts.values()) == {1}

        async def nothing_pending() -> bool:
            return await hx.relay.pending_count() == 0

        await wait_for(nothing_pending, message="every outbox row marked published")
        assert set((await applied_counts(hx.sessions)).values()) == {1}
    expected_size = 40 if moment == "after_send" else 20
    assert await topic_size(kafka_settings, topic) == expected_size


async def test_a_duplicate_delivery_is_applied_once(
    database_url: str, kafka_settings: KafkaSettings, unique: str
) -> None:
    topic = f"t.dup.{unique}"
    async with harness(
        database_url, kafka_settings, topic=topic, group_id=f"g-{unique}"
    ) as hx:
        event = withdrawal("000.00.12.H14-260101-0001")
        other = withdrawal("000.00.12.H14-260101-0001")
        # The same event three times (a relay retry, a replay), another in between.
        for e in (event, other, event, event):
            await hx.broker.publish(
                e.to_json(),
                topic,
                key=b"000.00.12.H14-260101-0001",
                headers={h.EVENT_ID: str(e.event_id), h.EVENT_TYPE: e.event_type},
            )

        async def both() -> dict[str, int] | None:
            counts = await applied_counts(hx.sessions)
            return counts if len(counts) == 2 else None

        counts = await wait_for(both, message="both events applied")
        async with hx.sessions() as session:
            inbox = await session.scalar(
                sa.select(sa.func.count()).select_from(InboxRecord)
            )
        assert counts == {str(event.event_id): 1, str(other.event_id): 1}
        assert inbox == 2
        # Applying the same records again directly (a redelivered batch) changes nothing.
        assert hx.consumer is not None
        records = await read_topic(kafka_settings, topic, 4)
        from motcua.shared.messaging import ConsumedRecord

        await hx.consumer.apply_batch([ConsumedRecord.from_kafka(r) for r in records])
        assert await applied_counts(hx.sessions) == counts


@pytest.mark.parametrize("poison", ["unparseable", "handler_fails", "refused"])
async def test_a_poison_message_is_dead_lettered_and_the_next_one_still_processed(
    database_url: str, kafka_settings: KafkaSettings, unique: str, poison: str
) -> None:
    topic = f"t.poison.{unique}"
    group = f"g-{unique}"
    async with harness(database_url, kafka_settings, topic=topic, group_id=group) as hx:
        before, after = (
            withdrawal("000.00.12.H14-260101-0002"),
            withdrawal("000.00.12.H14-260101-0002"),
        )
        await write_events(hx.sessions, topic, [before])
        if poison == "unparseable":
            await hx.broker.publish(
                b'{"event_type": "dossier.withdrawn", "oops',
                topic,
                key=b"000.00.12.H14-260101-0002",
                headers={h.EVENT_ID: "bad-1", h.EVENT_TYPE: "dossier.withdrawn"},
            )
        else:
            reason = "poison" if poison == "handler_fails" else "forged"
            await write_events(
                hx.sessions,
                topic,
                [withdrawal("000.00.12.H14-260101-0002", reason=reason)],
            )
        await write_events(hx.sessions, topic, [after])
        hx.relay.wake()

        async def both() -> dict[str, int] | None:
            counts = await applied_counts(hx.sessions)
            return counts if len(counts) == 2 else None

        counts = await wait_for(both, message="the messages around the poison applied")
        assert counts == {str(before.event_id): 1, str(after.event_id): 1}
        assert hx.consumer is not None
        dead = await read_topic(kafka_settings, hx.consumer.dead_letter_topic, 1)
        assert len(dead) == 1
        headers = {k: v.decode() for k, v in dead[0].headers}
        assert headers[h.DLT_ORIGINAL_TOPIC] == topic
        assert headers[h.DLT_CONSUMER] == group
        assert int(headers[h.DLT_ORIGINAL_OFFSET]) >= 0
        assert headers[h.DLT_ORIGINAL_PARTITION].isdigit()
        error_type, reason, attempts = {
            "unparseable": ("EventRefused", "malformed", "1"),
            "handler_fails": ("ValueError", "handler_failed", "3"),
            # refused at once, and what the handler wrote first is undone
            "refused": ("EventRefused", "illegal_transition", "1"),
        }[poison]
        assert headers[h.DLT_ERROR_TYPE] == error_type
        assert headers[h.DLT_REASON] == reason
        assert headers[h.DLT_ATTEMPTS] == attempts
        assert dead[0].key == b"000.00.12.H14-260101-0002"


@pytest.mark.parametrize("guard", [False, True], ids=["unchained", "chained"])
async def test_an_operator_replay_of_a_dead_letter_is_applied_after_the_fix(
    sqlite_database_url: str, kafka_settings: KafkaSettings, unique: str, guard: bool
) -> None:
    """Chained: the chain guard linked the withdrawal before the handler
    refused it, and the link stays (later acts of the dossier must still
    link); the replay is no copy of a linked event, the operator sent it."""
    topic = f"t.replay.{unique}"
    async with harness(
        sqlite_database_url,
        kafka_settings,
        topic=topic,
        group_id=f"g-{unique}",
        guard=guard,
    ) as hx:
        assert hx.consumer is not None
        reason = f"bug-{unique}"
        messaging_support.REFUSED_REASONS.add(reason)
        poison = withdrawal("000.00.12.H14-260101-0003", reason=reason)
        await write_events(hx.sessions, topic, [poison])
        hx.relay.wake()
        (dead,) = await read_topic(kafka_settings, hx.consumer.dead_letter_topic, 1)
        assert await applied_counts(hx.sessions) == {}

        messaging_support.REFUSED_REASONS.discard(reason)  # the bug is fixed
        headers = {k: v.decode() for k, v in dead.headers if not k.startswith("dlt-")}
        # A plain redelivery is still a duplicate; a replay is applied.
        await hx.broker.publish(dead.value, topic, key=dead.key, headers=headers)
        await hx.broker.publish(
            dead.value,
            topic,
            key=dead.key,
            headers={**headers, h.REPLAY_OF: headers[h.EVENT_ID]},
        )

        async def applied() -> dict[str, int] | None:
            counts = await applied_counts(hx.sessions)
            return counts or None

        assert await wait_for(applied, message="the replay applied") == {
            str(poison.event_id): 1
        }


async def test_event_types_the_handler_ignores_are_not_recorded(
    sqlite_database_url: str, kafka_settings: KafkaSettings, unique: str
) -> None:
    topic = f"t.filter.{unique}"
    async with harness(
        sqlite_database_url,
        kafka_settings,
        topic=topic,
        group_id=f"g-{unique}",
        handles=[DossierWithdrawnV1],
    ) as hx:
        from motcua.shared.contracts import new_event
        from motcua.shared.contracts.dossier import DossierRatedV1

        rated = new_event(
            DossierRatedV1(score=5),
            dossier_code="000.00.12.H14-260101-0004",
            producer="test",
        )
        kept = withdrawal("000.00.12.H14-260101-0004")
        await write_events(hx.sessions, topic, [rated, kept])

        async def applied() -> dict[str, int] | None:
            counts = await applied_counts(hx.sessions)
            return counts or None

        assert await wait_for(applied, message="the withdrawal applied") == {
            str(kept.event_id): 1
        }
        async with hx.sessions() as session:
            inbox = set(
                (await session.execute(sa.select(InboxRecord.message_id))).scalars()
            )
        assert inbox == {str(kept.event_id)}


async def test_a_record_the_broker_skipped_is_read_again(
    database_url: str, kafka_settings: KafkaSettings, unique: str
) -> None:
    """tansu can answer a fetch with a batch appended after one still being
    written (bench-20261206T145331 lost a dossier that way): the client's
    position then passes records it never returned. The consumer sees the
    hole in the offsets, seeks back and reads them."""
    topic = f"t.gap.{unique}"
    async with harness(
        database_url, kafka_settings, topic=topic, group_id=f"g-{unique}"
    ) as hx:
        subscriber = hx.broker.subscribers[0]
        consumer = subscriber.consumer  # type: ignore[attr-defined]
        fetch = consumer.getmany
        skipped: list[int] = []

        async def skipping(*args: object, **kwargs: object) -> object:
            batch = await fetch(*args, **kwargs)
            for records in batch.values():
                # as tansu does: records returned after a hole (a hole at the
                # end cannot happen: the position follows the last record)
                for record in list(records[:-1]):
                    if record.offset in (2, 5) and record.offset not in skipped:
                        records.remove(record)
                        skipped.append(record.offset)
            return batch

        consumer.getmany = skipping
        events = [withdrawal("000.00.12.H14-260101-0007") for _ in range(8)]
        await write_events(hx.sessions, topic, events[:4])
        await write_events(hx.sessions, topic, events[4:])
        expected = {str(e.event_id): 1 for e in events}

        async def all_applied() -> dict[str, int] | None:
            counts = await applied_counts(hx.sessions)
            return counts if counts == expected else None

        await wait_for(all_applied, message="all 8 applied")
        assert sorted(skipped) == [2, 5]
        # one partition holds the dossier's 8 records; nothing committed past them
        await wait_for(
            lambda: _committed_total_is(consumer, 8), message="offsets committed to 8"
        )


async def _committed_total_is(consumer: Any, total: int) -> bool:
    committed = [await consumer.committed(tp) for tp in consumer.assignment()]
    return sum(c or 0 for c in committed) == total
