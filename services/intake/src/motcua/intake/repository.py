"""Intake persistence: the code counter and idempotency records."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.intake.codes import day_prefix
from motcua.intake.tables import DossierCodeCounter, DossierRecord, IdempotentRequest

_COUNTER: sa.Table = DossierCodeCounter.__table__  # type: ignore[attr-defined]
_DOSSIERS: sa.Table = DossierRecord.__table__  # type: ignore[attr-defined]


def _padded(postgres: bool, prefix: Any, number: Any) -> Any:
    """``prefix`` followed by ``number`` in four digits, in SQL."""
    if postgres:
        return prefix.concat(sa.func.lpad(sa.cast(number, sa.Text), 4, "0"))
    return prefix.concat(sa.func.printf("%04d", number))


def _first_free(postgres: bool, start: Any) -> Any:
    """The first number from ``start`` on that no dossier of the day holds
    (:func:`motcua.intake.codes.first_free` in SQL): ``start`` itself, or one
    past a held number, whichever no dossier holds, the least of them."""
    prefix = sa.bindparam("prefix", type_=sa.String)
    later = _DOSSIERS.alias("later")
    held = _DOSSIERS.alias("held")
    digits = sa.func.substr(later.c.code, sa.bindparam("digits_at", type_=sa.Integer))
    candidates = sa.union_all(
        sa.select(start.label("number")),
        sa.select((sa.cast(digits, sa.Integer) + 1).label("number")).where(
            later.c.code >= _padded(postgres, prefix, start),
            later.c.code <= prefix.concat("9999"),
        ),
    ).subquery("candidate")
    return (
        sa.select(sa.func.min(candidates.c.number))
        .where(
            ~sa.exists().where(
                held.c.code == _padded(postgres, prefix, candidates.c.number)
            )
        )
        .scalar_subquery()
    )


@functools.cache
def _allocation(dialect_name: str) -> sa.Insert:
    postgres = dialect_name == "postgresql"
    dialect = postgresql if postgres else sqlite
    # the counter row as it stands when the upsert holds its lock (a literal
    # column: a table-bound one would put the counter into the subquery's FROM)
    held_value = sa.literal_column(f"{_COUNTER.name}.last_value", sa.Integer)
    statement: sa.Insert = (
        dialect.insert(_COUNTER)
        .values(
            agency_code=sa.bindparam("agency"),
            day=sa.bindparam("day"),
            last_value=_first_free(postgres, sa.literal(1, sa.Integer)),
        )
        .on_conflict_do_update(
            index_elements=["agency_code", "day"],
            set_={"last_value": _first_free(postgres, held_value + 1)},
        )
        .returning(_COUNTER.c.last_value)
    )
    return statement


async def allocate_sequence(session: AsyncSession, agency_code: str, day: date) -> int:
    """The agency's next free number of the day, unique across processes, in
    one statement: the counter's upsert moves it to the first number from its
    next value on that no dossier holds (codes kept from the portal, ADR 0015).

    The upsert takes the counter row's lock until the transaction ends, so two
    receptions at the same agency never get the same number: the second one
    computes from the first one's committed counter (PostgreSQL re-reads the
    locked row; SQLite writes one transaction at a time). A dossier's code is
    its primary key, so a portal filing that commits a code while the upsert
    waits for the lock still cannot be given twice.
    """
    prefix = day_prefix(agency_code, day)
    statement = _allocation(session.get_bind().dialect.name)
    params = {
        "agency": agency_code,
        "day": day,
        "prefix": prefix,
        "digits_at": len(prefix) + 1,
    }
    return int((await session.execute(statement, params)).scalar_one())


_CODE_REFUSED = ("intake_dossier_pkey", "intake_dossier.code")
"""How PostgreSQL (the constraint) and SQLite (the column) name the refusal."""


def code_taken(exc: sa.exc.IntegrityError) -> bool:
    """The dossier table's primary key refused a code: another transaction
    committed it first."""
    text = str(exc.orig)
    return any(name in text for name in _CODE_REFUSED)


async def raise_sequence(
    session: AsyncSession, agency_code: str, day: date, at_least: int
) -> None:
    """Make the counter no lower than ``at_least`` (imported codes of that day
    must never be handed out again)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = _COUNTER
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
