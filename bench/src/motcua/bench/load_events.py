"""The dossier events the consumer benches feed (``bench/notification_bench.py``,
``bench/consumers_bench.py``): what ``motcua.dossier.events`` carries for one
dossier from its reception to its first hand-off, unsigned as legacy history
is, the applicant's data sealed as intake seals it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from motcua.shared.contracts import new_event, now_vn
from motcua.shared.contracts.common import Channel
from motcua.shared.contracts.dossier import DossierReceivedV2, Person
from motcua.shared.contracts.handoff import (
    DossierRoutedV1,
    HandoffOfferedV1,
    RoutedStep,
)
from motcua.shared.testing.helpers import sealed

AGENCY = "000.00.12.H14"


def dossier_code(stamp: str, n: int, agency: str = AGENCY) -> str:
    """A code of the issued shape, ``<agency>-<6 digits>-<4 digits>``."""
    return f"{agency}-{(int(stamp) + n // 10000) % 10**6:06d}-{n % 10000:04d}"


def dossier_events(code: str, n: int) -> list[Any]:
    """dossier.received, then what routing publishes right after it."""
    at = now_vn()
    received = new_event(
        DossierReceivedV2(
            procedure_code="1.001193",
            procedure_name="Đăng ký khai sinh",
            channel=Channel.DIRECT,
            receiving_agency_code=AGENCY,
            received_at=at,
            due_at=at + timedelta(days=3),
            personal_data=sealed(
                code,
                Person(
                    full_name="Nguyễn Văn Bình",
                    id_number="001203004567",
                    phone=f"09{n:08d}",
                    email=f"cong.dan.{n}@example.vn",
                ),
            ),
        ),
        dossier_code=code,
        producer="intake",
        agency_code=AGENCY,
        occurred_at=at,
    )
    routed = new_event(
        DossierRoutedV1(
            competent_agency_code=AGENCY,
            steps=[RoutedStep(step_no=1, role="receive", agency_code=AGENCY, hours=8)],
        ),
        dossier_code=code,
        producer="routing",
        agency_code=AGENCY,
        causation=received,
    )
    offered = new_event(
        HandoffOfferedV1(step_no=1, to_agency_code=AGENCY, role="receive"),
        dossier_code=code,
        producer="routing",
        agency_code=AGENCY,
        causation=received,
    )
    return [received, routed, offered]
