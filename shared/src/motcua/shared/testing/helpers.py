"""Helpers for tests that run services in-process or as processes."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from motcua.shared.auth import Role, issue_token
from motcua.shared.contracts.dossier import (
    Person,
    PersonalData,
    PostalAddress,
    SealedPersonalData,
)
from motcua.shared.personal_data import PersonalDataKeys, PersonalDataSealer, load_keys
from motcua.shared.settings import CommonSettings

T = TypeVar("T")


async def wait_for(
    probe: Callable[[], Awaitable[T]],
    *,
    timeout_s: float = 30.0,
    interval_s: float = 0.05,
    message: str = "condition",
) -> T:
    """Poll ``probe`` until it returns something truthy; fail after the timeout
    (generous: a passing test returns at once, a loaded CI machine is slow)."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval_s)
    msg = f"timed out after {timeout_s} s waiting for {message} (last: {last!r})"
    raise AssertionError(msg)


@asynccontextmanager
async def running_app(
    app: FastAPI, *, ready_timeout_s: float = 30.0
) -> AsyncIterator[httpx.AsyncClient]:
    """Start a service's lifespan in-process and wait until it is ready (broker
    connected, consumers joined); yield an HTTP client bound to it."""
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test"
        ) as client:
            runtime = app.state.runtime

            async def ready() -> bool:
                if not runtime.broker_connected:
                    return False
                return all(_assigned(c) for c in runtime.broker.subscribers)

            await wait_for(ready, timeout_s=ready_timeout_s, message="service ready")
            yield client


def _assigned(subscriber: Any) -> bool:
    consumer = getattr(subscriber, "consumer", None)
    return consumer is not None and bool(consumer.assignment())


def bearer(
    agency: str,
    *roles: Role | str,
    settings: CommonSettings | None = None,
    subject: str = "tester",
) -> dict[str, str]:
    token = issue_token(
        settings or CommonSettings(),
        subject=subject,
        agency_code=agency,
        roles=list(roles),
    )
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def service_process(
    module: str,
    env: dict[str, str],
    log_path: Path,
    *,
    args: list[str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``python -m <module> [args]`` with ``env`` added; terminate it afterwards."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", module, *(args or [])],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def read_metric(
    client: httpx.AsyncClient, name: str, **labels: str
) -> float | None:
    """The value of one sample on the service's ``/metrics`` (None: absent)."""
    text = (await client.get("/metrics/")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(
                sample.labels.get(k) == v for k, v in labels.items()
            ):
                return float(sample.value)
    return None


async def wait_http_ok(url: str, *, timeout_s: float = 60.0) -> None:
    """Poll ``url`` until it answers 200; the failure names the last answer."""
    last = "no answer"
    # Generous per-request timeout: /readyz pings the broker for up to 2 s,
    # and a loaded machine adds to that.
    async with httpx.AsyncClient(timeout=10.0) as client:

        async def probe() -> bool:
            nonlocal last
            try:
                response = await client.get(url)
            except httpx.HTTPError as exc:
                last = repr(exc)
                return False
            last = f"{response.status_code} {response.text[:500]}"
            return response.status_code == 200

        try:
            await wait_for(probe, timeout_s=timeout_s, interval_s=0.2, message=url)
        except AssertionError as exc:
            msg = f"{exc}; last answer: {last}"
            raise AssertionError(msg) from None


def sealed(
    dossier_code: str,
    applicant: Person | None = None,
    *,
    representative: Person | None = None,
    postal_address: PostalAddress | None = None,
) -> SealedPersonalData:
    """A dossier's people sealed as intake seals them, with the test session's
    key ring (see the plugin): what ``personal_data`` of a reception carries."""
    people = PersonalData(
        applicant=applicant
        or Person(full_name="Nguyễn Văn A", id_number="001203004567"),
        representative=representative,
        postal_address=postal_address,
    )
    return _sealer().seal(people, dossier_code=dossier_code)


def one_key_ring() -> None:
    """Run this process, and those it starts, with one personal-data key ring
    (``MOTCUA_PERSONAL_DATA_KEYS``, made now unless set): what the test plugin
    does for a session, for scripts (the benches) that seal events themselves."""
    os.environ.setdefault(
        "MOTCUA_PERSONAL_DATA_KEYS", json.dumps(PersonalDataKeys.generate().to_jwks())
    )


@functools.cache
def _sealer() -> PersonalDataSealer:
    return PersonalDataSealer(load_keys(CommonSettings()))
