"""CPU cost of RFC 8785 canonical bytes, as producers and consumers take them.

For the first acts of the README's walkthrough dossier (a reception whose
procedure has a workflow, the routing with each step's hours, a hand-off),
measures with ``time.process_time`` :func:`motcua.shared.signing.canonical.jcs`
and the reference implementation ``rfc8785`` on the envelope as a producer
dumps it (``model_dump(mode="json")``: floats such as ``8.0``) and as a
consumer parses it (:func:`~motcua.shared.signing.canonical.parse_json`), and
checks that both give the same bytes.

    .venv/bin/python bench/canonical_bench.py --rounds 2000
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import rfc8785
from signing_bench import DESK, walkthrough

from motcua.shared.contracts import new_event
from motcua.shared.contracts.dossier import WorkflowStep
from motcua.shared.signing.canonical import jcs, parse_json
from motcua.shared.testing.helpers import one_key_ring


def _best(work: Callable[[], Any], rounds: int, repeats: int = 5) -> float:
    """Least CPU µs per call over ``repeats`` runs (other load only adds)."""
    best = float("inf")
    for _ in range(repeats):
        began = time.process_time()
        for _ in range(rounds):
            work()
        best = min(best, (time.process_time() - began) / rounds)
    return best * 1e6


def envelopes() -> list[tuple[str, dict[str, Any]]]:
    code = f"{DESK}-261206-0001"
    out = []
    for data, agency in walkthrough(datetime.now(UTC), code)[:3]:
        if data.EVENT_TYPE == "dossier.received":
            steps = [
                WorkflowStep(step_no=n, role="competent_agency", hours=h)
                for n, h in enumerate((8.0, 16.0, 4.5), start=1)
            ]
            data = data.model_copy(update={"workflow": steps})
        envelope = new_event(
            data, dossier_code=code, producer="bench", agency_code=agency
        )
        out.append((envelope.event_type, envelope.model_dump(mode="json")))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    one_key_ring()  # the reception carries its people sealed (ADR 0007)
    results = []
    for event_type, dumped in envelopes():
        parsed = parse_json(json.dumps(dumped))
        for form, value in (("as dumped", dumped), ("as parsed", parsed)):
            assert jcs(value) == rfc8785.dumps(value)
            results.append(
                {
                    "event": event_type,
                    "form": form,
                    "bytes": len(jcs(value)),
                    "jcs_us": round(_best(lambda v=value: jcs(v), args.rounds), 1),
                    "rfc8785_us": round(
                        _best(lambda v=value: rfc8785.dumps(v), args.rounds), 1
                    ),
                }
            )
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
