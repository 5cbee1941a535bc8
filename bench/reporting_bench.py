"""Reporting at province scale, on SQLite and PostgreSQL.

    .venv/bin/python bench/reporting_bench.py                      # SQLite
    .venv/bin/python bench/reporting_bench.py --postgres postgresql://postgres@127.0.0.1:5432/test

Four measurements per backend:

0. **Live mix CPU**: ``--live-dossiers`` dossiers of the end-to-end bench's
   mix (per dossier ``dossier.received``, ``dossier.routed``,
   ``dossier.handoff_offered`` on the dossier topic and two notices' created /
   sending / delivered on the notification topic: 9 events) applied through
   the live consumer core in batches of ``--live-batch`` records; CPU ms of
   this process (``time.process_time``, the database's own work included on
   SQLite, not on PostgreSQL) per event and per dossier.
1. **Projection throughput**: ``--projection-events`` generated events (a
   province's mix) applied through ``EventConsumer.apply_batch`` with
   reporting's ``Projector``: the consumer's production path (inbox row and
   savepoint per record, one transaction per batch of 500) minus the network;
   CPU ms per event beside the rate.
2. **A province-year read model**: ``--dossiers`` dossiers (default 500,000,
   about 7 dossier events each, ~3.5 million events) folded once with the pure
   projection (``facts.apply_event``) and bulk-loaded into ``reporting_dossier``,
   ``reporting_month_figure``, ``reporting_occurrence`` and
   ``reporting_schedule_change`` of each backend. (The timeline rows are not
   loaded: no report reads them.)
3. **Report latency**: Biểu 06 for the official year, a quarter, a month and
   a custom range, by level and field, by agency, by procedure, and the KPI
   ranking, each run 3 times through the same query code the HTTP API uses;
   the year's totals are checked against the column rules evaluated over the
   in-memory facts.

Results are printed and written to ``bench/results/reporting.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from motcua.reporting.bieu06 import COLUMN_KEYS, classify
from motcua.reporting.facts import DossierFacts, Projected, apply_event
from motcua.reporting.monthly import GROUP_COLUMNS, Figures, contribution
from motcua.reporting.periods import (
    ReportPeriod,
    custom_range,
    official_month,
    official_quarter,
    official_year,
)
from motcua.reporting.projections import Projector
from motcua.reporting.queries import aggregate
from motcua.reporting.rebuild import bulk_replay
from motcua.reporting.reports import Dimension, build_bieu06, build_kpis
from motcua.reporting.settings import ReportingSettings
from motcua.reporting.tables import (
    DossierRow,
    MonthFigureRow,
    OccurrenceRow,
    ScheduleChangeRow,
)
from motcua.shared.contracts import VN_TZ, EventEnvelope
from motcua.shared.contracts.common import AgencyLevel, Channel, NotificationChannel
from motcua.shared.contracts.dossier import (
    DossierReceivedV2,
    DossierWithdrawnV1,
    Person,
)
from motcua.shared.contracts.envelope import new_event
from motcua.shared.contracts.handoff import (
    ApologyIssuedV1,
    DossierRoutedV1,
    HandoffAcknowledgedV1,
    HandoffOfferedV1,
    ProcessingResumedV1,
    ResultDeliveredV1,
    ResultRecordedV1,
    StepCompletedV1,
    SupplementRequestedV1,
    Timeliness,
)
from motcua.shared.contracts.notification import (
    NotificationCreatedV1,
    NotificationDeliveredV1,
    NotificationSendingV1,
)
from motcua.shared.contracts.topics import DOSSIER_EVENTS, NOTIFICATION_EVENTS
from motcua.shared.db import create_engine, create_session_factory, migrate
from motcua.shared.messaging import ConsumedRecord, EventConsumer
from motcua.shared.messaging.outbox import envelope_headers
from motcua.shared.personal_data import PersonalDataAccess, load_keys
from motcua.shared.settings import CommonSettings
from motcua.shared.testing.databases import fresh_postgres_database
from motcua.shared.testing.helpers import one_key_ring, sealed
from motcua.shared.testing.signing import use_legacy_keystore

MIGRATIONS = (
    Path(__file__).resolve().parents[1]
    / "services/reporting/src/motcua/reporting/migrations"
)
YEAR = 2025
PERIOD_START = datetime(YEAR - 1, 12, 1, tzinfo=VN_TZ)  # some dossiers carried over
PERIOD_DAYS = 379
ACCESS: PersonalDataAccess
"""Reporting's access to the sealed people (set in :func:`main`)."""
DIGEST = "0" * 64
"""The lookup digest the folds store (the pure paths open no seal)."""


def issued_code(k: int) -> str:
    """The ``k``-th dossier code of the issued shape (QCVN 102 agency,
    ``yyMMdd``, four digits), unique for ``k`` below a million: what the
    consumer's checks accept (the province-year fold keeps its own codes)."""
    agency = f"000.{k % 100:02d}.{k // 100 % 100:02d}.H56"
    return f"{agency}-{250101 + k // 10000 % 100:06d}-{k % 10000:04d}"


def as_issued(event: EventEnvelope[Any], code: str) -> EventEnvelope[Any]:
    """``event`` under ``code``, validated, a reception sealed as intake seals."""
    data = type(event.data).model_validate(event.data.model_dump(warnings=False))
    if isinstance(data, DossierReceivedV2):
        data = data.model_copy(update={"personal_data": sealed(code)})
    return EventEnvelope[type(data)].model_validate(  # type: ignore[misc]
        {**event.model_dump(warnings=False), "dossier_code": code, "data": data}
    )


# -- a province's traffic ----------------------------------------------------------


class Province:
    """Deterministic dossiers: 120 agencies (100 communes sharing a catalogue
    of 60 commune-level procedures, 20 departments with 30 province-level
    procedures each: 660 procedures in 25 fields). As in real desks, a few
    procedures take most dossiers (weights 1/rank). 40 % online; most resolved
    early or on time."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.agencies = [f"000.{i:02d}.{i % 7:02d}.H56" for i in range(120)]
        commune = [(f"1.{i:06d}", f"F{i % 10:02d}") for i in range(60)]
        self.catalogue = [
            commune
            if a < 100
            else [(f"2.{a:03d}{i:03d}", f"F{10 + (a + i) % 15:02d}") for i in range(30)]
            for a in range(120)
        ]
        self.weights = {n: [1 / (r + 1) for r in range(n)] for n in (30, 60)}

    def dossier(self, n: int) -> list[EventEnvelope[Any]]:
        rng = self.rng
        agency_index = rng.randrange(120)
        agency = self.agencies[agency_index]
        level = AgencyLevel.COMMUNE if agency_index < 100 else AgencyLevel.PROVINCE
        catalogue = self.catalogue[agency_index]
        procedure, field = rng.choices(catalogue, self.weights[len(catalogue)])[0]
        received = PERIOD_START + timedelta(
            minutes=rng.randrange(PERIOD_DAYS * 24 * 60)
        )
        limit = timedelta(days=rng.choice((1, 3, 5, 7, 10, 15)))
        due = received + limit
        code = f"{agency}-{received:%y%m%d}-{n:07d}"
        roll = rng.random()
        channel = (
            Channel.ONLINE
            if roll < 0.4
            else Channel.POSTAL
            if roll > 0.95
            else Channel.DIRECT
        )
        events: list[tuple[Any, datetime]] = [
            (
                _received(procedure, field, level, channel, agency, received, due),
                received,
            ),
            (_like(DossierRoutedV1(competent_agency_code=agency, steps=[])), received),
            (_like(HandoffOfferedV1(step_no=1, to_agency_code=agency)), received),
            (_like(HandoffAcknowledgedV1(step_no=1, to_agency_code=agency)), received),
        ]
        t = received
        if rng.random() < 0.05:  # supplement, then resume with a later appointment
            events.append(
                (
                    _like(SupplementRequestedV1(requested_components=["TP"])),
                    t + limit / 3,
                )
            )
            due = due + timedelta(days=2)
            events.append(
                (
                    _like(ProcessingResumedV1(paused_working_hours=16), due_at=due),
                    t + limit / 3 + timedelta(days=2),
                )
            )
        if rng.random() < 0.02:
            due = due + timedelta(days=3)
            events.append(
                (
                    _like(ApologyIssuedV1(reason="x", new_due_at=due)),
                    received + limit - timedelta(days=1),
                )
            )
        outcome = rng.random()
        if outcome < 0.02:
            events.append((_like(DossierWithdrawnV1()), received + limit / 2))
        elif outcome < 0.95:
            finished = received + (limit + timedelta(days=2)) * rng.random() ** 1.5
            events.append(
                (_like(StepCompletedV1(step_no=1, to_agency_code=agency)), finished)
            )
            events.append((_like(_RESULT, resolved_at=finished, due_at=due), finished))
            events.append(
                (
                    _like(_DELIVERED, delivered_at=finished + timedelta(hours=20)),
                    finished + timedelta(hours=20),
                )
            )
        return [_envelope(data, code, at) for data, at in events]

    def dossiers(self, count: int) -> Iterator[list[EventEnvelope[Any]]]:
        for n in range(count):
            yield self.dossier(n)


_T0 = datetime(2025, 1, 1, tzinfo=VN_TZ)
_RECEIVED = DossierReceivedV2(
    procedure_code="x",
    procedure_name="x",
    channel=Channel.DIRECT,
    receiving_agency_code="x",
    received_at=_T0,
    personal_data={},  # sealed only where a consumer opens it (as_issued)
)
_RESULT = ResultRecordedV1(resolved_at=_T0, timeliness=Timeliness.ON_TIME)
_DELIVERED = ResultDeliveredV1(delivered_at=_T0)


def _like(template: Any, **update: Any) -> Any:
    """A validated template with some fields replaced: generating four million
    events by full validation would take longer than everything measured."""
    return template.model_copy(update=update) if update else template


def _received(
    procedure: str,
    field: str,
    level: AgencyLevel,
    channel: Channel,
    agency: str,
    at: datetime,
    due: datetime,
) -> DossierReceivedV2:
    return _like(
        _RECEIVED,
        procedure_code=procedure,
        procedure_name=f"Thủ tục {procedure}",
        field_code=field,
        field_name=f"Lĩnh vực {field}",
        procedure_level=level,
        channel=channel,
        receiving_agency_code=agency,
        received_at=at,
        due_at=due,
    )


def _envelope(data: Any, code: str, at: datetime) -> EventEnvelope[Any]:
    # model_construct: the fold only reads these fields; validation would
    # dominate the cost of generating four million events.
    return EventEnvelope.model_construct(
        event_id=uuid.uuid4(),
        event_type=data.EVENT_TYPE,
        schema_version=1,
        occurred_at=at,
        dossier_code=code,
        producer="bench",
        agency_code=None,
        correlation_id="bench",
        causation_id=None,
        imported=False,
        data=data,
    )


# -- 0. the end-to-end bench's mix, CPU per event ----------------------------------


def live_mix_records(dossiers: int) -> list[ConsumedRecord]:
    """Serialised records of the end-to-end bench's mix, as two topics
    interleave them: each dossier's three dossier events, and the notices of a
    dossier received a few dossiers earlier (notification lags behind)."""
    rng = random.Random(11)
    streams: dict[str, list[EventEnvelope[Any]]] = {
        DOSSIER_EVENTS: [],
        NOTIFICATION_EVENTS: [],
    }
    start = datetime(YEAR, 3, 2, 8, tzinfo=VN_TZ)
    for n in range(dossiers):
        code = issued_code(n)
        agency = code.split("-")[0]
        at = start + timedelta(seconds=7 * n)
        received = new_event(
            DossierReceivedV2(
                procedure_code=f"1.{rng.randrange(60):06d}",
                procedure_name="Thủ tục",
                field_code=f"F{rng.randrange(10):02d}",
                field_name="Lĩnh vực",
                channel=Channel.ONLINE if rng.random() < 0.4 else Channel.DIRECT,
                receiving_agency_code=agency,
                received_at=at,
                due_at=at + timedelta(days=3),
                personal_data=sealed(
                    code, Person(full_name="Nguyễn Văn A", id_number="001203004567")
                ),
            ),
            dossier_code=code,
            producer="intake",
            occurred_at=at,
        )
        routed = new_event(
            DossierRoutedV1(competent_agency_code=agency, steps=[]),
            dossier_code=code,
            producer="routing",
            causation=received,
            occurred_at=at,
        )
        offered = new_event(
            HandoffOfferedV1(step_no=1, to_agency_code=agency),
            dossier_code=code,
            producer="routing",
            causation=routed,
            occurred_at=at,
        )
        streams[DOSSIER_EVENTS] += [received, routed, offered]
        for channel in (NotificationChannel.SMS, NotificationChannel.EMAIL):
            nid = uuid.uuid4()
            for kind in (
                NotificationCreatedV1,
                NotificationSendingV1,
                NotificationDeliveredV1,
            ):
                streams[NOTIFICATION_EVENTS].append(
                    new_event(
                        kind(
                            notification_id=nid,
                            channel=channel,
                            template="dossier.received",
                            trigger_event_id=received.event_id,
                            trigger_event_type=received.event_type,
                            provider="sim",
                        ),
                        dossier_code=code,
                        producer="notification",
                        causation=received,
                        occurred_at=at + timedelta(seconds=1),
                    )
                )
    records: list[ConsumedRecord] = []
    offsets = dict.fromkeys(streams, 0)
    cursors = dict.fromkeys(streams, 0)
    lag = 5 * 6  # notices of the dossier five dossiers back
    while any(cursors[t] < len(streams[t]) for t in streams):
        for topic, take in ((DOSSIER_EVENTS, 3), (NOTIFICATION_EVENTS, 6)):
            if topic == NOTIFICATION_EVENTS and cursors[DOSSIER_EVENTS] < min(
                len(streams[DOSSIER_EVENTS]), lag
            ):
                continue
            for event in streams[topic][cursors[topic] : cursors[topic] + take]:
                records.append(
                    ConsumedRecord(
                        topic=topic,
                        partition=0,
                        offset=offsets[topic],
                        key=event.dossier_code,
                        value=event.to_json(),
                        headers=envelope_headers(event),
                        timestamp_ms=int(time.time() * 1000),
                    )
                )
                offsets[topic] += 1
            cursors[topic] += take
    return records


async def live_mix_cpu(
    url: str, records: list[ConsumedRecord], batch: int
) -> dict[str, Any]:
    """The live consumer core on the mix: CPU ms of this process per event."""
    async with scratch_database(url) as db:
        engine = create_engine(db)
        sessions = create_session_factory(engine)
        apply = EventConsumer(
            group_id="reporting",
            topics=[DOSSIER_EVENTS, NOTIFICATION_EVENTS],
            handler=Projector(ACCESS),
            sessions=sessions,
            producer="reporting",
        ).apply_batch
        cpu = time.process_time()
        started = time.perf_counter()
        for i in range(0, len(records), batch):
            await apply(records[i : i + batch])
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        await engine.dispose()
    return {
        "events": len(records),
        "batch": batch,
        "seconds": round(elapsed, 2),
        "cpu_ms_per_event": round(1000 * cpu / len(records), 3),
        "cpu_ms_per_dossier": round(9000 * cpu / len(records), 2),
    }


# -- 1. projection throughput ------------------------------------------------------------


def province_records(events: int) -> list[ConsumedRecord]:
    """Valid, serialised records as they come off the topic."""
    records: list[ConsumedRecord] = []
    province = Province(seed=7)
    n = 0
    while len(records) < events:
        code = issued_code(n)
        for event in province.dossier(10_000_000 + n):
            real = as_issued(event, code)
            records.append(
                ConsumedRecord(
                    topic="motcua.dossier.events",
                    partition=0,
                    offset=len(records),
                    key=real.dossier_code,
                    value=real.to_json(),
                    headers=envelope_headers(real),
                    timestamp_ms=int(time.time() * 1000),
                )
            )
        n += 1
    return records[:events]


async def projection_throughput(
    url: str, records: list[ConsumedRecord]
) -> dict[str, Any]:
    """Live path (per-record savepoints) and the rebuild's bulk path, each on a
    fresh database, 500 records per transaction."""
    results: dict[str, Any] = {}
    for name in ("live consumer", "rebuild bulk replay"):
        async with scratch_database(url) as db:
            engine = create_engine(db)
            sessions = create_session_factory(engine)
            if name == "live consumer":
                apply = EventConsumer(
                    group_id="reporting",
                    topics=["motcua.dossier.events"],
                    handler=Projector(ACCESS),
                    sessions=sessions,
                    producer="reporting",
                ).apply_batch
            else:
                settings = ReportingSettings(database_url=db)
                apply = bulk_replay(settings, sessions).apply
            cpu = time.process_time()
            started = time.perf_counter()
            for i in range(0, len(records), 500):
                await apply(records[i : i + 500])
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
            await engine.dispose()
        results[name] = {
            "events": len(records),
            "seconds": round(elapsed, 2),
            "events_per_s": round(len(records) / elapsed),
            "cpu_ms_per_event": round(1000 * cpu / len(records), 3),
        }
    return results


@asynccontextmanager
async def scratch_database(url: str) -> AsyncIterator[str]:
    """A fresh, migrated database next to ``url`` (a new file or a new PG database)."""
    if url.startswith("sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            db = f"sqlite+aiosqlite:///{tmp}/scratch.db"
            await migrate(MIGRATIONS, db, version_table="alembic_version_reporting")
            yield db
        return
    admin = (
        url.replace("postgresql+asyncpg://", "postgresql://", 1).rsplit("/", 1)[0]
        + "/postgres"
    )
    async with fresh_postgres_database(admin, prefix="motcua_bench") as db:
        await migrate(MIGRATIONS, db, version_table="alembic_version_reporting")
        yield db


# -- 2. the province-year read model ---------------------------------------------------


@dataclass
class YearData:
    facts: list[DossierFacts]
    tables: list[tuple[Any, list[dict[str, Any]]]]
    summary: dict[str, Any]


def fold_year(dossiers: int) -> YearData:
    """A province-year's events folded with the pure projection, as rows."""
    province = Province(seed=2025)
    all_facts: list[DossierFacts] = []
    rows: list[dict[str, Any]] = []
    occurrences: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    monthly = Figures()
    events = 0
    started = time.perf_counter()
    for story in province.dossiers(dossiers):
        facts = DossierFacts(story[0].dossier_code)
        for event in story:
            out: Projected = apply_event(facts, event, DIGEST)
            facts = out.facts
            events += 1
            for kind, at in out.occurrences:
                occurrences.append(
                    {
                        "event_id": event.event_id,
                        "dossier_code": facts.dossier_code,
                        "kind": kind.value,
                        "occurred_day": at.astimezone(VN_TZ).date().toordinal(),
                    }
                )
            if out.change is not None:
                changes.append(
                    {
                        "event_id": event.event_id,
                        "dossier_code": facts.dossier_code,
                        "seq": out.change.seq,
                        "changed_at": out.change.changed_at,
                        "due_at": out.change.due_at,
                        "paused": out.change.paused,
                    }
                )
        values = facts.row_values()
        rows.append(values)
        monthly.merge(contribution(values))
        all_facts.append(facts)
    folded = time.perf_counter() - started
    figures = [
        {**dict(zip(("month", *GROUP_COLUMNS), key, strict=True)), **measures}
        for key, measures in monthly.changed().items()
    ]
    tables = [
        (DossierRow, rows),
        (OccurrenceRow, occurrences),
        (ScheduleChangeRow, changes),
        (MonthFigureRow, figures),
    ]
    summary = {
        "dossiers": dossiers,
        "events": events,
        "month_figure_rows": len(figures),
        "fold_s": round(folded, 1),
    }
    return YearData(all_facts, tables, summary)


async def load_year(url: str, year: YearData) -> float:
    """Bulk-load the folded rows; returns seconds."""
    engine = create_engine(url)
    started = time.perf_counter()
    async with engine.begin() as conn:
        for table, data in year.tables:
            t = table.__table__  # type: ignore[attr-defined]
            for i in range(0, len(data), 5000):
                await conn.execute(t.insert(), data[i : i + 5000])
    async with engine.connect() as conn:
        await conn.execute(sa.text("ANALYZE"))
        await conn.commit()
    loaded = time.perf_counter() - started
    await engine.dispose()
    return round(loaded, 1)


# -- 3. report latency ------------------------------------------------------------------


async def report_latency(url: str, facts: list[DossierFacts]) -> dict[str, Any]:
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    cases: list[tuple[str, ReportPeriod, list[Dimension]]] = [
        (
            "year by level, field",
            official_year(YEAR),
            [Dimension.LEVEL, Dimension.FIELD],
        ),
        ("year by agency", official_year(YEAR), [Dimension.AGENCY]),
        ("year by procedure", official_year(YEAR), [Dimension.PROCEDURE]),
        (
            "quarter 3 by level, field",
            official_quarter(YEAR, 3),
            [Dimension.LEVEL, Dimension.FIELD],
        ),
        ("month 6 by agency", official_month(YEAR, 6), [Dimension.AGENCY]),
        (
            "1/1 – 30/6 (custom) by level, field",
            custom_range(date(YEAR, 1, 1), date(YEAR, 6, 30)),
            [Dimension.LEVEL, Dimension.FIELD],
        ),
    ]
    results: dict[str, Any] = {}
    year_report = None
    for name, period, dims in cases:
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            async with sessions() as session:
                agg = await aggregate(session, period, dims)
            report = build_bieu06(agg, generated_at=datetime.now(VN_TZ))
            if dims == [Dimension.AGENCY]:
                build_kpis(agg, generated_at=datetime.now(VN_TZ))
            timings.append(time.perf_counter() - started)
            if name.startswith("year by level"):
                year_report = report
        results[name] = {
            "median_s": round(statistics.median(timings), 3),
            "max_s": round(max(timings), 3),
            "rows": len(report.rows),
        }
    await engine.dispose()
    assert year_report is not None
    period = official_year(YEAR)
    expected = dict.fromkeys(COLUMN_KEYS, 0)
    for f in facts:
        for key in classify(
            {**f.__dict__, **f.day_columns()},
            start=period.start_day,
            end=period.end_day,
        ):
            expected[key] += 1
    got = {k: getattr(year_report.total, k) for k in COLUMN_KEYS}
    results["year totals match an independent count"] = got == expected
    results["year invariant holds"] = year_report.invariant_ok
    results["year totals"] = got
    return results


async def run_backend(
    name: str,
    url: str,
    records: list[ConsumedRecord],
    year: YearData,
    live: list[ConsumedRecord],
    live_batch: int,
) -> dict[str, Any]:
    print(f"== {name}", flush=True)
    await migrate(MIGRATIONS, url, version_table="alembic_version_reporting")
    mix = await live_mix_cpu(url, live, live_batch)
    print(f"live mix: {mix}", flush=True)
    projection = await projection_throughput(url, records)
    print(f"projection: {projection}", flush=True)
    loaded = await load_year(url, year)
    print(f"read model loaded in {loaded} s", flush=True)
    latency = await report_latency(url, year.facts)
    for key, value in latency.items():
        print(f"  {key}: {value}", flush=True)
    return {
        "live_mix": mix,
        "projection": projection,
        "load_s": loaded,
        "reports": latency,
    }


async def main(args: argparse.Namespace) -> None:
    use_legacy_keystore()  # this bench publishes histories unsigned (legacy)
    one_key_ring()  # the events sealed here and the projections opening them
    global ACCESS
    ACCESS = PersonalDataAccess("reporting", load_keys(CommonSettings()))
    records = province_records(args.projection_events)
    live = live_mix_records(args.live_dossiers)
    year = fold_year(args.dossiers)
    print(f"province-year: {year.summary}", flush=True)
    results: dict[str, Any] = {"read_model": year.summary}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = await run_backend(
            "SQLite",
            f"sqlite+aiosqlite:///{tmp}/bench.db",
            records,
            year,
            live,
            args.live_batch,
        )
    if args.postgres:
        async with fresh_postgres_database(args.postgres, prefix="motcua_bench") as url:
            results["postgresql"] = await run_backend(
                "PostgreSQL", url, records, year, live, args.live_batch
            )
    out = Path(__file__).parent / "results" / "reporting.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"written to {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dossiers", type=int, default=500_000)
    parser.add_argument("--projection-events", type=int, default=20_000)
    parser.add_argument("--live-dossiers", type=int, default=2_000)
    parser.add_argument("--live-batch", type=int, default=100)
    parser.add_argument(
        "--postgres", help="admin URL, e.g. postgresql://postgres@127.0.0.1:5432/test"
    )
    asyncio.run(main(parser.parse_args()))
