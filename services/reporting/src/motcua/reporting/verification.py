"""Reporting keeps every legal act of every dossier as signed (the timeline's
``body``): the verification endpoint, ``motcua verify`` and the bundles read
them here; and reporting, which sees every chain change, signs the periodic
checkpoints (ADR 0012)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from motcua.reporting.tables import TimelineEntry
from motcua.shared.contracts import new_event, now_vn
from motcua.shared.contracts.dossier import DossierLegacySealedV1
from motcua.shared.contracts.topics import CHECKPOINTS, DOSSIER_EVENTS
from motcua.shared.messaging import add_event, add_raw
from motcua.shared.service import ServiceRuntime
from motcua.shared.signing import checkpoints as cp
from motcua.shared.signing.canonical import split_body
from motcua.shared.signing.keystore import KeyMaterial
from motcua.shared.signing.store import open_chain, signer_of
from motcua.shared.signing.tables import ChainRow, CheckpointRow
from motcua.shared.signing.verifier import (
    HistoryReport,
    Policy,
    chain_sorted,
    verify_history,
)

log = structlog.get_logger(__name__)

TIMELINE = TimelineEntry.__table__  # type: ignore[attr-defined]
CHAIN = ChainRow.__table__  # type: ignore[attr-defined]
CHECKPOINT = CheckpointRow.__table__  # type: ignore[attr-defined]


async def signed_history(session: AsyncSession, code: str) -> list[bytes]:
    rows = await session.execute(
        sa.select(TIMELINE.c.body).where(
            TIMELINE.c.dossier_code == code, TIMELINE.c.body.is_not(None)
        )
    )
    return chain_sorted([str(b).encode() for b in rows.scalars()])


async def all_digests(session: AsyncSession) -> dict[str, set[str]]:
    """Every stored legal act's digest, per dossier (what checkpoints are
    compared with: an edited body has another digest)."""
    found: dict[str, set[str]] = {}
    rows = await session.execute(
        sa.select(TIMELINE.c.dossier_code, TIMELINE.c.body).where(
            TIMELINE.c.body.is_not(None)
        )
    )
    for code, body in rows:
        try:
            digest = split_body(str(body).encode()).digest
        except ValueError:
            continue
        found.setdefault(code, set()).add(digest)
    return found


async def load_checkpoints(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await session.execute(
        sa.select(CHECKPOINT.c.body).order_by(CHECKPOINT.c.seq)
    )
    return [json.loads(body) for body in rows.scalars()]


def heads_recorded(checkpoints: list[dict[str, Any]], code: str) -> list[str]:
    heads: set[str] = set()
    for checkpoint in checkpoints:
        for leaf in checkpoint.get("leaves") or ():
            if leaf.get("dossier") == code:
                heads.update(leaf.get("heads") or ())
    return sorted(heads)


def latest_covering(
    checkpoints: list[dict[str, Any]], code: str
) -> dict[str, Any] | None:
    for index in range(len(checkpoints) - 1, -1, -1):
        found: dict[str, Any] = checkpoints[index]
        if any(leaf.get("dossier") == code for leaf in found.get("leaves") or ()):
            return found
    return None


async def verify_stored(
    sessions: async_sessionmaker[AsyncSession],
    keys: KeyMaterial,
    code: str,
    policy: Policy | None = None,
) -> tuple[HistoryReport, list[bytes]]:
    async with sessions() as session:
        bodies = await signed_history(session, code)
        checkpoints = await load_checkpoints(session)
    report = verify_history(
        code,
        bodies,
        keys.keyring(),
        policy,
        expected_heads=heads_recorded(checkpoints, code),
    )
    return report, bodies


# -- checkpoints --------------------------------------------------------------------


async def make_checkpoint(
    sessions: async_sessionmaker[AsyncSession], keys: KeyMaterial
) -> dict[str, Any] | None:
    """Sign a checkpoint over the heads of every chain changed since the last
    one; None when nothing changed. Chains changed while it is made keep their
    newer version unmarked and go into the next one."""
    async with sessions() as session, session.begin():
        changed = (
            await session.execute(
                sa.select(CHAIN.c.dossier_code, CHAIN.c.state, CHAIN.c.version).where(
                    CHAIN.c.version > CHAIN.c.checkpointed_version
                )
            )
        ).all()
        if not changed:
            return None
        last = (
            await session.execute(
                sa.select(CHECKPOINT.c.seq, CHECKPOINT.c.digest)
                .order_by(CHECKPOINT.c.seq.desc())
                .limit(1)
            )
        ).first()
        seq = (last.seq if last else 0) + 1
        heads = {
            row.dossier_code: list(row.state.get("heads") or ()) for row in changed
        }
        created_at = now_vn()
        checkpoint = cp.build(seq, last.digest if last else None, created_at, heads)
        ring = keys.keyring()
        checkpoint["signature"] = keys.sign(
            ring.province, cp.signed_bytes(checkpoint), created_at
        )
        digest = cp.checkpoint_digest(checkpoint)
        body = json.dumps(checkpoint, ensure_ascii=False)
        await session.execute(
            sa.insert(CHECKPOINT).values(
                seq=seq, digest=digest, created_at=created_at, body=body
            )
        )
        await session.execute(
            sa.update(CHAIN)
            .where(
                CHAIN.c.dossier_code == sa.bindparam("code"),
                CHAIN.c.version == sa.bindparam("seen"),
            )
            .values(checkpointed_version=sa.bindparam("seen")),
            [{"code": r.dossier_code, "seen": r.version} for r in changed],
        )
        add_raw(
            session,
            topic=CHECKPOINTS,
            key=str(seq),
            payload=body.encode(),
            headers={
                "event-type": "signing.checkpoint",
                "content-type": "application/json",
            },
        )
    log.info("checkpoint_signed", seq=seq, dossiers=len(heads))
    return checkpoint


class Checkpointer:
    """Reporting's background task: a checkpoint every interval."""

    def __init__(self, runtime: ServiceRuntime, interval_s: float) -> None:
        self._runtime = runtime
        self._interval_s = interval_s

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                made = await make_checkpoint(self._runtime.sessions, self._runtime.keys)
            except sa.exc.IntegrityError:
                continue  # another instance signed this one
            except Exception:  # keep checkpointing through outages
                log.exception("checkpoint_failed")
                continue
            if made is not None:
                self._runtime.relay.wake()


async def seal_legacy(
    sessions: async_sessionmaker[AsyncSession], dossier: str | None = None
) -> list[tuple[str, int]]:
    """A province seal over each dossier's unsealed legacy events (see
    ``motcua keys seal-legacy``), through this database's outbox."""
    query = sa.select(CHAIN.c.dossier_code, CHAIN.c.state)
    if dossier is not None:
        query = query.where(CHAIN.c.dossier_code == dossier)
    async with sessions() as session:
        candidates = [
            r.dossier_code
            for r in (await session.execute(query)).all()
            if (r.state or {}).get("unsealed")
        ]
    sealed: list[tuple[str, int]] = []
    for code in candidates:
        async with sessions() as session, session.begin():
            state = await open_chain(session, code)
            signer = signer_of(session)
            if not state.unsealed or signer is None:
                continue
            province = signer.keyring().province
            envelope = new_event(
                DossierLegacySealedV1(
                    legacy_events=sorted(state.unsealed),
                    note="Niêm phong dữ liệu cũ chưa ký số",
                ),
                dossier_code=code,
                producer="reporting",
                agency_code=province,
            )
            add_event(session, envelope, topic=DOSSIER_EVENTS)
            sealed.append((code, len(state.unsealed)))
    log.info("legacy_sealed", dossiers=len(sealed))
    return sealed
