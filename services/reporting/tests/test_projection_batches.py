"""The live projection writes a batch's rows together at the consumer's flush:
the read model must not depend on how records are cut into batches, and a
record the database refuses must still be dead-lettered alone."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from reporting_support import Dossier, days, reporting_access
from sqlmodel import SQLModel

from motcua.reporting.monthly import MEASURES
from motcua.reporting.projections import Projector
from motcua.reporting.tables import PROJECTION_TABLES
from motcua.shared.contracts import VN_TZ, EventEnvelope
from motcua.shared.contracts import headers as h
from motcua.shared.contracts.topics import DOSSIER_EVENTS, NOTIFICATION_EVENTS
from motcua.shared.db import create_engine, create_session_factory, migrate
from motcua.shared.messaging import ConsumedRecord, EventConsumer
from motcua.shared.messaging.outbox import envelope_headers

MIGRATIONS = Path(__file__).resolve().parents[1] / "src/motcua/reporting/migrations"
AGENCY = "000.00.31.H56"
T0 = datetime(2025, 1, 6, 9, 0, tzinfo=VN_TZ)
ACCESS = reporting_access()


def story() -> list[EventEnvelope[Any]]:
    """Dossiers that get received, routed, paused, resolved, withdrawn and
    notified, with notices interleaved between their dossier events."""
    events: list[EventEnvelope[Any]] = []
    for n in range(6):
        d = Dossier(f"{AGENCY}-250101-{n:04d}", AGENCY, field=f"F{n % 2}")
        at = T0 + days(n)
        received = d.received(at, at + days(5))
        events += [received, d.notice(at, received), d.routed(at, f"C{n}.H56")]
        events += [d.offered(at), d.notice(at, received)]
        if n % 3 == 0:
            events += [d.supplement_requested(at + days(1))]
            events += [d.resumed(at + days(2), at + days(7))]
        if n % 3 == 1:
            events += [d.withdrawn(at + days(1))]
        else:
            events += [d.resolved(at + days(3), at + days(5)), d.postal_order(at)]
            events += [d.delivered(at + days(4))]
    return events


def records(events: Sequence[EventEnvelope[Any]]) -> list[ConsumedRecord]:
    out = []
    for offset, event in enumerate(events):
        topic = (
            NOTIFICATION_EVENTS
            if event.event_type.startswith("notification.")
            else DOSSIER_EVENTS
        )
        out.append(
            ConsumedRecord(
                topic=topic,
                partition=0,
                offset=offset,
                key=event.dossier_code,
                value=event.to_json(),
                headers=envelope_headers(event),
                timestamp_ms=1_736_128_800_000 + offset,
            )
        )
    return out


async def project(
    url: str,
    batches: Sequence[Sequence[ConsumedRecord]],
    statements: list[str] | None = None,
) -> dict[str, Any]:
    """Apply the batches through the live consumer core; the tables, and the
    inbox and outbox, as sorted rows. ``statements``: filled with the SQL
    the batches ran."""
    await migrate(MIGRATIONS, url, version_table="alembic_version_reporting")
    engine = create_engine(url)
    if statements is not None:

        @sa.event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements.append(statement)

    try:
        consumer = EventConsumer(
            group_id="reporting",
            topics=[DOSSIER_EVENTS, NOTIFICATION_EVENTS],
            handler=Projector(ACCESS),
            sessions=create_session_factory(engine),
            producer="reporting",
            retry_backoff_s=0,
        )
        for batch in batches:
            for _ in range(3):  # a failed batch comes again, as from the broker
                try:
                    await consumer.apply_batch(batch)
                    break
                except sa.exc.DBAPIError:
                    continue
            else:
                pytest.fail("the batch never committed")
        tables: dict[str, Any] = {}
        if statements is not None:
            sa.event.remove(engine.sync_engine, "before_cursor_execute", _seen)
        async with engine.connect() as conn:
            for name in (*PROJECTION_TABLES, "inbox", "outbox"):
                table = SQLModel.metadata.tables[name]
                rows = (await conn.execute(sa.select(table))).mappings()
                tables[name] = sorted(
                    repr(
                        sorted(
                            (k, v)
                            for k, v in row.items()
                            if not {k, f"{name}.{k}"} & VOLATILE
                        )
                    )
                    for row in rows
                    if name != "reporting_month_figure" or any(row[m] for m in MEASURES)
                )
        return tables
    finally:
        await engine.dispose()


VOLATILE = frozenset(
    {"projected_at", "processed_at", "created_at", "headers", "id", "outbox.event_id"}
)
"""Columns holding the time of writing, or new ids (the dead letter's). Monthly
figures that came back to zero (a dossier received at the desk, then routed
to the competent agency) are left out too: whether such a row stays depends
on whether both changes met in one write, and reports skip empty groups."""


async def test_the_read_model_does_not_depend_on_batches(
    database_url: str, tmp_path: Path
) -> None:
    all_records = records(story())
    one_by_one = await project(
        f"sqlite+aiosqlite:///{tmp_path}/one.db", [[r] for r in all_records]
    )
    cuts = [0, 3, 4, 11, 12, 30, len(all_records)]
    batched = await project(
        database_url,
        [all_records[a:b] for a, b in itertools.pairwise(cuts)],
    )
    assert one_by_one["reporting_dossier"]  # the story did reach the read model
    assert batched == one_by_one


@pytest.mark.parametrize("where", ["middle", "last"])
async def test_a_record_the_database_refuses_is_dead_lettered_alone(
    database_url: str, tmp_path: Path, where: str
) -> None:
    """The same event under a second message id: its timeline row collides
    with the first one's. Whether it sits inside the batch or ends it (its
    rows then reach the database only at the batch's flush), it is
    dead-lettered and every other record is applied, as when applied alone."""
    all_records = records(story())
    copy = dataclasses.replace(
        all_records[5],
        offset=999,
        headers={**all_records[5].headers, h.EVENT_ID: "another-id"},
    )
    at = 20 if where == "middle" else len(all_records)
    batch = [*all_records[:at], copy, *all_records[at:]]
    applied = await project(database_url, [batch])
    alone = await project(
        f"sqlite+aiosqlite:///{tmp_path}/alone.db", [[r] for r in batch]
    )
    assert "('message_id', 'another-id'), ('status', 'dead_lettered')" in str(
        applied["inbox"]
    )
    assert len(applied["outbox"]) == 1  # the dead letter
    assert applied == alone


def _dossier_reads(statements: list[str]) -> int:
    return sum(
        1
        for s in statements
        if s.lstrip().upper().startswith("SELECT") and "FROM reporting_dossier" in s
    )


async def test_a_batch_reads_its_dossiers_at_once(database_url: str) -> None:
    """The consumer core hands the projection its batch first (``prepare``):
    one read for every dossier the batch folds, not one per dossier."""
    all_records = records(story())
    statements: list[str] = []
    batched = await project(database_url, [all_records], statements)
    assert batched["reporting_dossier"]
    assert _dossier_reads(statements) == 1


@pytest.mark.parametrize("where", [2, 20])
async def test_a_batch_with_a_refused_event_reads_and_applies_as_record_by_record(
    database_url: str, tmp_path: Path, where: int
) -> None:
    """A second reception of a dossier the batch holds (refused,
    ``duplicate_creation``) sends the batch, already prepared, record by
    record: the read model is the one records applied one by one give."""
    all_records = records(story())
    again = Dossier(f"{AGENCY}-250101-0000", AGENCY, field="F0")
    repeat = records([again.received(T0, T0 + days(5))])[0]
    repeat = dataclasses.replace(repeat, offset=998)
    batch = [*all_records[:where], repeat, *all_records[where:]]
    applied = await project(database_url, [batch])
    alone = await project(
        f"sqlite+aiosqlite:///{tmp_path}/alone.db", [[r] for r in batch]
    )
    assert "('status', 'dead_lettered')" in str(applied["inbox"])
    assert len(applied["outbox"]) == 1  # the dead letter
    assert applied == alone
