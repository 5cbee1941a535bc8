"""``motcua demo``: a historical import and a generated day of traffic against
the running system, over HTTP only, then Biểu 06 next to an independent count.

Earlier runs (and anything else already in the system) do not disturb the
comparison: Biểu 06 is read per handling agency before and after the run, and
only the difference over the agencies this run used is compared with the
count of this run's own dossiers.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from motcua.bench.demo import (
    COLUMNS,
    Comparison,
    Decision,
    HistoryPlan,
    HistoryRow,
    Plan,
    Story,
    compare,
    decide,
    history,
    independent_count,
    month_containing,
    next_action,
    quarter_containing,
    replace_code,
)
from motcua.bench.mix import COMMUNE_DESKS, KINDS, reception
from motcua.shared.auth import Role, issue_token
from motcua.shared.contracts import now_vn
from motcua.shared.domain.calendar import load_calendar
from motcua.shared.settings import CommonSettings

console = Console()

FIGURES = tuple(key for key, _ in COLUMNS)


@dataclass
class DemoConfig:
    intake_url: str = "http://127.0.0.1:8001"
    routing_url: str = "http://127.0.0.1:8002"
    reporting_url: str = "http://127.0.0.1:8004"
    history: int = 300
    today: int = 120
    seed: int | None = None
    out: Path = Path("var/demo")
    period: str = "quarter"  # or month
    first_day: date | None = None
    last_day: date | None = None
    wait_s: float = 180.0
    concurrency: int = 4
    history_plan: HistoryPlan = field(default_factory=HistoryPlan)
    import_env: dict[str, str] | None = None
    """Environment of the import process (default: this one's): it must point
    at the running intake's database, as ``./motcua up`` does by default."""


@dataclass
class Live:
    """A dossier received today through intake's API."""

    story: Story
    body: dict[str, Any]
    decision: Decision
    handling_agency: str | None = None
    actions: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class DemoResult:
    seed: int
    first_day: date
    last_day: date
    history_file: Path
    comparison: list[Comparison]
    agencies: list[str]
    invariant_ok: bool
    console_url: str
    stories: list[Story]
    plans: dict[str, int]
    errors: list[str]

    @property
    def ok(self) -> bool:
        return self.invariant_ok and all(c.ok for c in self.comparison)

    def as_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "period": [self.first_day.isoformat(), self.last_day.isoformat()],
            "history_file": str(self.history_file),
            "agencies": self.agencies,
            "comparison": [
                {
                    "column": c.key,
                    "label": c.label,
                    "independent": c.expected,
                    "bieu_06": c.reported,
                    "match": c.ok,
                }
                for c in self.comparison
            ],
            "invariant_ok": self.invariant_ok,
            "plans": self.plans,
            "errors": self.errors,
            "ok": self.ok,
        }


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


class Demo:
    def __init__(self, config: DemoConfig) -> None:
        self.config = config
        self.seed = (
            config.seed
            if config.seed is not None
            else random.SystemRandom().randrange(10**6)
        )
        self.rng = random.Random(self.seed)
        self.settings = CommonSettings()
        self._tokens: dict[tuple[str, str], str] = {}
        self.errors: list[str] = []

    def headers(self, agency: str, role: Role) -> dict[str, str]:
        key = (agency, str(role))
        if key not in self._tokens:
            self._tokens[key] = issue_token(
                self.settings,
                subject=f"demo-{role}",
                agency_code=agency,
                roles=[role],
                name="Cán bộ (demo)",
            )
        return {"Authorization": f"Bearer {self._tokens[key]}"}

    def officer(self, agency: str) -> dict[str, str]:
        return self.headers(
            agency,
            Role.DESK_OFFICER if agency in COMMUNE_DESKS else Role.AGENCY_OFFICER,
        )

    @property
    def operator(self) -> dict[str, str]:
        return self.headers("*", Role.OPERATOR)

    def period(self) -> tuple[date, date]:
        today = now_vn().date()
        cut = month_containing if self.config.period == "month" else quarter_containing
        first, last = cut(today)
        return self.config.first_day or first, self.config.last_day or last

    # -- the run ------------------------------------------------------------------------

    async def run(self) -> DemoResult:
        first, last = self.period()
        console.print(f"Kỳ báo cáo {first:%d/%m/%Y}–{last:%d/%m/%Y}, seed {self.seed}")
        async with httpx.AsyncClient(timeout=30) as client:
            self.client = client
            before = await self.figures_by_agency(first, last)
            limits = await self.time_limits()
            rows = await self.history_rows(limits)
            path = self.write_history(rows)
            await asyncio.to_thread(self.import_history, path)
            lives = await self.day_of_traffic()
            stories = [r.story for r in rows] + [lv.story for lv in lives]
            expected = independent_count(stories, first, last)
            agencies = sorted(
                {s.agency for s in stories}
                | {lv.handling_agency for lv in lives if lv.handling_agency}
            )
            reported, invariant = await self.wait_for_report(
                first, last, before, agencies, expected
            )
        comparison = compare(expected, reported)
        plans: dict[str, int] = {}
        for lv in lives:
            plans[lv.decision.plan.value] = plans.get(lv.decision.plan.value, 0) + 1
        errors = self.errors + [e for lv in lives for e in lv.errors]
        result = DemoResult(
            seed=self.seed,
            first_day=first,
            last_day=last,
            history_file=path,
            comparison=comparison,
            agencies=agencies,
            invariant_ok=invariant,
            console_url=f"{self.config.reporting_url}/console#token="
            + self.operator["Authorization"].removeprefix("Bearer "),
            stories=stories,
            plans=plans,
            errors=errors,
        )
        out = self.config.out / f"demo-{self.stamp}.json"
        out.write_text(
            json.dumps(result.as_json(), indent=2, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
        return result

    # -- Biểu 06 ------------------------------------------------------------------------

    async def figures_by_agency(
        self, first: date, last: date
    ) -> dict[str, dict[str, Any]]:
        r = await self.client.get(
            f"{self.config.reporting_url}/api/v1/reports/bieu-06",
            params={
                "period": "custom",
                "from": first.isoformat(),
                "to": last.isoformat(),
                "group_by": "agency",
            },
            headers=self.operator,
        )
        r.raise_for_status()
        return {row["keys"]["agency"]: row["figures"] for row in r.json()["rows"]}

    @staticmethod
    def delta(
        before: dict[str, dict[str, Any]],
        after: dict[str, dict[str, Any]],
        agencies: list[str],
    ) -> tuple[dict[str, int], bool]:
        """This run's share of Biểu 06 over ``agencies``, and whether every
        one of their rows satisfies the invariant."""
        out = dict.fromkeys(FIGURES, 0)
        for agency in agencies:
            for key in FIGURES:
                out[key] += int(after.get(agency, {}).get(key, 0)) - int(
                    before.get(agency, {}).get(key, 0)
                )
        rows_ok = all(
            after[a].get("invariant_ok", False) for a in agencies if a in after
        )
        invariant = out["received"] == out["resolved"] + out["in_progress"]
        return out, rows_ok and invariant

    async def wait_for_report(
        self,
        first: date,
        last: date,
        before: dict[str, dict[str, Any]],
        agencies: list[str],
        expected: dict[str, int],
    ) -> tuple[dict[str, int], bool]:
        """Poll Biểu 06 until this run's share equals the count, or stops
        changing for a while after reaching the number received, or time is up."""
        deadline = time.monotonic() + self.config.wait_s
        last_seen: dict[str, int] | None = None
        stable_since = time.monotonic()
        with _progress() as progress:
            task = progress.add_task(
                "Chờ báo cáo cập nhật (hồ sơ tiếp nhận)", total=expected["received"]
            )
            while True:
                after = await self.figures_by_agency(first, last)
                share, invariant = self.delta(before, after, agencies)
                progress.update(
                    task, completed=min(share["received"], expected["received"])
                )
                if all(share[k] == expected[k] for k in FIGURES):
                    return share, invariant
                now = time.monotonic()
                if share != last_seen:
                    last_seen, stable_since = share, now
                settled = share["received"] >= expected["received"] and (
                    now - stable_since > 20
                )
                if settled or now > deadline:
                    return share, invariant
                await asyncio.sleep(1.0)

    # -- history -------------------------------------------------------------------------

    async def time_limits(self) -> dict[str, dict[str, str]]:
        limits = {}
        for kind in KINDS:
            r = await self.client.get(
                f"{self.config.intake_url}/api/v1/procedures/{kind.procedure_code}"
            )
            r.raise_for_status()
            limits[kind.procedure_code] = r.json()["procedure"]["time_limits"]
        return limits

    async def history_rows(self, limits: dict[str, dict[str, str]]) -> list[HistoryRow]:
        taken: set[str] = set()
        rows = history(
            self.config.history,
            now=now_vn(),
            rng=self.rng,
            calendar=load_calendar(),
            limits=limits,
            taken=taken,
            plan=self.config.history_plan,
        )
        gate = asyncio.Semaphore(8)

        async def exists(entry: HistoryRow) -> bool:
            async with gate:
                r = await self.client.get(
                    f"{self.config.intake_url}/api/v1/dossiers/{entry.story.code}",
                    headers=self.headers(entry.story.agency, Role.DESK_OFFICER),
                )
            return r.status_code != 404

        with _progress() as progress:
            task = progress.add_task("Chọn mã hồ sơ chưa dùng", total=len(rows))
            pending = rows
            while pending:
                found = await asyncio.gather(*(exists(e) for e in pending))
                progress.advance(task, sum(1 for f in found if not f))
                pending = [e for e, f in zip(pending, found, strict=True) if f]
                for entry in pending:  # an earlier run used the code
                    replace_code(entry, self.rng, taken)
        return rows

    @property
    def stamp(self) -> str:
        if not hasattr(self, "_stamp"):
            self._stamp = f"{now_vn():%Y%m%d-%H%M%S}-{self.seed}"
        return self._stamp

    def write_history(self, rows: list[HistoryRow]) -> Path:
        self.config.out.mkdir(parents=True, exist_ok=True)
        path = self.config.out / f"history-{self.stamp}.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for entry in rows:
                handle.write(json.dumps(entry.row, ensure_ascii=False) + "\n")
        console.print(f"Tệp lịch sử: {path} ({len(rows)} hồ sơ)")
        return path

    def import_history(self, path: Path) -> None:
        """``motcua import dossiers FILE`` in its own process (intake's command:
        this package imports no service)."""
        script = Path(sys.executable).with_name("motcua")
        command = (
            [str(script)]
            if script.exists()
            else [
                sys.executable,
                "-c",
                "from motcua.shared.cli.main import main; main()",
            ]
        )
        env = {**os.environ, **(self.config.import_env or {})}
        done = subprocess.run(
            [*command, "import", "dossiers", str(path)], env=env, check=False
        )
        if done.returncode != 0:
            msg = f"motcua import dossiers {path} exited with {done.returncode}"
            raise RuntimeError(msg)

    # -- a day of traffic -----------------------------------------------------------------

    async def day_of_traffic(self) -> list[Live]:
        lives: list[Live] = []
        gate = asyncio.Semaphore(self.config.concurrency)
        officers = asyncio.Semaphore(2 * self.config.concurrency)
        offset = self.rng.randrange(10**5) * 10
        with _progress() as progress:
            receive = progress.add_task(
                "Tiếp nhận hồ sơ hôm nay", total=self.config.today
            )
            act = progress.add_task("Cán bộ xử lý hồ sơ", total=self.config.today)

            async def one(n: int) -> None:
                async with gate:
                    live = await self.receive(offset + n)
                progress.advance(receive)
                if live is not None:
                    lives.append(live)
                    async with officers:
                        await self.handle(live)
                progress.advance(act)

            await asyncio.gather(*(one(n) for n in range(self.config.today)))
        return lives

    async def receive(self, n: int) -> Live | None:
        _, body = reception(n, self.rng)
        decision = decide(self.rng)
        agency = body["receiving_agency_code"]
        r = await self.client.post(
            f"{self.config.intake_url}/api/v1/dossiers",
            json=body,
            headers={
                **self.headers(agency, Role.DESK_OFFICER),
                "Idempotency-Key": f"demo-{self.stamp}-{n}",
            },
        )
        if r.status_code != 201:
            self.errors.append(f"POST /api/v1/dossiers {r.status_code}: {r.text[:200]}")
            return None
        got = r.json()
        story = Story(
            code=got["code"],
            agency=agency,
            received=datetime.fromisoformat(got["received_at"]),
            due=datetime.fromisoformat(got["due_at"]) if got.get("due_at") else None,
            channel=body["channel"],
            source="today",
        )
        return Live(story, body, decision)

    async def routed(self, live: Live) -> dict[str, Any] | None:
        url = f"{self.config.routing_url}/api/v1/dossiers/{live.story.code}"
        deadline = time.monotonic() + self.config.wait_s
        while time.monotonic() < deadline:
            r = await self.client.get(url, headers=self.operator)
            if r.status_code == 200:
                body: dict[str, Any] = r.json()
                if body.get("handoffs") or body.get("dispatch_reason"):
                    return body
            await asyncio.sleep(0.3)
        live.errors.append(f"{live.story.code}: not routed in time")
        return None

    async def handle(self, live: Live) -> None:
        dossier = await self.routed(live)
        if dossier is None:
            return
        live.handling_agency = dossier.get("competent_agency_code") or live.story.agency
        if live.decision.plan is Plan.WITHDRAW:
            await self.withdraw(live)
            return
        for _ in range(60):
            step = next_action(
                live.decision,
                dossier,
                actions_done=live.actions,
                result_delivery=live.body["result_delivery"],
            )
            if not step.name:
                return
            holder = dossier["holder"]["code"]
            r = await self.client.post(
                f"{self.config.routing_url}/api/v1/dossiers/{live.story.code}/{step.name}",
                json=step.body,
                headers=self.officer(holder),
            )
            if r.status_code == 200:
                live.actions += 1
                dossier = r.json()
                if step.name == "result":
                    live.story.finished = now_vn()
                elif step.name == "supplement-request":
                    live.story.paused = True
                continue
            if r.status_code != 409:
                live.errors.append(
                    f"{live.story.code} {step.name}: {r.status_code} {r.text[:200]}"
                )
                return
            await asyncio.sleep(
                0.2
            )  # moved on meanwhile (a postal callback): look again
            again = await self.client.get(
                f"{self.config.routing_url}/api/v1/dossiers/{live.story.code}",
                headers=self.operator,
            )
            dossier = again.json()

    async def withdraw(self, live: Live) -> None:
        r = await self.client.post(
            f"{self.config.intake_url}/api/v1/dossiers/{live.story.code}/withdrawal",
            json={"reason": "Công dân không còn nhu cầu"},
            headers=self.headers(live.story.agency, Role.DESK_OFFICER),
        )
        if r.status_code in (200, 201):
            live.story.withdrawn = datetime.fromisoformat(r.json()["withdrawn_at"])
        else:
            live.errors.append(
                f"{live.story.code} withdrawal: {r.status_code} {r.text[:200]}"
            )


async def run_demo(config: DemoConfig) -> DemoResult:
    return await Demo(config).run()
