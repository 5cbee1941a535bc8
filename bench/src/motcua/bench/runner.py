"""``motcua bench``: drive a realistic mix of dossiers through intake's HTTP
API and watch them go through routing, notification and reporting, next to
the broker's raw limit measured on the same broker in the same run."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import time
from contextlib import AsyncExitStack, ExitStack
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from motcua.bench import hops, portal
from motcua.bench.mix import reception
from motcua.bench.observe import PipelineObserver
from motcua.bench.profile import flame_graphs, layer_shares
from motcua.bench.raw import RawResult, measure_broker_limit
from motcua.bench.stats import rate, summary_ms
from motcua.shared.auth import Role, issue_token
from motcua.shared.contracts import now_vn
from motcua.shared.local_broker import LocalBroker, free_port
from motcua.shared.settings import CommonSettings, KafkaSettings
from motcua.shared.testing.helpers import service_process, wait_http_ok
from motcua.shared.testing.system import SERVICES, running_system

console = Console()

EXPECTED_CHANNELS = frozenset({"sms", "email"})
"""Every applicant of the mix gives a phone and an email."""


@dataclass
class BenchConfig:
    rate: float = 5.0
    rate_seconds: float = 30.0
    max_seconds: float = 30.0
    concurrency: int = 8
    raw_messages: int = 50_000
    drain_timeout_s: float = 300.0
    results_dir: Path = Path("bench/results")
    data_dir: Path | None = None
    postgres_url: str | None = None
    intake_url: str | None = None
    reporting_url: str | None = None
    seed: int = 7
    label: str = ""
    portal_faults: bool = False
    profile: bool = False
    """Flame graphs (py-spy) of each service from the max phase to the drain."""
    idle_seconds: float = 5.0
    """How long the bench watches the idle system (its polling costs) first."""
    half_seconds: float = 30.0
    """Length of the half-load phase (half the max phase's processed rate)."""
    half_rate: float = 0.0
    """If set, the half-load phase offers this rate instead (runs compared on
    a busy machine then see the same load)."""
    soak_seconds: float = 0.0
    """If set, the half-load phase lasts this long instead, and each
    service's RSS growth after its first minute is reported."""
    replicas: int = 1
    """Instances of each service (in the same consumer groups; PostgreSQL)."""


@dataclass
class Submission:
    code: str | None
    kind: str
    submitted_at: float
    answered_at: float
    status: int
    phase: str


@dataclass
class Phase:
    name: str
    started_at: float = 0.0
    ended_at: float = 0.0
    submissions: list[Submission] = field(default_factory=list)


class Bench:
    def __init__(self, config: BenchConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.counter = 0
        self.processes: dict[str, psutil.Process] = {}
        self.peak_rss: dict[str, int] = {}
        self.cpu_start: dict[str, float] = {}
        self.error_samples: list[str] = []
        self.first_rss: dict[str, int] = {}
        self.last_rss: dict[str, int] = {}
        self.cpu_seconds: dict[str, float] = {}
        self.observer: PipelineObserver | None = None
        self.portal_simulator: str | None = None
        self.urls: dict[str, str] = {}
        self.instance_urls: dict[str, str] = {}
        self.statements_start: dict[str, float] = {}
        self.statements: dict[str, float] = {}
        self.flames: dict[str, Path] = {}
        self.profiling = ExitStack()
        self.stamp = f"{datetime.now():%Y%m%dT%H%M%S}"  # noqa: DTZ005
        self.first_day = now_vn().date()
        """The bench's dossiers are counted in Biểu 06 from this day on (a
        run may cross midnight, Vietnam time)."""
        self.idle_ms_per_s: dict[str, float] = {}
        self.intake_clients: list[httpx.AsyncClient] = []
        self.intake_urls: list[str] = []
        self.rss_after_minute: dict[str, int] = {}
        self.rss_at_end: dict[str, int] = {}
        self.postgres_cpu: dict[int, tuple[float, float]] = {}
        """PostgreSQL backend pid → (CPU when first seen, CPU last seen)."""
        self.wall_s = 0.0
        self.data_dir: Path | None = None
        self.wall_offset = time.time() - time.perf_counter()
        """Wall clock minus ``perf_counter``: the bench's times in the services'."""

    # -- the system ---------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        async with AsyncExitStack() as astack:
            stack = astack.enter_context(ExitStack())
            kafka, urls = await self._system(stack)
            with console.status("measuring the broker's raw limit…"):
                raw = await measure_broker_limit(kafka, count=self.config.raw_messages)
            console.print(
                f"broker raw limit: {raw.end_to_end_per_s:,.0f} msg/s end to end ({raw.message_bytes} B)"
            )
            self.observer = PipelineObserver(kafka, codes=set())
            await self.observer.start()
            astack.push_async_callback(self.observer.stop)
            # The bench's own full collections would stop its consumer (and
            # its clients) for as long as a service's: not the pipeline's time.
            gc.collect()
            gc.freeze()
            self.idle_ms_per_s = await self._idle_cpu(self.config.idle_seconds)
            self.statements_start = await self._statements()
            sampler = asyncio.create_task(self._sample_memory())
            began = time.perf_counter()
            try:
                with self.profiling:
                    phases = await self._drive(urls)
                    await self._drain(phases)
            finally:
                sampler.cancel()
                self.wall_s = time.perf_counter() - began
            self.statements = {
                k: v - self.statements_start.get(k, 0.0)
                for k, v in (await self._statements()).items()
            }
            reconciliation = await self._reconcile(urls, phases)
            result = self._result(raw, phases, reconciliation)
            result["hops"] = self._hops(phases)
            if self.portal_simulator and "portal" in urls:
                codes = {s.code for p in phases for s in p.submissions if s.code}
                with console.status("checking every dossier on the portal…"):
                    result["portal"] = await portal.portal_check(
                        urls["portal"],
                        self.portal_simulator,
                        codes,
                        timeout_s=self.config.drain_timeout_s,
                    )
            return result

    async def _system(self, stack: ExitStack) -> tuple[KafkaSettings, dict[str, str]]:
        if self.config.intake_url and self.config.reporting_url:
            kafka = KafkaSettings()
            return kafka, {
                "intake": self.config.intake_url,
                "reporting": self.config.reporting_url,
            }
        if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            kafka = KafkaSettings()
        else:
            broker = stack.enter_context(LocalBroker("127.0.0.1", free_port()))
            self.processes["broker"] = psutil.Process(broker.process.pid)  # type: ignore[union-attr]
            kafka = KafkaSettings(
                bootstrap_servers=broker.bootstrap_servers, profile="tansu"
            )
        data_dir = (
            self.config.data_dir or Path("var") / f"bench-{now_vn():%Y%m%d-%H%M%S}"
        )
        (data_dir / "logs").mkdir(parents=True, exist_ok=True)
        if not self.config.postgres_url and self.config.replicas == 1:
            self.data_dir = data_dir  # the services' SQLite files, for the hops
        sim = self._simulators(stack, data_dir)
        services: tuple[str, ...] = SERVICES
        portal_env: dict[str, str] = {}
        if portal.simulator_available():
            self.portal_simulator, simulator = portal.start_simulator(stack, data_dir)
            self.processes["portal-simulator"] = psutil.Process(simulator.pid)
            services = (*SERVICES, "portal")
            portal_env = portal.service_env(self.portal_simulator)
        databases = (
            {
                s: f"{self.config.postgres_url.rstrip('/')}_{s}"
                for s in (*SERVICES, "portal")
            }
            if self.config.postgres_url
            else None
        )
        system = stack.enter_context(
            running_system(
                bootstrap_servers=kafka.bootstrap_servers,
                profile=kafka.profile or "tansu",
                data_dir=data_dir,
                database_urls=databases,
                replicas=self.config.replicas,
                extra_env={
                    "MOTCUA_LOG_LEVEL": "WARNING",
                    "MOTCUA_NOTIFICATION_SMS_GATEWAY_URL": sim["sms"],
                    "MOTCUA_NOTIFICATION_POSTAL_API_URL": sim["postal"],
                    "MOTCUA_NOTIFICATION_SMTP_PORT": str(sim["smtp_port"]),
                    "MOTCUA_NOTIFICATION_SMS_RATE_PER_S": "2000",
                    "MOTCUA_NOTIFICATION_EMAIL_RATE_PER_S": "2000",
                    **portal_env,
                },
                services=services,
            )
        )
        for name, process in system.processes.items():
            self.processes[name] = psutil.Process(process.pid)  # type: ignore[attr-defined]
        self.urls = dict(system.urls)
        self.instance_urls = {
            (service if n == 1 else f"{service}#{n}"): url
            for service, urls in system.replica_urls.items()
            for n, url in enumerate(urls, start=1)
        }
        self.intake_urls = system.replica_urls.get("intake", [system.urls["intake"]])
        with console.status("starting the system…"):
            await system.wait_ready()
        if self.portal_simulator:
            await wait_http_ok(f"{self.portal_simulator}/_sim/stats", timeout_s=60)
            if self.config.portal_faults:
                await portal.set_faults(self.portal_simulator, portal.PORTAL_FAULTS)
        console.print(f"system up: {system.urls}  (data: {data_dir})")
        return kafka, system.urls

    def _simulators(self, stack: ExitStack, data_dir: Path) -> dict[str, Any]:
        ports = {name: free_port() for name in ("sms", "postal", "mailbox", "smtp")}
        env = {
            "MOTCUA_SIMULATOR_RECEIPT_DELAY_S": "0",
            "MOTCUA_SIMULATOR_POSTAL_AUTO_DELIVER": "false",
        }
        specs = {
            "sms-simulator": ["sms", "--port", str(ports["sms"])],
            "postal-simulator": ["postal", "--port", str(ports["postal"])],
            "smtp-simulator": [
                "smtp",
                "--port",
                str(ports["mailbox"]),
                "--smtp-port",
                str(ports["smtp"]),
            ],
        }
        for name, args in specs.items():
            process = stack.enter_context(
                service_process(
                    "motcua.notification.simulators",
                    env,
                    data_dir / "logs" / f"{name}.log",
                    args=args,
                )
            )
            self.processes[name] = psutil.Process(process.pid)
        return {
            "sms": f"http://127.0.0.1:{ports['sms']}",
            "postal": f"http://127.0.0.1:{ports['postal']}",
            "smtp_port": ports["smtp"],
        }

    async def _sample_memory(self) -> None:
        """Peak RSS of every process, and the CPU time each spends in the run."""
        while True:
            for name, process in self.processes.items():
                try:
                    rss = process.memory_info().rss
                    times = process.cpu_times()
                except psutil.Error:
                    continue
                self.peak_rss[name] = max(self.peak_rss.get(name, 0), rss)
                self.first_rss.setdefault(name, rss)
                self.last_rss[name] = rss
                cpu = times.user + times.system
                self.cpu_start.setdefault(name, cpu)
                self.cpu_seconds[name] = cpu - self.cpu_start[name]
            if self.config.postgres_url:
                self._sample_postgres()
            await asyncio.sleep(0.5)

    # -- load -----------------------------------------------------------------

    async def _drive(self, urls: dict[str, str]) -> list[Phase]:
        limits = httpx.Limits(max_connections=self.config.concurrency + 4)
        # Every instance of intake takes its share of the submissions.
        self.intake_clients = [
            httpx.AsyncClient(base_url=url, timeout=30, limits=limits)
            for url in self.intake_urls[1:]
        ]
        async with httpx.AsyncClient(
            base_url=urls["intake"], timeout=30, limits=limits
        ) as client:
            tokens = self._tokens()
            warm = Phase("warm-up")
            await self._fixed_rate(client, tokens, warm, per_second=10, seconds=2)
            await self._wait_processed(warm.submissions, timeout_s=60, quiet=True)
            fixed = Phase(f"fixed {self.config.rate:g}/s")
            outage = None
            if self.config.portal_faults and self.portal_simulator:
                # the portal goes down 5 s into the fixed-rate phase
                outage = asyncio.create_task(
                    portal.outage_later(self.portal_simulator, after_s=5)
                )
            await self._fixed_rate(
                client, tokens, fixed, self.config.rate, self.config.rate_seconds
            )
            if outage is not None:
                await outage
            flat_out = Phase(f"max, {self.config.concurrency} clients")
            if self.config.profile:
                self.flames = self.profiling.enter_context(
                    flame_graphs(
                        self.processes, self.config.results_dir / "flames", self.stamp
                    )
                )
            await self._as_fast_as_possible(client, tokens, flat_out)
            await self._wait_processed(
                flat_out.submissions, timeout_s=self.config.drain_timeout_s
            )
            self.profiling.close()
            half = await self._half_load(client, tokens, flat_out)
        for extra in self.intake_clients:
            await extra.aclose()
        return [fixed, flat_out, half]

    async def _half_load(
        self, client: httpx.AsyncClient, tokens: dict[str, str], flat_out: Phase
    ) -> Phase:
        """Half the rate the max phase sustained end to end: the latency a
        system shows with room to spare; in a soak, its memory over time."""
        sustained = self._processed_rate(flat_out) or 2.0
        per_second = self.config.half_rate or max(1.0, round(sustained / 2, 1))
        seconds = self.config.soak_seconds or self.config.half_seconds
        half = Phase(f"half load {per_second:g}/s")
        minute = asyncio.create_task(self._rss_after(60.0)) if seconds > 60 else None
        await self._fixed_rate(client, tokens, half, per_second, seconds)
        self.rss_at_end = self._rss()
        if minute is not None:
            minute.cancel()
        return half

    async def _rss_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.rss_after_minute = self._rss()

    def _rss(self) -> dict[str, int]:
        found = {}
        for name, process in self.processes.items():
            try:
                found[name] = process.memory_info().rss
            except psutil.Error:
                continue
        return found

    def _processed_rate(self, phase: Phase) -> float | None:
        """Dossiers of the phase processed end to end per second, from its
        start to the last one's last sighting."""
        assert self.observer is not None
        seen = self.observer.sightings
        done = [s.code for s in phase.submissions if s.code and self._processed(s.code)]
        last = max(
            (max(seen[c].notified_at or 0, seen[c].visible_at or 0) for c in done),
            default=None,
        )
        return rate(len(done), phase.started_at, last)

    def _sample_postgres(self) -> None:
        """CPU of the PostgreSQL backends serving the bench's databases (their
        process title names the database: ``postgres: … <user> <db> …``)."""
        assert self.config.postgres_url is not None
        prefix = self.config.postgres_url.rstrip("/").rpartition("/")[2] + "_"
        for process in psutil.process_iter(["cmdline"]):
            title = " ".join(process.info.get("cmdline") or ())
            if not title.startswith("postgres:") or f" {prefix}" not in title:
                continue
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            cpu = times.user + times.system
            first, _ = self.postgres_cpu.get(process.pid, (cpu, cpu))
            self.postgres_cpu[process.pid] = (first, cpu)

    async def _idle_cpu(self, seconds: float) -> dict[str, float]:
        """CPU ms per second each process spends with nothing to do (polls,
        heartbeats, samplers): the bench's per-dossier figures count it too,
        so a slow run looks dearer per dossier than a fast one."""
        if seconds <= 0:
            return {}
        before = {n: _cpu(p) for n, p in self.processes.items()}
        await asyncio.sleep(seconds)
        return {
            n: round((_cpu(p) - before[n]) * 1000 / seconds, 1)
            for n, p in self.processes.items()
        }

    async def _statements(self) -> dict[str, float]:
        """Each service's ``motcua_db_statements_total`` (its /metrics)."""
        found: dict[str, float] = {}
        for name, text in (await self._metrics()).items():
            for line in text.splitlines():
                if line.startswith("motcua_db_statements_total "):
                    found[name] = float(line.split()[1])
        return found

    async def _offset_gaps(self) -> dict[str, int]:
        """Holes in partitions' offsets the services' consumers met, by
        outcome (ADR 0018), and those the bench's own reader read again."""
        found = {"reread": 0, "skipped": 0}
        for text in (await self._metrics()).values():
            for line in text.splitlines():
                if line.startswith("motcua_offset_gaps_total{"):
                    outcome = "skipped" if 'outcome="skipped"' in line else "reread"
                    found[outcome] += int(float(line.split()[-1]))
        found["bench reader reread"] = (
            self.observer.gaps_reread if self.observer is not None else 0
        )
        return found

    async def _metrics(self) -> dict[str, str]:
        """Each service instance's /metrics text (those that answer)."""
        found: dict[str, str] = {}
        async with httpx.AsyncClient(timeout=10, follow_redirects=True) as client:
            for name, url in self.instance_urls.items():
                try:
                    found[name] = (await client.get(f"{url}/metrics")).text
                except httpx.HTTPError:
                    continue
        return found

    def _tokens(self) -> dict[str, str]:
        settings = CommonSettings()
        from motcua.bench.mix import COMMUNE_DESKS, PROVINCE_DESK

        return {
            agency: issue_token(
                settings, subject="bench", agency_code=agency, roles=[Role.DESK_OFFICER]
            )
            for agency in (*COMMUNE_DESKS, PROVINCE_DESK)
        }

    async def _submit(
        self, client: httpx.AsyncClient, tokens: dict[str, str], phase: Phase
    ) -> None:
        n = self.counter
        self.counter += 1
        kind, body = reception(n, self.rng)
        if self.intake_clients:
            everyone = [client, *self.intake_clients]
            client = everyone[n % len(everyone)]
        headers = {"Authorization": f"Bearer {tokens[body['receiving_agency_code']]}"}
        started = time.perf_counter()
        try:
            response = await client.post("/api/v1/dossiers", json=body, headers=headers)
            status = response.status_code
            code = response.json().get("code") if status == 201 else None
            if code is None and len(self.error_samples) < 5:
                self.error_samples.append(f"{status}: {response.text[:300]}")
        except httpx.HTTPError as exc:
            status, code = 0, None
            if len(self.error_samples) < 5:
                self.error_samples.append(repr(exc))
        if code and self.observer is not None:
            self.observer.watch(code)
        phase.submissions.append(
            Submission(
                code, kind.name, started, time.perf_counter(), status, phase.name
            )
        )

    async def _fixed_rate(
        self,
        client: httpx.AsyncClient,
        tokens: dict[str, str],
        phase: Phase,
        per_second: float,
        seconds: float,
    ) -> None:
        total = int(per_second * seconds)
        phase.started_at = time.perf_counter()
        tasks: set[asyncio.Task[None]] = set()
        with _progress() as progress:
            bar = progress.add_task(phase.name, total=total)

            def finished(task: asyncio.Task[None]) -> None:
                tasks.discard(task)
                progress.advance(bar)

            for i in range(total):
                due = phase.started_at + i / per_second
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                task = asyncio.create_task(self._submit(client, tokens, phase))
                tasks.add(task)
                task.add_done_callback(finished)
            await asyncio.gather(*tasks)
        phase.ended_at = time.perf_counter()

    async def _as_fast_as_possible(
        self, client: httpx.AsyncClient, tokens: dict[str, str], phase: Phase
    ) -> None:
        phase.started_at = time.perf_counter()
        deadline = phase.started_at + self.config.max_seconds
        with _progress() as progress:
            bar = progress.add_task(phase.name, total=self.config.max_seconds)

            async def worker() -> None:
                while time.perf_counter() < deadline:
                    await self._submit(client, tokens, phase)
                    progress.update(
                        bar,
                        completed=min(
                            self.config.max_seconds,
                            time.perf_counter() - phase.started_at,
                        ),
                    )

            await asyncio.gather(*(worker() for _ in range(self.config.concurrency)))
        phase.ended_at = time.perf_counter()

    # -- after --------------------------------------------------------------------

    def _processed(self, code: str) -> bool:
        assert self.observer is not None
        seen = self.observer.sightings.get(code)
        return bool(seen and seen.routed_at and seen.notified_at and seen.visible_at)

    async def _wait_processed(
        self, submissions: list[Submission], *, timeout_s: float, quiet: bool = False
    ) -> None:
        codes = [s.code for s in submissions if s.code]
        deadline = time.perf_counter() + timeout_s
        with _progress(quiet) as progress:
            bar = progress.add_task("draining the pipeline", total=len(codes))
            while time.perf_counter() < deadline:
                done = sum(1 for c in codes if self._processed(c))
                progress.update(bar, completed=done)
                if done == len(codes):
                    return
                await asyncio.sleep(0.2)

    async def _drain(self, phases: list[Phase]) -> None:
        """Wait until every dossier is processed and both its notices (SMS and
        email: every applicant of the mix gives both) have been delivered."""
        submissions = [s for p in phases for s in p.submissions]
        deadline = time.perf_counter() + self.config.drain_timeout_s
        await self._wait_processed(submissions, timeout_s=self.config.drain_timeout_s)
        assert self.observer is not None
        codes = [s.code for s in submissions if s.code]
        while time.perf_counter() < deadline:
            seen = self.observer.sightings
            if all(seen[c].delivered_channels >= EXPECTED_CHANNELS for c in codes):
                return
            await asyncio.sleep(0.2)

    async def _reconcile(
        self, urls: dict[str, str], phases: list[Phase]
    ) -> dict[str, Any]:
        assert self.observer is not None
        accepted = {s.code for p in phases for s in p.submissions if s.code}
        seen = self.observer.sightings
        counts = {
            "accepted by intake (201)": len(accepted),
            "published by intake (dossier.received)": sum(
                1 for c in accepted if seen[c].received_at
            ),
            "routed by routing": sum(1 for c in accepted if seen[c].routed_at),
            "notified (SMS and email delivered)": sum(
                1 for c in accepted if seen[c].delivered_channels >= EXPECTED_CHANNELS
            ),
            "applied by reporting": sum(1 for c in accepted if seen[c].visible_at),
        }
        report = await self._report_received(urls)
        if report is not None:
            counts["in reporting's Biểu 06 (received since the run began)"] = report
        warm_up = self.counter - sum(len(p.submissions) for p in phases)
        expected = {k: len(accepted) for k in counts}
        if report is not None:
            expected["in reporting's Biểu 06 (received since the run began)"] = (
                len(accepted) + warm_up
            )
        differences = {
            k: counts[k] - expected[k] for k in counts if counts[k] != expected[k]
        }
        errors = [s.status for p in phases for s in p.submissions if s.status != 201]
        return {
            "offset_gaps": await self._offset_gaps(),
            "counts": counts,
            "expected": expected,
            "differences": differences,
            "http_errors": len(errors),
            "http_error_statuses": {
                str(code): errors.count(code) for code in sorted(set(errors))
            },
            "http_error_samples": self.error_samples,
            "clean": not differences and not errors,
        }

    async def _report_received(self, urls: dict[str, str]) -> int | None:
        token = issue_token(
            CommonSettings(), subject="bench", agency_code="*", roles=[Role.OPERATOR]
        )
        today = now_vn().date().isoformat()
        async with httpx.AsyncClient(timeout=30) as client:
            r = await client.get(
                f"{urls['reporting']}/api/v1/reports/bieu-06",
                params={
                    "period": "custom",
                    "from": self.first_day.isoformat(),
                    "to": today,
                    "group_by": "level",
                },
                headers={"Authorization": f"Bearer {token}"},
            )
        if r.status_code != 200:
            return None
        total = r.json()["total"]
        return int(total["received"] - total["carried_over"])

    def _hops(self, phases: list[Phase]) -> dict[str, Any]:
        """Per phase at a fixed rate, the delay of each hop (see :mod:`hops`)."""
        if self.data_dir is None or self.observer is None:
            return {}
        sightings = self.observer.sightings
        wall = self.wall_offset
        found: dict[str, Any] = {}
        for phase in phases:
            if phase.name.startswith("max"):
                continue  # a queue, not a latency
            seen = {}
            for s in phase.submissions:
                if not s.code or s.code not in sightings:
                    continue
                sight = sightings[s.code]
                seen[s.code] = hops.Seen(
                    submitted=s.submitted_at + wall,
                    notified=sight.notified_at and sight.notified_at + wall,
                    received_sent=sight.received_sent,
                    delivered_sent=sight.delivered_sent,
                    visible=sight.visible_at and sight.visible_at + wall,
                )
            try:
                rows = hops.read_rows(self.data_dir, seen)
            except Exception as exc:  # the figures are extra: never lose a run
                console.print(f"per-hop figures unavailable: {exc!r}")
                return {}
            found[phase.name] = hops.breakdown(seen, rows)
        return found

    def _cpu_seconds(self) -> dict[str, float]:
        """CPU seconds per process, the PostgreSQL backends as one."""
        found = dict(self.cpu_seconds)
        if self.postgres_cpu:
            found["postgres server"] = sum(
                last - first for first, last in self.postgres_cpu.values()
            )
        return found

    def _result(
        self, raw: RawResult, phases: list[Phase], reconciliation: dict[str, Any]
    ) -> dict[str, Any]:
        assert self.observer is not None
        seen = self.observer.sightings
        phase_rows = []
        for phase in phases:
            ok = [s for s in phase.submissions if s.code]
            processed = [s for s in ok if self._processed(s.code or "")]
            last = max(
                (
                    max(seen[s.code].notified_at or 0, seen[s.code].visible_at or 0)
                    for s in processed
                    if s.code
                ),
                default=None,
            )
            phase_rows.append(
                {
                    "phase": phase.name,
                    "submitted": len(phase.submissions),
                    "accepted": len(ok),
                    "offered_per_s": rate(
                        len(phase.submissions), phase.started_at, phase.ended_at
                    ),
                    "processed_end_to_end_per_s": rate(
                        len(processed), phase.started_at, last
                    ),
                    "http_ms": summary_ms([s.answered_at - s.submitted_at for s in ok]),
                    "submit_to_notified_ms": summary_ms(
                        [
                            (seen[s.code].notified_at or 0) - s.submitted_at
                            for s in processed
                            if s.code
                        ]
                    ),
                    "submit_to_reporting_ms": summary_ms(
                        [
                            (seen[s.code].visible_at or 0) - s.submitted_at
                            for s in processed
                            if s.code
                        ]
                    ),
                }
            )
        all_ok = [s for p in phases for s in p.submissions if s.code]

        def consumer_rate(attr: str) -> float | None:
            times = sorted(
                getattr(seen[s.code], attr)
                for s in all_ok
                if s.code and getattr(seen[s.code], attr)
            )
            return rate(len(times), times[0], times[-1]) if len(times) > 1 else None

        return {
            "when": datetime.now().isoformat(timespec="seconds"),  # noqa: DTZ005
            "label": self.config.label,
            "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()},
            "config": {k: str(v) for k, v in asdict(self.config).items()},
            "broker_raw_limit": asdict(raw),
            "phases": phase_rows,
            "consumer_rates_per_s": {
                "intake → broker (dossier.received)": consumer_rate("received_at"),
                "routing (dossier.routed)": consumer_rate("routed_at"),
                "notification (first delivery)": consumer_rate("notified_at"),
                "reporting (applied)": consumer_rate("visible_at"),
            },
            "peak_rss_mb": {
                k: round(v / 2**20, 1) for k, v in sorted(self.peak_rss.items())
            },
            "rss_growth_mb": {
                k: round((self.last_rss[k] - v) / 2**20, 1)
                for k, v in sorted(self.first_rss.items())
            },
            "cpu_seconds": {
                k: round(v, 1) for k, v in sorted(self._cpu_seconds().items())
            },
            "replicas": self.config.replicas,
            "rss_growth_after_first_minute_mb": {
                k: round((self.rss_at_end[k] - v) / 2**20, 1)
                for k, v in sorted(self.rss_after_minute.items())
                if k in self.rss_at_end
            },
            "dossiers_driven": self.counter,
            "cpu_ms_per_dossier": {
                k: round(v * 1000 / max(1, self.counter), 2)
                for k, v in sorted(self._cpu_seconds().items())
            },
            "idle_cpu_ms_per_s": self.idle_ms_per_s,
            "wall_seconds": round(self.wall_s, 1),
            "cpu_ms_per_dossier_less_idle": {
                k: round(
                    (v * 1000 - self.idle_ms_per_s.get(k, 0.0) * self.wall_s)
                    / max(1, self.counter),
                    2,
                )
                for k, v in sorted(self._cpu_seconds().items())
            },
            "sql_statements_per_dossier": {
                k: round(v / max(1, self.counter), 1)
                for k, v in sorted(self.statements.items())
            },
            "traffic_per_dossier": {
                topic: {
                    event_type or "?": [
                        round(n / max(1, self.counter), 2),
                        round(size / max(1, self.counter)),
                    ]
                    for event_type, (n, size) in sorted(types.items())
                }
                for topic, types in sorted(self.observer.traffic.items())
            },
            "flame_graphs": {k: str(v) for k, v in self.flames.items()},
            "profile_layers_percent": {
                k: layer_shares(v.with_suffix(".txt"))
                for k, v in self.flames.items()
                if v.with_suffix(".txt").exists()
            },
            "reconciliation": reconciliation,
        }


def _cpu(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def _progress(quiet: bool = False) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
        transient=False,
    )


def write_results(result: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = result["when"].replace(":", "").replace("-", "")
    json_path = folder / f"bench-{stamp}.json"
    md_path = folder / f"bench-{stamp}.md"
    json_path.write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    md_path.write_text(markdown(result), encoding="utf-8")
    return json_path, md_path


def markdown(result: dict[str, Any]) -> str:
    raw = result["broker_raw_limit"]
    lines = [
        f"# motcua bench, {result['when']}"
        + (f" ({result['label']})" if result["label"] else ""),
        "",
        f"Machine: {result['machine']['cpus']} CPUs, load average {', '.join(f'{x:.2f}' for x in result['machine']['load_average'])}.",
        "",
        "| | per second |",
        "| --- | --- |",
        f"| broker raw limit: aiokafka produce ({raw['message_bytes']} B) | {raw['produce_per_s']:,.0f} |",
        f"| broker raw limit: produce → consume end to end | {raw['end_to_end_per_s']:,.0f} |",
        "",
        *targets_table(result),
        "| phase | submitted | offered /s | processed end to end /s | HTTP p50 / p95 / p99 ms | submit → notified p50 / p95 / p99 ms | submit → in reporting p50 / p95 / p99 ms |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {p['phase']} | {p['submitted']} | {p['offered_per_s']} | {p['processed_end_to_end_per_s']} | "
        f"{_triple(p['http_ms'])} | {_triple(p['submit_to_notified_ms'])} | {_triple(p['submit_to_reporting_ms'])} |"
        for p in result["phases"]
    ]
    for phase, found in result.get("hops", {}).items():
        lines += hops.markdown(phase, found)
    lines += ["", "| consumer | records /s |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in result["consumer_rates_per_s"].items()]
    lines += [
        "",
        f"Per dossier: {result.get('dossiers_driven', '?')} dossiers driven (warm-up included).",
        "",
        "| process | peak RSS MB | RSS growth MB (first → last sample) | CPU s during the run | idle CPU ms/s | CPU ms per dossier | less idle | SQL statements per dossier |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    cpu_ms = result.get("cpu_ms_per_dossier", {})
    marginal = result.get("cpu_ms_per_dossier_less_idle", {})
    idle = result.get("idle_cpu_ms_per_s", {})
    sql = result.get("sql_statements_per_dossier", {})
    lines += [
        f"| {k} | {result['peak_rss_mb'].get(k, '')} | {result['rss_growth_mb'].get(k, '')} "
        f"| {result['cpu_seconds'].get(k, '')} | {idle.get(k, '')} | {cpu_ms.get(k, '')} "
        f"| {marginal.get(k, '')} | {sql.get(k, '')} |"
        for k in sorted({*result["peak_rss_mb"], *result["cpu_seconds"]})
    ]
    if any(_service(k) for k in cpu_ms):
        lines.append(
            f"| **the four services** | | | | {_services_sum(idle):.1f} "
            f"| **{_services_sum(cpu_ms):.2f}** | **{_services_sum(marginal):.2f}** "
            f"| {_services_sum(sql):.1f} |"
        )
    growth = result.get("rss_growth_after_first_minute_mb", {})
    if growth:
        lines += [
            "",
            "| process | RSS growth MB after the first minute of the half-load phase |",
            "| --- | --- |",
        ]
        lines += [f"| {k} | {v} |" for k, v in growth.items()]
    traffic = result.get("traffic_per_dossier", {})
    if traffic:
        lines += [
            "",
            "| topic | event type | records per dossier | bytes per dossier |",
            "| --- | --- | --- | --- |",
        ]
        lines += [
            f"| {topic} | {event_type} | {n} | {size:,} |"
            for topic, types in traffic.items()
            for event_type, (n, size) in types.items()
        ]
    if result.get("flame_graphs"):
        lines += ["", "Flame graphs (py-spy, max phase to drain):", ""]
        lines += [f"- {k}: `{v}`" for k, v in result["flame_graphs"].items()]
    lines += _layers_table(result.get("profile_layers_percent", {}))
    rec = result["reconciliation"]
    lines += [
        "",
        f"Reconciliation: {'clean' if rec['clean'] else 'DIFFERENCES'}",
        "",
        "| count | value | expected |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {k} | {v} | {rec['expected'][k]} |" for k, v in rec["counts"].items()]
    lines.append(f"\nHTTP errors: {rec['http_errors']}")
    if gaps := rec.get("offset_gaps"):
        lines.append(
            "\nHoles in partitions' offsets (ADR 0018): read again by the services' "
            f"consumers {gaps['reread']}, skipped {gaps['skipped']}; read again by the "
            f"bench's reader {gaps['bench reader reread']}"
        )
    if result.get("portal"):
        lines += portal.markdown(result["portal"])
    return "\n".join(lines) + "\n"


def _service(process: str) -> bool:
    """Whether a process is one of the four services (any instance)."""
    return process.split("#")[0] in SERVICES


def _services_sum(values: dict[str, float]) -> float:
    return float(sum(v for k, v in values.items() if _service(k)))


TARGETS = {
    "throughput": 200.0,
    "cpu_ms": 8.0,
    "p99_notified_ms": 500.0,
    "rss_growth_mb": 20.0,
}
"""Issue 16's targets on the 2-core machine with the embedded defaults."""


def targets_table(result: dict[str, Any]) -> list[str]:
    """Issue 16's targets beside what this run measured."""
    phases = {p["phase"].split(",")[0].split(" ")[0]: p for p in result["phases"]}
    flat_out = phases.get("max", {})
    half = phases.get("half", {})
    throughput = flat_out.get("processed_end_to_end_per_s")
    cpu = _services_sum(result.get("cpu_ms_per_dossier", {}))
    p99 = (half.get("submit_to_notified_ms") or {}).get("p99")
    growth = result.get("rss_growth_after_first_minute_mb", {})
    worst = max(((v, k) for k, v in growth.items() if _service(k)), default=None)
    clean = result["reconciliation"]["clean"]

    def met(ok: bool | None) -> str:
        return "not measured" if ok is None else ("yes" if ok else "**no**")

    rows = [
        (
            "processed end to end, max phase",
            f">= {TARGETS['throughput']:g} dossiers/s",
            f"{throughput} /s" if throughput is not None else "-",
            met(None if throughput is None else throughput >= TARGETS["throughput"]),
        ),
        (
            "CPU per dossier, the four services",
            f"<= {TARGETS['cpu_ms']:g} ms",
            f"{cpu:.2f} ms",
            met(cpu <= TARGETS["cpu_ms"] if cpu else None),
        ),
        (
            "p99 submit → notified, half load",
            f"< {TARGETS['p99_notified_ms']:g} ms",
            f"{p99} ms" if p99 is not None else "-",
            met(None if p99 is None else p99 < TARGETS["p99_notified_ms"]),
        ),
        (
            "RSS growth after the first minute (worst service)",
            f"< {TARGETS['rss_growth_mb']:g} MB",
            f"{worst[0]} MB ({worst[1]})" if worst else "- (--soak-seconds 600)",
            met(None if worst is None else worst[0] < TARGETS["rss_growth_mb"]),
        ),
        ("reconciliation", "clean", "clean" if clean else "differences", met(clean)),
    ]
    return [
        f"| target (issue 16){' , ' + str(result.get('replicas', 1)) + ' instances per service' if result.get('replicas', 1) > 1 else ''} | wanted | measured | met? |",
        "| --- | --- | --- | --- |",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
        "",
    ]


def _layers_table(layers: dict[str, dict[str, float]]) -> list[str]:
    """Where each service's samples were, by layer of the stack (%)."""
    if not layers:
        return []
    services = list(layers)
    names = sorted(
        {name for shares in layers.values() for name in shares},
        key=lambda n: -sum(shares.get(n, 0.0) for shares in layers.values()),
    )
    lines = [
        "",
        "| share of samples % | " + " | ".join(services) + " |",
        "| --- |" + " --- |" * len(services),
    ]
    lines += [
        f"| {name} | "
        + " | ".join(str(layers[s].get(name, 0.0)) for s in services)
        + " |"
        for name in names
    ]
    return lines


def _triple(s: dict[str, Any]) -> str:
    return f"{s['p50']} / {s['p95']} / {s['p99']}"
