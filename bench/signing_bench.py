"""CPU cost of signing and checking a dossier's history (ADR 0012).

Builds the README's walkthrough dossier (reception, routing, every hand-off
of the four-step criminal record procedure, result, delivery: 17 signed
acts), then measures with ``time.process_time``:

- *seal*: what a producer adds per event (link to the chain, RFC 8785
  canonical bytes, ES256 signature, new chain state);
- *check*: what each consumer adds per event before its handler (parse,
  canonical bytes, signature, chain link, entitlement);

and the cost per dossier across the system: each act sealed once by its
producer and checked once by each of the four consumers.

    .venv/bin/python bench/signing_bench.py --dossiers 200
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from motcua.shared.contracts import EventData, new_event
from motcua.shared.contracts.common import Channel
from motcua.shared.contracts.dossier import DossierReceivedV2, Person
from motcua.shared.contracts.handoff import (
    DossierRoutedV1,
    HandoffAcknowledgedV1,
    HandoffOfferedV1,
    ResultDeliveredV1,
    ResultRecordedV1,
    RoutedStep,
    StepCompletedV1,
    Timeliness,
)
from motcua.shared.domain.agencies import load_registry
from motcua.shared.signing.canonical import split_body
from motcua.shared.signing.chain import ChainState
from motcua.shared.signing.keystore import (
    FileKeystore,
    KeyMaterial,
    province_of,
    registry_agencies,
)
from motcua.shared.signing.producer import seal
from motcua.shared.signing.verifier import Policy, check_event
from motcua.shared.testing.helpers import one_key_ring, sealed

DESK, STP, POLICE = "000.01.31.H14", "000.00.05.H14", "000.00.20.H14"
ROUTE = [DESK, STP, POLICE, STP, DESK]
CONSUMERS = 4


def walkthrough(start: datetime, code: str) -> list[tuple[EventData, str | None]]:
    """(payload, acting agency) of each act, in order."""
    steps = [
        RoutedStep(step_no=n, role="r", agency_code=a, hours=8)
        for n, a in enumerate(ROUTE, start=1)
    ]
    acts: list[tuple[EventData, str | None]] = [
        (
            DossierReceivedV2(
                procedure_code="2.000488",
                procedure_name="Cấp Phiếu lý lịch tư pháp",
                channel=Channel.DIRECT,
                receiving_agency_code=DESK,
                received_at=start,
                due_at=start + timedelta(days=14),
                personal_data=sealed(code, Person(full_name="Nguyễn Thị Lan")),
            ),
            DESK,
        ),
        (DossierRoutedV1(competent_agency_code=STP, steps=steps), DESK),
        (HandoffOfferedV1(step_no=1, to_agency_code=DESK), None),
    ]
    for number, agency in enumerate(ROUTE, start=1):
        acts.append(
            (HandoffAcknowledgedV1(step_no=number, to_agency_code=agency), agency)
        )
        if number == 4:
            acts.append(
                (
                    ResultRecordedV1(resolved_at=start, timeliness=Timeliness.EARLY),
                    agency,
                )
            )
        if number < len(ROUTE):
            following = ROUTE[number]
            acts.append(
                (
                    StepCompletedV1(
                        step_no=number,
                        to_agency_code=agency,
                        next_agency_code=following,
                    ),
                    agency,
                )
            )
            acts.append(
                (
                    HandoffOfferedV1(
                        step_no=number + 1,
                        from_agency_code=agency,
                        to_agency_code=following,
                    ),
                    agency,
                )
            )
    acts.append((ResultDeliveredV1(delivered_at=start, method="desk"), DESK))
    return acts


def run(dossiers: int, keys: KeyMaterial) -> dict[str, Any]:
    start = datetime.now(UTC)
    ring = keys.keyring()
    policy = Policy()
    seal_s: list[float] = []
    check_s: list[float] = []
    events = 0
    for n in range(dossiers):
        code = f"{DESK}-261206-{n:04d}"
        state = ChainState()
        bodies = []
        for data, agency in walkthrough(start, code):
            envelope = new_event(
                data, dossier_code=code, producer="bench", agency_code=agency
            )
            began = time.process_time()
            sealed = seal(envelope, state, keys)
            seal_s.append(time.process_time() - began)
            state = sealed.state
            bodies.append(sealed.body)
        seen = ChainState()
        for body in bodies:
            began = time.process_time()
            verdict = check_event(split_body(body), seen, ring, policy)
            check_s.append(time.process_time() - began)
            assert verdict.ok, verdict
            assert verdict.state is not None
            seen = verdict.state
        events += len(bodies)
    per_event_seal = statistics.fmean(seal_s) * 1000
    per_event_check = statistics.fmean(check_s) * 1000
    per_dossier = events / dossiers
    return {
        "dossiers": dossiers,
        "acts_per_dossier": per_dossier,
        "seal_ms_per_event": round(per_event_seal, 4),
        "check_ms_per_event": round(per_event_check, 4),
        "ms_per_dossier_all_services": round(
            per_dossier * (per_event_seal + CONSUMERS * per_event_check), 3
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=200)
    args = parser.parse_args()
    one_key_ring()  # the receptions carry their people sealed (ADR 0007)
    registry = load_registry()
    with tempfile.TemporaryDirectory() as folder:
        store = FileKeystore(Path(folder) / "keys")
        store.init(registry_agencies(registry), province=province_of(registry))
        keys = KeyMaterial(store)
        run(5, keys)  # warm up: keys loaded, classes built
        print(json.dumps(run(args.dossiers, keys), indent=1))


if __name__ == "__main__":
    main()
