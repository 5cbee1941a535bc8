"""Intake persistence: the code counter and idempotency records."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.intake.codes import day_prefix
from motcua.intake.tables import DossierCodeCounter, DossierRecord, IdempotentRequest


async def next_sequence(session: AsyncSession, agency_code: str, day: date) -> int:
    """Next value of the agency's daily counter, unique across processes.

    The upsert takes the counter row's lock until the transaction ends, so two
    receptions at the same agency never get the same number.
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = DossierCodeCounter.__table__  # type: ignore[attr-defined]
    stmt = (
        dialect.insert(table)
        .values(agency_code=agency_code, day=day, last_value=1)
        .on_conflict_do_update(
            index_elements=["agency_code", "day"],
            set_={"last_value": table.c.last_value + 1},
        )
        .returning(table.c.last_value)
    )
    return int((await session.execute(stmt)).scalar_one())


async def raise_sequence(
    session: AsyncSession, agency_code: str, day: date, at_least: int
) -> None:
    """Make the counter no lower than ``at_least`` (imported codes of that day
    must never be handed out again)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = DossierCodeCounter.__table__  # type: ignore[attr-defined]
    stmt = (
        dialect.insert(table)
        .values(agency_code=agency_code, day=day, last_value=at_least)
        .on_conflict_do_update(
            index_elements=["agency_code", "day"],
            set_={
                "last_value": sa.case(
                    (table.c.last_value < at_least, at_least),
                    else_=table.c.last_value,
                )
            },
        )
    )
    await session.execute(stmt)


async def taken_sequences(
    session: AsyncSession, agency_code: str, day: date, from_sequence: int
) -> list[int]:
    """Numbers from ``from_sequence`` on that dossiers of the agency's day
    already hold (codes kept from the portal): a range of the primary key,
    empty but for the day the counter reaches them."""
    prefix = day_prefix(agency_code, day)
    code = DossierRecord.__table__.c.code  # type: ignore[attr-defined]
    query = sa.select(code).where(
        code >= f"{prefix}{from_sequence:04d}", code <= f"{prefix}9999"
    )
    found = (await session.execute(query)).scalars().all()
    return [int(c.removeprefix(prefix)) for c in found]


async def find_idempotent(
    session: AsyncSession, scope: str, key: str
) -> IdempotentRequest | None:
    return await session.get(IdempotentRequest, (scope, key))
