"""Intake's use cases: decide (pure, :mod:`~motcua.intake.reception`,
:mod:`~motcua.intake.followups`), then write the decision and its event.

Each takes the caller's session inside its transaction (the routes add the
idempotency key's answer to the same one), so the dossier, its event in the
outbox and the answer commit together or not at all. A refusal raises
:class:`~motcua.intake.domain.InvalidDossierError` or
:class:`~motcua.intake.domain.ActRefusedError` before anything is written.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.intake import catalogue_store
from motcua.intake.catalogue import PublishedProcedure
from motcua.intake.codes import DailyLimitReachedError, format_dossier_code
from motcua.intake.context import IntakeContext
from motcua.intake.domain import ActRefusedError, UnknownDossierError
from motcua.intake.followups import (
    SupplementTaken,
    Withdrawal,
    decide_supplement,
    decide_withdrawal,
)
from motcua.intake.portal_filings import FilingKnown, decide_filing
from motcua.intake.reception import Reception, decide_reception
from motcua.intake.repository import allocate_sequence
from motcua.intake.schemas import ComponentIn, DossierIn, PortalFilingIn
from motcua.intake.tables import DossierRecord
from motcua.shared.contracts import new_event
from motcua.shared.contracts.common import DossierStatus, FiledBy
from motcua.shared.contracts.dossier import DossierEventData
from motcua.shared.db import utcnow
from motcua.shared.messaging import add_event
from motcua.shared.signing.store import open_chain

_DOSSIER: sa.Table = DossierRecord.__table__  # type: ignore[attr-defined]


def queue_event(
    session: AsyncSession,
    producer: str,
    data: DossierEventData,
    record: DossierRecord,
    occurred_at: datetime,
) -> None:
    """The dossier's event into the outbox, in the caller's transaction."""
    event = new_event(
        data,
        dossier_code=record.code,
        producer=producer,
        agency_code=record.receiving_agency_code,
        occurred_at=occurred_at,
    )
    add_event(session, event, topic=data.TOPIC)


# -- reception (forms 01, 02, 03) ----------------------------------------------------------


async def receive(
    session: AsyncSession,
    ctx: IntakeContext,
    body: DossierIn,
    *,
    published: PublishedProcedure | None,
    filed_by: FiledBy,
    officer: str,
) -> DossierRecord:
    """Decide on a dossier presented at the desk, give it its code, write it
    and its event."""
    reception = decide_reception(
        body,
        procedure=published.procedure if published else None,
        version=published.version if published else 0,
        agency=ctx.registry.find(body.receiving_agency_code),
        catalogue=ctx.catalogue,
        calendar=ctx.calendar,
        received_at=ctx.now(),
        filed_by=filed_by,
        officer=officer,
    )
    code = await _next_code(session, reception)
    return await _write_reception(session, ctx, code, reception)


async def file_from_portal(
    session: AsyncSession,
    ctx: IntakeContext,
    filing: PortalFilingIn,
    *,
    published: PublishedProcedure | None,
    officer: str,
) -> tuple[DossierRecord, bool]:
    """A filing from the national portal: an online dossier under the
    portal's code, received as the desk receives one; the same filing again
    writes nothing. Returns the dossier and whether it is new."""
    held = await session.get(DossierRecord, filing.dossier_code)
    decision = decide_filing(
        filing,
        held=held.details if held is not None else None,
        procedure=published.procedure if published else None,
        version=published.version if published else 0,
        registry=ctx.registry,
        catalogue=ctx.catalogue,
        calendar=ctx.calendar,
        received_at=ctx.now(),
        officer=officer,
    )
    if isinstance(decision, FilingKnown):
        assert held is not None
        return held, False
    record = await _write_reception(session, ctx, decision.code, decision.reception)
    return record, True


async def _write_reception(
    session: AsyncSession, ctx: IntakeContext, code: str, reception: Reception
) -> DossierRecord:
    record = _dossier_row(code, reception)
    # a Core insert of the row (no unit of work to flush at the commit); the
    # record answered is the object built for it
    await session.execute(
        sa.insert(_DOSSIER), {c.name: getattr(record, c.name) for c in _DOSSIER.c}
    )
    await open_chain(session, code)  # a new code: the first link of its chain
    # the people, sealed for each entitled service, bound to the code (ADR 0007)
    sealed = ctx.sealer.seal(reception.people, dossier_code=code)
    event = reception.event.model_copy(update={"personal_data": sealed})
    queue_event(session, ctx.runtime.name, event, record, record.received_at)
    return record


async def _next_code(session: AsyncSession, reception: Reception) -> str:
    """The agency's next code of the day; numbers already held (portal
    codes, ADR 0015) are skipped, and the counter moves past them."""
    day = reception.received_at.date()
    agency = reception.receiving_agency_code
    sequence = await allocate_sequence(session, agency, day)
    try:
        return format_dossier_code(agency, day, sequence)
    except DailyLimitReachedError as exc:
        raise ActRefusedError(
            "daily_code_limit", "Cơ quan đã dùng hết 9.999 mã hồ sơ trong ngày."
        ) from exc


def _dossier_row(code: str, reception: Reception) -> DossierRecord:
    terms = reception.terms
    return DossierRecord(
        code=code,
        procedure_code=reception.procedure.code,
        procedure_version=reception.version,
        procedure_name=reception.procedure.name,
        receiving_agency_code=reception.receiving_agency_code,
        channel=reception.channel.value,
        status=int(reception.status),
        status_changed_at=reception.received_at,
        received_at=reception.received_at,
        clock_started_at=terms.clock_started_at if terms else None,
        due_at=terms.due_at if terms else None,
        time_limit=str(terms.limit) if terms else None,
        applicant=reception.applicant,
        details=reception.details,
        filed_by=reception.filed_by.value,
        officer=reception.officer,
        # given, not defaulted: SQLModel inspects a default factory's
        # signature on every construction
        created_at=utcnow(),
    )


# -- after the reception ----------------------------------------------------------------------


async def _locked(session: AsyncSession, code: str) -> DossierRecord:
    """The dossier's row, locked; the lock of its signed chain is taken first
    (the order every unit of work that acts keeps: see routing)."""
    await open_chain(session, code)
    record = await session.get(DossierRecord, code, with_for_update=True)
    if record is None:
        raise UnknownDossierError(code)
    return record


async def take_supplement(
    session: AsyncSession,
    ctx: IntakeContext,
    code: str,
    components: list[ComponentIn],
    note: str,
) -> tuple[DossierRecord, SupplementTaken]:
    """The components an agency asked for arrived at the desk."""
    record = await _locked(session, code)
    published = await catalogue_store.find_version(
        session, record.procedure_code, record.procedure_version or 1
    )
    taken = decide_supplement(
        code,
        DossierStatus(record.status),
        published.procedure if published else None,
        components,
        note,
        ctx.now(),
    )
    record.status = int(taken.status)
    record.status_changed_at = taken.received_at
    record.supplement_requested = None
    record.details = {
        **record.details,
        "supplements": [*record.details.get("supplements", []), taken.entry()],
    }
    queue_event(session, ctx.runtime.name, taken.event, record, taken.received_at)
    return record, taken


async def withdraw(
    session: AsyncSession, ctx: IntakeContext, code: str, reason: str
) -> tuple[DossierRecord, Withdrawal]:
    """The citizen withdraws the dossier."""
    record = await _locked(session, code)
    withdrawal = decide_withdrawal(
        code, DossierStatus(record.status), reason, ctx.now()
    )
    record.status = int(withdrawal.status)
    record.status_changed_at = withdrawal.withdrawn_at
    record.details = {**record.details, "withdrawal": withdrawal.entry()}
    queue_event(
        session, ctx.runtime.name, withdrawal.event, record, withdrawal.withdrawn_at
    )
    return record, withdrawal
