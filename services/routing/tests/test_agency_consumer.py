"""The integrators' example reads only its agency's hand-offs from the broker."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from broker_support import Clock, publish, routing_service, until
from routing_support import JUSTICE, KIM_LONG_CENTRE, XUAN_QUANG_CENTRE, received

from motcua.shared.auth import Role
from motcua.shared.settings import KafkaSettings

pytestmark = pytest.mark.broker

EXAMPLE = Path(__file__).parents[3] / "examples" / "agency_consumer.py"


async def _run_example(
    kafka: KafkaSettings, agency: str, group: str
) -> list[dict[str, Any]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE),
        "--bootstrap",
        kafka.bootstrap_servers,
        "--agency",
        agency,
        "--group",
        group,
        "--from-beginning",
        "--exit-when-idle",
        "2",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode == 0, err.decode()
    return [json.loads(line) for line in out.decode().splitlines()]


async def test_an_agency_reads_only_its_own_handoffs(
    sqlite_database_url: str,
    kafka_settings: KafkaSettings,
    tmp_path: Path,
    clock: Clock,
    code_for: Any,
    group: str,
) -> None:
    ours, theirs = code_for(KIM_LONG_CENTRE), code_for(XUAN_QUANG_CENTRE)
    async with routing_service(
        sqlite_database_url, kafka_settings, tmp_path, clock, group=group
    ) as svc:
        await publish(
            kafka_settings,
            received(ours),
            received(theirs, receiving=XUAN_QUANG_CENTRE),
        )
        await until(lambda: svc.routed(theirs), "routed")
        await until(lambda: svc.routed(ours), "routed")
        await svc.act(ours, "acknowledge", KIM_LONG_CENTRE, Role.DESK_OFFICER)
        await svc.act(ours, "complete", KIM_LONG_CENTRE, Role.DESK_OFFICER)

        async def relayed() -> bool:
            return await svc.app.state.runtime.relay.pending_count() == 0

        await until(relayed, "everything published")

    kim_long, justice = await asyncio.gather(
        _run_example(kafka_settings, KIM_LONG_CENTRE, f"{group}-kl"),
        _run_example(kafka_settings, JUSTICE, f"{group}-stp"),
    )
    mine = [
        (e["event_type"], e["step_no"]) for e in kim_long if e["dossier_code"] == ours
    ]
    assert mine == [("dossier.handoff_offered", 1), ("dossier.handoff_acknowledged", 1)]
    assert not [e for e in kim_long if e["dossier_code"] == theirs]
    forwarded = [
        (e["event_type"], e["step_no"]) for e in justice if e["dossier_code"] == ours
    ]
    assert forwarded == [("dossier.step_completed", 1), ("dossier.handoff_offered", 2)]
