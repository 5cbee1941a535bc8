"""Receptions through intake's API at a set rate, and the reckoning of what
became of each: received once, routed once, told once by SMS and by email,
in reporting once."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from motcua.bench.chaos.system import System
from motcua.bench.chaos.topics import Ledger
from motcua.bench.mix import COMMUNE_DESKS, PROVINCE_DESK, reception
from motcua.shared.auth import Role, issue_token
from motcua.shared.settings import CommonSettings

CHANNELS = ("sms", "email")
"""Every applicant of the mix gives a phone and an email."""


def tokens() -> dict[str, str]:
    settings = CommonSettings()
    desks = {
        agency: issue_token(
            settings, subject="chaos", agency_code=agency, roles=[Role.DESK_OFFICER]
        )
        for agency in (*COMMUNE_DESKS, PROVINCE_DESK)
    }
    desks["*"] = issue_token(
        settings, subject="chaos", agency_code="*", roles=[Role.OPERATOR]
    )
    return desks


@dataclass
class Submission:
    n: int
    code: str | None
    status: int
    body: dict[str, Any]
    at: float


@dataclass
class Load:
    """Receptions of one chaos run (numbered across experiments)."""

    system: System
    seed: int = 12
    submissions: list[Submission] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.tokens = tokens()
        self.counter = 0

    async def submit(self, client: httpx.AsyncClient) -> Submission:
        n = self.counter
        self.counter += 1
        _kind, body = reception(n, self.rng)
        # a run's own people: every run of chaos on one system is told apart
        body["applicant"]["email"] = f"chaos{self.seed}.{n}@example.vn"
        token = self.tokens[body["receiving_agency_code"]]
        status, code = 0, None
        # as a desk's client would: retried while intake is away, with the same
        # Idempotency-Key, so a retry never makes a second dossier
        for _attempt in range(30):
            try:
                response = await client.post(
                    f"{self.system.urls['intake']}/api/v1/dossiers",
                    json=body,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Idempotency-Key": f"chaos-{self.seed}-{n}",
                    },
                )
            except httpx.TransportError as exc:
                error = repr(exc)
                await asyncio.sleep(1)
                continue
            status = response.status_code
            if status in (502, 503):
                error = f"{status}"
                await asyncio.sleep(1)
                continue
            code = response.json().get("code") if status == 201 else None
            error = "" if code else f"{status} {response.text[:200]}"
            break
        if code is None:
            self.errors.append(error)
        submission = Submission(n, code, status, body, time.monotonic())
        self.submissions.append(submission)
        return submission

    async def at_rate(
        self, rate: float, seconds: float, *, during: Callable[[], Any] | None = None
    ) -> list[Submission]:
        """``rate`` receptions a second for ``seconds``; ``during`` runs once
        the load has started (the fault), concurrently."""
        total = max(1, int(rate * seconds))
        started = time.monotonic()
        done: list[Submission] = []
        fault: asyncio.Task[Any] | None = None
        async with httpx.AsyncClient(timeout=30) as client:
            tasks = []
            for i in range(total):
                await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
                if during is not None and fault is None and i >= total // 4:
                    fault = asyncio.create_task(_call(during))
                tasks.append(asyncio.create_task(self.submit(client)))
            done = list(await asyncio.gather(*tasks))
            if fault is not None:
                await fault
        return done

    async def burst(self, count: int) -> list[Submission]:
        async with httpx.AsyncClient(timeout=30) as client:
            sem = asyncio.Semaphore(8)

            async def one() -> Submission:
                async with sem:
                    return await self.submit(client)

            return list(await asyncio.gather(*(one() for _ in range(count))))


async def _call(fn: Callable[[], Any]) -> Any:
    result = fn()
    if asyncio.iscoroutine(result):
        return await result
    return result


@dataclass
class Reckoning:
    accepted: int
    lost: dict[str, list[str]]
    """What a dossier lacks → the dossiers (received, routed, sms, email, reporting)."""
    doubled: dict[str, list[str]]
    http_errors: int

    @property
    def lost_count(self) -> int:
        return len({c for codes in self.lost.values() for c in codes})

    @property
    def doubled_count(self) -> int:
        return len({c for codes in self.doubled.values() for c in codes})


async def reckon(
    system: System, submissions: list[Submission], *, timeout_s: float
) -> tuple[Reckoning, float]:
    """Wait (up to ``timeout_s``) until every accepted dossier went all the way;
    then count what is missing and what happened twice. Returns the reckoning
    and the seconds it took to settle."""
    codes = [s.code for s in submissions if s.code]
    started = time.monotonic()
    while True:
        ledger = await asyncio.to_thread(Ledger.read, system.bootstrap_servers)
        missing = _missing_on_topics(ledger, codes)
        if not any(missing.values()) or time.monotonic() - started > timeout_s:
            break
        await asyncio.sleep(2)
    in_reporting = await _reporting_counts(system, codes)
    missing["reporting"] = [c for c in codes if in_reporting.get(c, 0) == 0]
    doubled = {
        "received": [c for c in codes if len(ledger.receptions[c]) > 1],
        "routed": [c for c in codes if len(ledger.routings[c]) > 1],
        **{
            channel: [c for c in codes if len(ledger.notices[(c, channel)]) > 1]
            for channel in CHANNELS
        },
        "reporting": [c for c in codes if in_reporting.get(c, 0) > 1],
    }
    errors = sum(1 for s in submissions if s.code is None)
    reckoning = Reckoning(
        accepted=len(codes),
        lost={k: v for k, v in missing.items() if v},
        doubled={k: v for k, v in doubled.items() if v},
        http_errors=errors,
    )
    return reckoning, time.monotonic() - started


def _missing_on_topics(ledger: Ledger, codes: list[str]) -> dict[str, list[str]]:
    def told(code: str, channel: str) -> bool:
        return any(n in ledger.delivered for n in ledger.notices[(code, channel)])

    return {
        "received": [c for c in codes if not ledger.receptions[c]],
        "routed": [c for c in codes if not ledger.routings[c]],
        **{ch: [c for c in codes if not told(c, ch)] for ch in CHANNELS},
    }


async def _reporting_counts(system: System, codes: list[str]) -> dict[str, int]:
    """How many times reporting's timeline holds each dossier's reception."""
    token = tokens()["*"]
    counts: dict[str, int] = {}
    sem = asyncio.Semaphore(8)
    async with httpx.AsyncClient(timeout=30) as client:

        async def one(code: str) -> None:
            async with sem:
                for _ in range(30):
                    r = await client.get(
                        f"{system.urls['reporting']}/api/v1/dossiers/{code}/timeline",
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    if r.status_code == 200:
                        counts[code] = sum(
                            e["event_type"] == "dossier.received"
                            for e in r.json()["events"]
                        )
                        if counts[code]:
                            return
                    await asyncio.sleep(1)

        await asyncio.gather(*(one(c) for c in codes))
    return counts
