"""``Idempotency-Key``: a client retry gets the first answer and writes nothing.

The key is remembered in the same transaction as what the request wrote, with
a hash of the request; the same key with another request is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from motcua.intake.repository import find_idempotent
from motcua.intake.tables import IdempotentRequest
from motcua.shared.auth import Principal
from motcua.shared.db import utcnow
from motcua.shared.errors import ApiError

REPLAY_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class IdempotencyKey:
    scope: str
    key: str
    request_hash: str

    @classmethod
    def of(
        cls, key: str | None, principal: Principal, route: str, body: bytes
    ) -> IdempotencyKey | None:
        if key is None:
            return None
        key = key.strip()
        if not 1 <= len(key) <= 200:
            raise ApiError(
                422,
                "idempotency_key_invalid",
                "Khóa Idempotency-Key phải dài từ 1 đến 200 ký tự.",
            )
        digest = hashlib.sha256(route.encode() + b"\n" + body).hexdigest()
        scope = f"{principal.agency_code}/{principal.subject}"[:200]
        return cls(scope=scope, key=key, request_hash=digest)

    def remember(
        self, session: AsyncSession, status_code: int, body: dict[str, Any]
    ) -> None:
        session.add(
            IdempotentRequest(
                scope=self.scope,
                key=self.key,
                request_hash=self.request_hash,
                status_code=status_code,
                response=body,
                created_at=utcnow(),  # (a default factory costs more)
            )
        )


async def replay(
    sessions: async_sessionmaker[AsyncSession], key: IdempotencyKey | None
) -> JSONResponse | None:
    """The first answer to this key, or None if the key is new."""
    if key is None:
        return None
    async with sessions() as session:
        return await replay_in(session, key)


async def replay_in(session: AsyncSession, key: IdempotencyKey) -> JSONResponse | None:
    """:func:`replay` in the caller's session."""
    found = await find_idempotent(session, key.scope, key.key)
    if found is None:
        return None
    if found.request_hash != key.request_hash:
        raise ApiError(
            409,
            "idempotency_key_reused",
            "Khóa Idempotency-Key này đã được dùng cho một yêu cầu khác; hãy dùng "
            "khóa mới cho yêu cầu mới.",
        )
    return JSONResponse(
        status_code=found.status_code,
        content=found.response,
        headers={REPLAY_HEADER: "true"},
    )


async def once(
    sessions: async_sessionmaker[AsyncSession],
    key: IdempotencyKey | None,
    perform: Callable[[], Awaitable[JSONResponse]],
) -> JSONResponse:
    """Replay a known key, else perform; a concurrent twin that won the race
    on the key is replayed instead of failing."""
    replayed = await replay(sessions, key)
    if replayed is not None:
        return replayed
    try:
        return await perform()
    except sa.exc.IntegrityError:
        replayed = await replay(sessions, key)
        if replayed is None:
            raise
        return replayed


async def once_in_transaction(
    transaction: Callable[[], AbstractAsyncContextManager[AsyncSession]],
    sessions: async_sessionmaker[AsyncSession],
    key: IdempotencyKey | None,
    perform: Callable[[AsyncSession], Awaitable[JSONResponse]],
) -> JSONResponse:
    """:func:`once` with the look-up of the key and the work in one
    transaction (one BEGIN … COMMIT instead of a read session and then a
    write transaction); ``perform`` writes in the session it is given."""
    try:
        async with transaction() as session:
            if key is not None:
                replayed = await replay_in(session, key)
                if replayed is not None:
                    return replayed
            return await perform(session)
    except sa.exc.IntegrityError:
        replayed = await replay(sessions, key)
        if replayed is None:
            raise
        return replayed
