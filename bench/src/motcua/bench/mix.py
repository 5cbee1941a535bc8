"""A realistic mix of receptions (pure): several procedures, channels,
multi-agency routes and postal returns, as a commune desk sees them."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

COMMUNE_DESKS = (
    "000.01.31.H14",
    "000.01.32.H14",
    "000.01.33.H14",
    "000.01.34.H14",
    "000.01.35.H14",
)
PROVINCE_DESK = "000.00.12.H14"
MOBILE_PREFIXES = ("091", "094", "096", "097", "098", "086", "088", "032", "035", "039")


@dataclass(frozen=True)
class Kind:
    name: str
    procedure_code: str
    weight: int
    province_desk: bool = False
    multi_agency: bool = False


KINDS = (
    Kind("birth registration, same day", "1.001193", 30),
    Kind("marital status certificate, 3 working days", "1.004873", 20),
    Kind(
        "birth + residence + health insurance group",
        "1.001193.02",
        10,
        multi_agency=True,
    ),
    Kind(
        "criminal record certificate, commune → Sở Tư pháp → commune",
        "2.000488",
        15,
        multi_agency=True,
    ),
    Kind("certified copy", "2.000908", 15),
    Kind("death registration", "1.000656", 10),
)


def agency_for(kind: Kind, n: int) -> str:
    return (
        PROVINCE_DESK if kind.province_desk else COMMUNE_DESKS[n % len(COMMUNE_DESKS)]
    )


def reception(n: int, rng: random.Random) -> tuple[Kind, dict[str, Any]]:
    """The n-th reception of a run: (its kind, the POST body)."""
    kind = rng.choices(KINDS, weights=[k.weight for k in KINDS])[0]
    channel = rng.choices(["direct", "online", "postal"], weights=[55, 35, 10])[0]
    by_post = rng.random() < 0.2
    phone = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**7):07d}"
    body: dict[str, Any] = {
        "procedure_code": kind.procedure_code,
        "receiving_agency_code": agency_for(kind, n),
        "channel": channel,
        "applicant": {
            "full_name": f"Người dân thử {n}",
            "id_number": f"0011{rng.randrange(50, 99):02d}{n % 10**6:06d}",
            "phone": phone,
            "email": f"nguoidan{n}@example.vn",
        },
        "result_delivery": "post" if by_post else "desk",
    }
    if by_post:
        body["postal_address"] = {
            "receiver_name": f"Người dân thử {n}",
            "address": f"Thôn {n % 12 + 1}, tỉnh Mẫu",
            "phone": phone,
        }
    return kind, body
