"""Procedure versions in intake's database (append-only)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from motcua.intake.catalogue import Catalogue, Procedure, PublishedProcedure
from motcua.intake.tables import ProcedureVersion
from motcua.shared.db import transaction

log = structlog.get_logger(__name__)

_T = ProcedureVersion.__table__  # type: ignore[attr-defined]


def content_hash(procedure: Procedure) -> str:
    body = json.dumps(procedure.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def _published(row: ProcedureVersion) -> PublishedProcedure:
    return PublishedProcedure(
        procedure=Procedure.model_validate(row.body),
        version=row.version,
        source=row.source,
        published_by=row.published_by,
        published_at=row.published_at,
    )


async def sync_from_file(
    sessions: async_sessionmaker[AsyncSession], catalogue: Catalogue
) -> int:
    """Publish what changed in the repository's catalogue file as new versions.

    A procedure whose file content differs from the last version that came
    from the file gets a new version, even if an administrator published one
    in between: a release that edits the file is a deliberate change too.
    Several intake processes may start at once: a lost race on the primary key
    is retried against what the winner wrote.
    """
    for attempt in range(3):
        try:
            async with transaction(sessions) as session:
                return await _sync(session, catalogue)
        except sa.exc.IntegrityError:
            log.info("catalogue_sync_race", attempt=attempt)
    async with transaction(sessions) as session:
        return await _sync(session, catalogue)


async def _sync(session: AsyncSession, catalogue: Catalogue) -> int:
    rows = (
        await session.execute(
            sa.select(_T.c.code, _T.c.version, _T.c.source, _T.c.content_hash)
        )
    ).all()
    latest: dict[str, int] = {}
    from_file: dict[str, tuple[int, str]] = {}
    for code, version, source, digest in rows:
        latest[code] = max(latest.get(code, 0), version)
        if source == "file" and version > from_file.get(code, (0, ""))[0]:
            from_file[code] = (version, digest)
    added = 0
    for procedure in catalogue.procedures:
        digest = content_hash(procedure)
        if from_file.get(procedure.code, (0, ""))[1] == digest:
            continue
        session.add(
            ProcedureVersion(
                code=procedure.code,
                version=latest.get(procedure.code, 0) + 1,
                body=procedure.model_dump(mode="json"),
                content_hash=digest,
                source="file",
                published_by="catalogue file",
            )
        )
        added += 1
    await session.flush()
    if added:
        log.info("catalogue_versions_published", count=added, source="file")
    return added


async def find_current(session: AsyncSession, code: str) -> PublishedProcedure | None:
    row = (
        await session.execute(
            sa.select(ProcedureVersion)
            .where(ProcedureVersion.code == code)  # type: ignore[arg-type]
            .order_by(sa.desc(_T.c.version))
            .limit(1)
        )
    ).scalar_one_or_none()
    return _published(row) if row else None


class CurrentProcedures:
    """The newest published version of each procedure, kept in memory.

    Every reception needs its procedure; reading and validating the version
    row each time cost a database round trip and a full model validation.
    A publication through this process's API calls :meth:`invalidate` once it
    has committed, so it is seen at once here; other intake processes sharing
    the database see it within ``ttl_s`` (``MOTCUA_INTAKE_CATALOGUE_CACHE_TTL_S``;
    0 turns the cache off). Unknown codes are remembered for the same time.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[str, tuple[float, PublishedProcedure | None]] = {}
        self._generation = 0

    async def get(self, code: str) -> PublishedProcedure | None:
        now = self._clock()
        entry = self._entries.get(code)
        if entry is not None and now < entry[0]:
            return entry[1]
        generation = self._generation
        async with self._sessions() as session:
            published = await find_current(session, code)
        # A publication committed while we read may not be in what we read:
        # keep it only if nothing was invalidated meanwhile.
        if self._ttl_s > 0 and generation == self._generation:
            self._entries[code] = (now + self._ttl_s, published)
        return published

    def invalidate(self, code: str | None = None) -> None:
        """Forget ``code`` (every procedure if None): call after a commit."""
        self._generation += 1
        if code is None:
            self._entries.clear()
        else:
            self._entries.pop(code, None)


async def find_version(
    session: AsyncSession, code: str, version: int
) -> PublishedProcedure | None:
    row = await session.get(ProcedureVersion, (code, version))
    return _published(row) if row else None


async def list_current(session: AsyncSession) -> list[PublishedProcedure]:
    newest = (
        sa.select(_T.c.code, sa.func.max(_T.c.version).label("version"))
        .group_by(_T.c.code)
        .subquery()
    )
    rows = (
        (
            await session.execute(
                sa.select(ProcedureVersion)
                .join(
                    newest,
                    sa.and_(
                        _T.c.code == newest.c.code, _T.c.version == newest.c.version
                    ),
                )
                .order_by(_T.c.code)
            )
        )
        .scalars()
        .all()
    )
    return [_published(r) for r in rows]


async def list_versions(session: AsyncSession, code: str) -> list[PublishedProcedure]:
    rows = (
        (
            await session.execute(
                sa.select(ProcedureVersion)
                .where(ProcedureVersion.code == code)  # type: ignore[arg-type]
                .order_by(_T.c.version)
            )
        )
        .scalars()
        .all()
    )
    return [_published(r) for r in rows]


async def publish(
    session: AsyncSession, procedure: Procedure, *, published_by: str
) -> PublishedProcedure:
    """A new version edited by an administrator (the caller's transaction)."""
    current = await session.scalar(
        sa.select(sa.func.max(_T.c.version)).where(_T.c.code == procedure.code)
    )
    row = ProcedureVersion(
        code=procedure.code,
        version=(current or 0) + 1,
        body=procedure.model_dump(mode="json"),
        content_hash=content_hash(procedure),
        source="api",
        published_by=published_by,
    )
    session.add(row)
    await session.flush()
    log.info(
        "procedure_version_published",
        procedure_code=procedure.code,
        version=row.version,
        source="api",
    )
    return _published(row)
