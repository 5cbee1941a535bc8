"""Each dossier's chain state in a service's database, as a unit of work sees
it (adapter).

A producer opens a dossier's chain before it emits (``await open_chain``);
:func:`motcua.shared.messaging.outbox.add_event` then links and signs chained
events synchronously from the state held on the session, and the new state is
written with the outbox rows: explicitly by :func:`flush_chains` (the consumer
core, inside each record's savepoint) or when the transaction commits. The row
is read ``FOR UPDATE`` on PostgreSQL (SQLite serialises writers), so two acts
on one dossier in this service take turns.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from motcua.shared.db import utcnow
from motcua.shared.signing.chain import ChainState
from motcua.shared.signing.keystore import KeyMaterial
from motcua.shared.signing.tables import ChainRow

SIGNER = "motcua.signing.keys"
"""``session.info`` key: a callable giving the process's :class:`KeyMaterial`
(set by the runtime's session factory)."""
_CHAINS = "motcua.signing.chains"
_TABLE: sa.Table = ChainRow.__table__  # type: ignore[attr-defined]


class ChainNotOpenError(RuntimeError):
    """A chained event was emitted for a dossier whose chain was not opened in
    this unit of work (a producer forgot ``await open_chain``)."""


@dataclass
class _Entry:
    state: ChainState
    dirty: bool = False


def _chains(session: AsyncSession | Session) -> dict[str, _Entry]:
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    chains: dict[str, _Entry] = sync.info.setdefault(_CHAINS, {})
    return chains


def signer_of(session: AsyncSession | Session) -> KeyMaterial | None:
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    provider: Callable[[], KeyMaterial] | None = sync.info.get(SIGNER)
    return provider() if provider is not None else None


async def open_chain(session: AsyncSession, code: str) -> ChainState:
    """The dossier's chain state, loaded (and locked) once per unit of work."""
    chains = _chains(session)
    entry = chains.get(code)
    if entry is None:
        stmt = _select_chain(session.get_bind().dialect.name == "postgresql")
        with session.no_autoflush:
            found = (await session.execute(stmt, {"code": code})).scalar_one_or_none()
        entry = chains[code] = _Entry(ChainState.from_json(found))
    return entry.state


async def prefetch_chains(session: AsyncSession, codes: Iterable[str]) -> None:
    """Load the chains of several dossiers at once (a consumed batch's): the
    :func:`open_chain` calls that follow find them, one statement instead of
    one per dossier. Locked ``FOR UPDATE`` on PostgreSQL, in code order."""
    chains = _chains(session)
    wanted = sorted({c for c in codes if c not in chains})
    if not wanted:
        return
    stmt = _select_chains(session.get_bind().dialect.name == "postgresql")
    with session.no_autoflush:
        found = dict((await session.execute(stmt, {"codes": wanted})).all())
    for code in wanted:
        chains[code] = _Entry(ChainState.from_json(found.get(code)))


@functools.cache
def _select_chain(lock: bool) -> Any:
    """Built once (see :func:`_select_chains`)."""
    stmt = sa.select(_TABLE.c.state).where(
        _TABLE.c.dossier_code == sa.bindparam("code")
    )
    return stmt.with_for_update() if lock else stmt


@functools.cache
def _select_chains(lock: bool) -> Any:
    """Built once: a statement built per batch cost its cache key and the
    adaptation of the cached one's result columns each time."""
    stmt = (
        sa.select(_TABLE.c.dossier_code, _TABLE.c.state)
        .where(_TABLE.c.dossier_code.in_(sa.bindparam("codes", expanding=True)))
        .order_by(_TABLE.c.dossier_code)
    )
    return stmt.with_for_update() if lock else stmt


def chain_state(session: AsyncSession | Session, code: str) -> ChainState:
    entry = _chains(session).get(code)
    if entry is None:
        msg = f"the chain of {code} was not opened in this unit of work"
        raise ChainNotOpenError(msg)
    return entry.state


def update_chain(session: AsyncSession | Session, code: str, state: ChainState) -> None:
    _chains(session)[code] = _Entry(state, dirty=True)


def forget_chains(session: AsyncSession | Session) -> None:
    """A savepoint rolled back: what the cache held may be undone; reload."""
    _chains(session).clear()


@functools.cache
def _upsert(dialect_name: str) -> Any:
    """Built once per dialect: making the statement (``excluded``, the version
    arithmetic) cost more than SQLAlchemy's cached execution of it."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(_TABLE)
    return stmt.on_conflict_do_update(
        index_elements=["dossier_code"],
        set_={
            "state": stmt.excluded.state,
            "version": _TABLE.c.version + 1,
            "updated_at": stmt.excluded.updated_at,
        },
    )


def _dirty_rows(session: AsyncSession | Session) -> list[dict[str, Any]]:
    rows = []
    now = utcnow()
    for code, entry in _chains(session).items():
        if entry.dirty:
            rows.append(
                {
                    "dossier_code": code,
                    "state": entry.state.to_json(),
                    "version": 1,
                    "checkpointed_version": 0,
                    "updated_at": now,
                }
            )
            entry.dirty = False
    return rows


async def flush_chains(session: AsyncSession) -> None:
    rows = _dirty_rows(session)
    if rows:
        await session.execute(_upsert(session.get_bind().dialect.name), rows)


@event.listens_for(Session, "before_commit")
def _write_dirty(session: Session) -> None:
    if not session.info.get(_CHAINS):
        return
    rows = _dirty_rows(session)
    if rows:
        session.execute(_upsert(session.get_bind().dialect.name), rows)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_CHAINS, None)
