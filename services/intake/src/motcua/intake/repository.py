"""Intake persistence: the code counter and idempotency records."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.intake.tables import DossierCodeCounter, IdempotentRequest


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


async def find_idempotent(
    session: AsyncSession, scope: str, key: str
) -> IdempotentRequest | None:
    return await session.get(IdempotentRequest, (scope, key))
