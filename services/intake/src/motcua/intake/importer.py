"""Loading legacy dossiers into intake's database and outbox.

Rows are written in batches, each in one transaction with its events; the
running intake service's relay publishes them (it polls for rows written by
other processes). A row whose dossier code is already here is skipped, and
event ids are deterministic, so a re-run adds nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from motcua.intake import catalogue_store
from motcua.intake.catalogue import Catalogue, PublishedProcedure, load_catalogue
from motcua.intake.context import build_intake_calendar
from motcua.intake.domain import Outcome
from motcua.intake.history import (
    CODE_PATTERN,
    HistoricalDossier,
    RawRow,
    due_time,
    event_id,
    history_events,
    parse_row,
)
from motcua.intake.repository import raise_sequence
from motcua.intake.settings import IntakeSettings
from motcua.intake.tables import DossierRecord
from motcua.shared.contracts import new_event
from motcua.shared.contracts.common import DossierStatus
from motcua.shared.db import create_engine, create_session_factory, migrate
from motcua.shared.domain.agencies import AgencyRegistry, load_registry
from motcua.shared.domain.calendar import WorkCalendar
from motcua.shared.messaging import add_event
from motcua.shared.personal_data import PersonalDataSealer, load_keys

log = structlog.get_logger(__name__)

PRODUCER = "intake"
MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class ImportReport:
    read: int = 0
    loaded: int = 0
    already_present: int = 0
    events: int = 0
    rejected: list[tuple[int, list[str]]] = field(default_factory=list)


@dataclass(frozen=True)
class _Reference:
    catalogue: Catalogue
    calendar: WorkCalendar
    registry: AgencyRegistry
    versions: dict[str, PublishedProcedure]
    sealer: PersonalDataSealer


async def import_rows(
    settings: IntakeSettings,
    rows: Iterable[RawRow],
    *,
    batch_size: int = 200,
    on_row: Callable[[], None] = lambda: None,
) -> ImportReport:
    """Load ``rows`` into the database of ``settings``; returns what happened."""
    url = settings.resolved_database_url
    await migrate(
        MIGRATIONS, url, version_table=f"alembic_version_{settings.service_name}"
    )
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    report = ImportReport()
    correlation_id = str(uuid.uuid4())
    try:
        calendar = build_intake_calendar(settings)
        catalogue = load_catalogue(
            settings.catalogue_file, calendar.office.hours_per_day
        )
        await catalogue_store.sync_from_file(sessions, catalogue)
        async with sessions() as session:
            current = await catalogue_store.list_current(session)
        reference = _Reference(
            catalogue=catalogue,
            calendar=calendar,
            registry=load_registry(),
            versions={p.procedure.code: p for p in current},
            sealer=PersonalDataSealer(load_keys(settings.common)),
        )
        batch: list[HistoricalDossier] = []
        for raw in rows:
            report.read += 1
            row = _checked(raw, reference, report)
            if row is not None:
                batch.append(row)
            if len(batch) >= batch_size:
                await _write(sessions, batch, reference, report, correlation_id)
                batch = []
            on_row()
        if batch:
            await _write(sessions, batch, reference, report, correlation_id)
    finally:
        await engine.dispose()
    log.info(
        "dossiers_imported",
        read=report.read,
        loaded=report.loaded,
        already_present=report.already_present,
        rejected=len(report.rejected),
    )
    return report


def _checked(
    raw: RawRow, reference: _Reference, report: ImportReport
) -> HistoricalDossier | None:
    row, problems = parse_row(raw)
    if row is not None:
        if row.procedure_code not in reference.versions:
            problems.append(
                f"procedure_code: Thủ tục {row.procedure_code} không có trong danh mục."
            )
        if reference.registry.find(row.receiving_agency_code) is None:
            problems.append(
                "receiving_agency_code: Không có cơ quan với mã "
                f"{row.receiving_agency_code}."
            )
    if problems:
        report.rejected.append((raw.line, problems))
        return None
    return row


async def _write(
    sessions: async_sessionmaker[AsyncSession],
    batch: list[HistoricalDossier],
    reference: _Reference,
    report: ImportReport,
    correlation_id: str,
) -> None:
    async with sessions() as session, session.begin():
        for row in batch:
            if await session.get(DossierRecord, row.code) is not None:
                report.already_present += 1
                continue
            report.events += _write_row(session, row, reference, correlation_id)
            await raise_sequence(
                session,
                row.receiving_agency_code,
                row.received_at.date(),
                row.sequence,
            )
            await session.flush()
            report.loaded += 1


def _write_row(
    session: AsyncSession,
    row: HistoricalDossier,
    reference: _Reference,
    correlation_id: str,
) -> int:
    published = reference.versions[row.procedure_code]
    procedure = published.procedure
    clock_start, due = due_time(row, procedure, reference.calendar)
    field = reference.catalogue.field(procedure.field_code)
    refused = row.status is DossierStatus.REFUSED
    session.add(
        DossierRecord(
            code=row.code,
            procedure_code=procedure.code,
            procedure_version=published.version,
            procedure_name=procedure.name,
            receiving_agency_code=row.receiving_agency_code,
            channel=row.channel.value,
            status=int(row.status),
            status_changed_at=_last_change(row),
            received_at=row.received_at,
            clock_started_at=clock_start,
            due_at=due,
            time_limit=None if refused else str(procedure.time_limit(row.channel)),
            applicant=row.applicant.model_dump(),
            details={
                "outcome": (Outcome.REFUSED if refused else Outcome.RECEIVED).value,
                "result_delivery": row.result_delivery.value,
                "reasons": row.reasons,
                "components": [],
                "fee_vnd": procedure.fee_vnd,
                "history": {
                    "resolved_at": _iso(row.resolved_at),
                    "delivered_at": _iso(row.delivered_at),
                    "withdrawn_at": _iso(row.withdrawn_at),
                    "stopped_at": _iso(row.stopped_at),
                },
            },
            filed_by="desk_officer",
            officer="import",
            imported=True,
        )
    )
    events = history_events(
        row,
        procedure,
        published.version,
        reference.calendar,
        field.name if field else None,
        lambda people: reference.sealer.seal(people, dossier_code=row.code),
    )
    for item in events:
        envelope = new_event(
            item.data,
            dossier_code=row.code,
            producer=PRODUCER,
            agency_code=row.receiving_agency_code,
            correlation_id=correlation_id,
            occurred_at=item.occurred_at,
            imported=True,
            event_id=event_id(row.code, item.data.EVENT_TYPE),
        )
        add_event(session, envelope, topic=item.data.TOPIC)
    return len(events)


def _last_change(row: HistoricalDossier) -> datetime:
    moments = [
        m
        for m in (
            row.received_at,
            row.resolved_at,
            row.delivered_at,
            row.withdrawn_at,
            row.stopped_at,
        )
        if m is not None
    ]
    return max(moments)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


__all__ = ["CODE_PATTERN", "ImportReport", "import_rows"]
