"""The experiments of ``motcua chaos``: load, crashes, a frozen broker, a
whole-system restart, poison and forged records, a brute-forced lookup, and
a read of the shared topic for personal data. Each reports what was accepted,
lost, doubled and refused, and how long the system took to recover."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from motcua.bench.chaos.load import Load, Submission, reckon, tokens
from motcua.bench.chaos.poison import Sign, catalogue, unhandled_record
from motcua.bench.chaos.system import SERVICES, System
from motcua.bench.chaos.topics import Ledger, Record, produce, read_topics
from motcua.shared.contracts import now_vn
from motcua.shared.contracts.topics import DOSSIER_EVENTS

log_lines: list[str] = []


def note(text: str) -> None:
    """Progress on the terminal (the CLI prints these as they come)."""
    log_lines.append(text)
    printer = _PRINTER[0]
    if printer is not None:
        printer(text)


_PRINTER: list[Any] = [None]


@dataclass
class Result:
    name: str
    accepted: int = 0
    lost: int = 0
    doubled: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    """reason → records refused with it (one per consumer that refused)."""
    not_refused: list[str] = field(default_factory=list)
    applied_forgeries: list[str] = field(default_factory=list)
    recovery_s: float | None = None
    http_errors: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return self.skipped is not None or (
            not self.lost
            and not self.doubled
            and not self.not_refused
            and not self.applied_forgeries
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


@dataclass
class Plan:
    rate: float = 5.0
    load_s: float = 30.0
    kill: tuple[str, ...] = SERVICES
    kill_load_s: float = 20.0
    freeze_s: float = 60.0
    restart_dossiers: int = 200
    brute_force_tries: int = 40
    settle_s: float = 300.0
    parked_wait_s: float = 120.0
    """How long to wait for a parked record to expire (the system's TTL plus
    its expiry round); 0: do not wait, report it parked."""


class HealthProbe:
    """Polls reporting's ``/healthz`` throughout: the slowest answer and the
    failures (outside the windows where reporting itself was killed)."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.samples: list[tuple[float, float | None]] = []
        self.excused: list[tuple[float, float]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> HealthProbe:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            while True:
                started = time.monotonic()
                try:
                    r = await client.get(f"{self.system.urls['reporting']}/healthz")
                    took: float | None = (
                        time.monotonic() - started if r.status_code == 200 else None
                    )
                except httpx.HTTPError:
                    took = None
                self.samples.append((started, took))
                await asyncio.sleep(0.5)

    def summary(self) -> dict[str, Any]:
        def excused(at: float) -> bool:
            return any(a <= at <= b for a, b in self.excused)

        counted = [(at, took) for at, took in self.samples if not excused(at)]
        answered = [took for _, took in counted if took is not None]
        return {
            "probes": len(counted),
            "failed": sum(1 for _, took in counted if took is None),
            "slowest_s": round(max(answered), 3) if answered else None,
        }


# -- load and crashes -----------------------------------------------------------


async def _reckoned(
    name: str, system: System, load: Load, submissions: list[Submission], plan: Plan
) -> Result:
    reckoning, settle_s = await reckon(system, submissions, timeout_s=plan.settle_s)
    result = Result(
        name,
        accepted=reckoning.accepted,
        lost=reckoning.lost_count,
        doubled=reckoning.doubled_count,
        http_errors=reckoning.http_errors,
    )
    result.details["settled_in_s"] = round(settle_s, 1)
    if reckoning.lost:
        result.details["lost"] = {k: v[:5] for k, v in reckoning.lost.items()}
    if reckoning.doubled:
        result.details["doubled"] = {k: v[:5] for k, v in reckoning.doubled.items()}
    if load.errors:
        result.details["http_error_samples"] = load.errors[-3:]
    return result


async def steady_load(system: System, load: Load, plan: Plan) -> Result:
    note(f"load: {plan.rate:g} receptions/s for {plan.load_s:g} s")
    submissions = await load.at_rate(plan.rate, plan.load_s)
    return await _reckoned("load", system, load, submissions, plan)


async def kill_service(
    system: System, load: Load, plan: Plan, service: str, probe: HealthProbe
) -> Result:
    name = f"kill -9 {service}"
    pid = system.pid(service)
    if pid is None:
        return Result(name, skipped="no pid: not a system run by motcua up")
    recovery: dict[str, float] = {}

    async def crash() -> None:
        killed_at = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        note(f"{name}: killed pid {pid}")
        await _until(
            lambda: system.pid(service) not in (pid, None) and system.ready((service,)),
            timeout_s=plan.settle_s,
        )
        recovery["s"] = time.monotonic() - killed_at
        if service == "reporting":
            probe.excused.append((killed_at, time.monotonic()))

    note(f"{name}: {plan.rate:g} receptions/s for {plan.kill_load_s:g} s")
    submissions = await load.at_rate(plan.rate, plan.kill_load_s, during=crash)
    result = await _reckoned(name, system, load, submissions, plan)
    result.recovery_s = round(recovery["s"], 1)
    return result


async def freeze_broker(system: System, load: Load, plan: Plan) -> Result:
    name = f"broker frozen {plan.freeze_s:g} s"
    pid = system.pid("broker")
    if pid is None:
        return Result(name, skipped="no local broker to freeze (external Kafka)")
    resumed: dict[str, float] = {}

    async def freeze() -> None:
        os.kill(pid, signal.SIGSTOP)
        note(f"{name}: stopped pid {pid}")
        try:
            await asyncio.sleep(plan.freeze_s)
        finally:
            os.kill(pid, signal.SIGCONT)
            resumed["at"] = time.monotonic()
            note(f"{name}: resumed")

    seconds = max(plan.kill_load_s, plan.freeze_s * 4 / 3 + 2)
    note(f"{name}: {plan.rate:g} receptions/s for {seconds:g} s")
    submissions = await load.at_rate(plan.rate, seconds, during=freeze)
    result = await _reckoned(name, system, load, submissions, plan)
    # from the broker's resumption until every dossier of the load went through
    result.recovery_s = round(time.monotonic() - resumed["at"], 1)
    return result


async def restart_everything(
    system: System, load: Load, plan: Plan, probe: HealthProbe
) -> Result:
    name = "whole system stop and start"
    try:
        supervisor = system.pid("supervisor")
    except (KeyError, OSError, ValueError):
        supervisor = None
    if supervisor is None:
        return Result(name, skipped="no motcua up supervisor to restart")
    note(f"{name}: {plan.restart_dossiers} receptions, then stop and start")
    submissions = await load.burst(plan.restart_dossiers)
    started = time.monotonic()
    before = system.state().get("broker") or {}
    os.kill(supervisor, signal.SIGHUP)
    await _until(
        lambda: (
            (system.state().get("broker") or {}).get("cluster_id")
            != before.get("cluster_id")
        ),
        timeout_s=180,
    )
    await asyncio.to_thread(system.wait_ready, timeout_s=180)
    probe.excused.append((started, time.monotonic()))  # down on purpose
    recovery = time.monotonic() - started
    note(f"{name}: running again after {recovery:.1f} s")
    result = await _reckoned(name, system, load, submissions, plan)
    result.recovery_s = round(recovery, 1)
    return result


async def _until(condition: Any, *, timeout_s: float) -> None:
    """Poll ``condition`` (a callable) until it holds; raises on timeout."""
    deadline = time.monotonic() + timeout_s
    for _ in range(int(timeout_s / 0.2) + 1):
        with contextlib.suppress(OSError, ValueError, KeyError):
            if condition():
                return
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    msg = f"not so after {timeout_s:.0f} s"
    raise TimeoutError(msg)


# -- poison and forgeries --------------------------------------------------------


async def _json(client: httpx.AsyncClient, url: str, token: str) -> Any:
    r = await client.get(url, headers={"Authorization": f"Bearer {token}"})
    return r.json() if r.status_code == 200 else {"status": r.status_code}


async def _snapshot(
    system: System, client: httpx.AsyncClient, code: str, body: dict[str, Any]
) -> dict[str, Any]:
    """What a forged record could change about the live dossier and the reports."""
    operator = tokens()["*"]
    desk = tokens()[body["receiving_agency_code"]]
    today = now_vn().date().isoformat()
    applicant = body["applicant"]
    intake = await _json(
        client, f"{system.urls['intake']}/api/v1/dossiers/{code}", desk
    )
    routing = await _json(
        client, f"{system.urls['routing']}/api/v1/dossiers/{code}", operator
    )
    lookup = await client.get(
        f"{system.urls['reporting']}/api/v1/public/dossiers/{code}",
        params={"id_number": applicant["id_number"]},
    )
    report = await _json(
        client,
        f"{system.urls['reporting']}/api/v1/reports/bieu-06?period=custom"
        f"&from={today}&to={today}&group_by=level",
        operator,
    )
    sms = (await client.get(f"{system.urls['sms']}/api/messages")).json()
    mails = (await client.get(f"{system.urls['mailbox']}/api/messages")).json()
    return {
        "intake_status": intake.get("status"),
        "routing_status": routing.get("status"),
        "lookup": lookup.status_code,
        "lookup_status": lookup.json().get("status")
        if lookup.status_code == 200
        else None,
        "bieu06": report.get("total"),
        "sms_to_citizen": sum(1 for m in sms if code in m.get("text", "")),
        "sms_to_forger": sum(
            1
            for m in sms
            if m.get("to", "").endswith(
                ("909000111", "909000222", "909000333", "909000444", "999999999")
            )
        ),
        "mail_to_citizen": sum(1 for m in mails if code in m.get("subject", "")),
        "mail_to_forger": sum(
            1
            for m in mails
            if any(
                "example.vn" in t and ("ke.mao" in t or "khong.co" in t)
                for t in m.get("to", [])
            )
        ),
    }


async def _unhandled_counts(
    system: System, client: httpx.AsyncClient
) -> dict[str, float]:
    found: dict[str, float] = {}
    pattern = re.compile(
        r'^motcua_events_unhandled_total\{consumer="([^"]+)",event_type="unregistered"\} (\S+)$',
        re.M,
    )
    for service in SERVICES:
        text = (await client.get(f"{system.urls[service]}/metrics/")).text
        for consumer, value in pattern.findall(text):
            found[consumer] = found.get(consumer, 0.0) + float(value)
    return found


async def _live_dossier(system: System, load: Load, plan: Plan) -> Submission:
    """A dossier received, routed (in processing) and told: the target."""
    [target] = await load.burst(1)
    assert target.code is not None, load.errors[-1:]
    await reckon(system, [target], timeout_s=plan.settle_s)
    return target


def _insider(system: System, records: list[Record]) -> Sign | None:
    """Signing as the agency entitled to each act, linked after the dossier's
    ``records`` as on the topic; None without the keystore."""
    from motcua.shared.signing.keystore import FileKeystore
    from motcua.shared.testing.signing import TestChains

    if not FileKeystore(system.keystore).exists():
        note(f"no keystore at {system.keystore}: the insider's cases are skipped")
        return None
    chains = TestChains(system.keystore)

    def sign(envelope: Any) -> bytes:
        code = envelope.dossier_code
        return chains.body(envelope, known=[r.value for r in records if r.key == code])

    return sign


async def poison(system: System, load: Load, plan: Plan, probe: HealthProbe) -> Result:
    name = "poison and forged records"
    target = await _live_dossier(system, load, plan)
    code = str(target.code)
    agency = code.split("-")[0]
    records = await asyncio.to_thread(
        read_topics, system.bootstrap_servers, [DOSSIER_EVENTS]
    )
    reception = next(
        r.body()
        for r in records
        if r.key == code and r.headers.get("event-type") == "dossier.received"
    )
    stamp = time.strftime("%H%M%S")
    insider = _insider(system, records)
    cases = catalogue(
        code,
        reception,
        unissued=f"{agency}-{stamp}-9991",
        unknown=f"{agency}-{stamp}-9992",
        insider=insider,
    )
    async with httpx.AsyncClient(timeout=30) as client:
        before = await _snapshot(system, client, code, target.body)
        unhandled_before = await _unhandled_counts(system, client)
        note(f"{name}: {len(cases)} cases against {code}")
        await asyncio.to_thread(
            produce,
            system.bootstrap_servers,
            [r for case in cases for r in case.records] + [unhandled_record(code)],
        )
        result = Result(name)
        result.details["cases"] = {}
        waits = plan.parked_wait_s
        deadline = time.monotonic() + max(60.0, waits + 30)
        pending = {c.name for c in cases if waits or "parked" not in c.name}
        ledger = Ledger()
        while pending and time.monotonic() < deadline:
            ledger = await asyncio.to_thread(Ledger.read, system.bootstrap_servers)
            for case in cases:
                if case.name in pending and _refused_as_expected(case, ledger):
                    pending.discard(case.name)
            if pending:
                await asyncio.sleep(3)
        # the console lists a dead-letter topic holding the 900 KB record
        listed_at = time.monotonic()
        listing = await client.get(
            f"{system.urls['reporting']}/api/v1/console/dead-letters/motcua.dlt.reporting",
            headers={"Authorization": f"Bearer {tokens()['*']}"},
        )
        result.details["console_dead_letters"] = {
            "status": listing.status_code,
            "seconds": round(time.monotonic() - listed_at, 2),
        }
        await asyncio.sleep(3)  # anything wrongly applied would show by now
        after = await _snapshot(system, client, code, target.body)
        unhandled_after = await _unhandled_counts(system, client)
    for case in cases:
        given = _reasons(case, ledger)
        for reason in given.values():
            result.refused[reason] = result.refused.get(reason, 0) + 1
        missing = {c: r for c, r in case.expected.items() if given.get(c) != r}
        parked_only = "parked" in case.name and not waits
        result.details["cases"][case.name] = {
            "what": case.what,
            "refused": given,
            "expected": case.expected,
            **({"note": "parked; expiry not awaited"} if parked_only else {}),
        }
        if missing and not parked_only:
            result.not_refused.append(f"{case.name}: expected {missing}, got {given}")
    for key, value in before.items():
        if after[key] != value:
            result.applied_forgeries.append(f"{key}: {value!r} → {after[key]!r}")
    result.details["unhandled_counted"] = {
        c: unhandled_after.get(c, 0) - unhandled_before.get(c, 0)
        for c in unhandled_after
    }
    if not all(v >= 1 for v in result.details["unhandled_counted"].values()):
        result.not_refused.append("an unhandled type was not counted by every consumer")
    result.details["reporting_health"] = probe.summary()
    return result


def _reasons(case: Any, ledger: Ledger) -> dict[str, str]:
    """consumer → reason of the dead letters of a case's records."""
    return {
        consumer: reason
        for event_id in case.event_ids
        for consumer, reason in ledger.dead_letters.get(event_id, [])
    }


def _refused_as_expected(case: Any, ledger: Ledger) -> bool:
    given = _reasons(case, ledger)
    return all(given.get(c) == r for c, r in case.expected.items())


# -- the public lookup, brute-forced ------------------------------------------------


async def brute_force_lookup(system: System, load: Load, plan: Plan) -> Result:
    """An attacker guesses ID numbers from one address (127.0.0.2), changing
    X-Forwarded-For at will; the citizen asks from another (127.0.0.1)."""
    name = "public lookup brute-forced"
    target = await _live_dossier(system, load, plan)
    url = f"{system.urls['reporting']}/api/v1/public/dossiers/{target.code}"
    statuses: dict[int, int] = {}
    attacker = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(transport=attacker, timeout=10) as client:
        for n in range(plan.brute_force_tries):
            r = await client.get(
                url,
                params={"id_number": f"0011{n:08d}"},
                headers={"X-Forwarded-For": f"198.51.100.{n % 250}"},
            )
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
    async with httpx.AsyncClient(timeout=10) as client:
        citizen = await client.get(
            url, params={"id_number": target.body["applicant"]["id_number"]}
        )
    result = Result(name, accepted=1)
    result.details = {
        "attempts": plan.brute_force_tries,
        "answers": {str(k): v for k, v in sorted(statuses.items())},
        "citizen": citizen.status_code,
    }
    result.refused["too_many_requests"] = statuses.get(429, 0)
    if statuses.get(200):
        result.applied_forgeries.append("a guessed ID number opened the dossier")
    if not statuses.get(429):
        result.not_refused.append("the guesses were never limited")
    if citizen.status_code != 200:
        result.lost = 1
        result.details["lost"] = "the citizen was locked out of their own dossier"
    return result


# -- personal data on the shared topic ------------------------------------------------

# shaped like personal data, as a word of its own (not inside a uuid or a code)
_PHONE = re.compile(r"(?<![\w.+-])(?:\+?84|0)\d{9}(?![\w.-])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_ID = re.compile(r"(?<![\w.-])\d{12}(?![\w.-])")


async def personal_data_on_topic(system: System, load: Load) -> Result:
    """Read ``motcua.dossier.events`` as an agency's connector would and look
    for every phone, email, ID number and name this run submitted, and for
    anything shaped like one outside the sealed blocks."""
    name = "personal data on motcua.dossier.events"
    records = await asyncio.to_thread(
        read_topics, system.bootstrap_servers, [DOSSIER_EVENTS]
    )
    ours = [r for r in records if r.headers.get("producer") in SERVICES]
    needles: set[str] = set()
    for s in load.submissions:
        applicant = s.body["applicant"]
        needles |= {
            applicant["id_number"],
            applicant["email"],
            applicant["full_name"],
            applicant["phone"][-9:],
        }
    leaks: list[str] = []
    shaped: list[str] = []
    for record in ours:
        text = record.value.decode(errors="replace")
        body = record.body()
        data = dict(body.get("data") or {})
        data.pop("personal_data", None)
        clear = str({k: v for k, v in body.items() if k != "data"}) + str(data)
        for needle in needles:
            if needle in text:
                leaks.append(f"{record.headers.get('event-type')} {record.key}")
                break
        if _PHONE.search(clear) or _EMAIL.search(clear) or _ID.search(clear):
            shaped.append(f"{record.headers.get('event-type')} {record.key}")
    result = Result(name, accepted=len(ours))
    result.details = {
        "records_read": len(ours),
        "values_looked_for": len(needles),
        "found": leaks[:5],
        "shaped_like_personal_data": shaped[:5],
    }
    if leaks or shaped:
        result.applied_forgeries.append(
            f"{len(leaks) + len(shaped)} records carry personal data in clear"
        )
    return result
