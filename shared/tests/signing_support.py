"""Building signed dossier histories for tests of the signing modules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from motcua.shared.contracts import EventData, EventEnvelope, new_event
from motcua.shared.contracts.common import Channel
from motcua.shared.contracts.dossier import DossierReceivedV2, Person
from motcua.shared.contracts.handoff import (
    DossierRoutedV1,
    HandoffAcknowledgedV1,
    HandoffOfferedV1,
    ResultRecordedV1,
    StepCompletedV1,
    Timeliness,
)
from motcua.shared.signing.chain import ChainState
from motcua.shared.signing.keystore import KeyMaterial
from motcua.shared.signing.producer import seal
from motcua.shared.testing.helpers import sealed

DESK = "000.01.31.H14"
STP = "000.00.05.H14"
POLICE = "000.00.20.H14"
CODE = "000.01.31.H14-261206-0001"


@dataclass
class Writer:
    """A producer appending signed events to one dossier's chain."""

    keys: KeyMaterial
    code: str = CODE
    state: ChainState = field(default_factory=ChainState)
    bodies: list[bytes] = field(default_factory=list)

    def event(
        self, data: EventData, agency: str | None, at: datetime
    ) -> EventEnvelope[Any]:
        return new_event(
            data,
            dossier_code=self.code,
            producer="test",
            agency_code=agency,
            occurred_at=at,
        )

    def add(self, data: EventData, agency: str | None, at: datetime) -> bytes:
        sealed = seal(self.event(data, agency, at), self.state, self.keys)
        self.state = sealed.state
        self.bodies.append(sealed.body)
        return sealed.body


def reception(at: datetime, code: str = CODE) -> DossierReceivedV2:
    return DossierReceivedV2(
        procedure_code="2.000488",
        procedure_name="Cấp Phiếu lý lịch tư pháp",
        channel=Channel.DIRECT,
        receiving_agency_code=DESK,
        received_at=at,
        personal_data=sealed(code, Person(full_name="Nguyễn Thị Lan")),
    )


def walkthrough(writer: Writer, start: datetime) -> Writer:
    """Received at the desk, handed to Sở Tư pháp, result recorded there."""
    t = [start + timedelta(minutes=i) for i in range(8)]
    writer.add(reception(t[0], writer.code), DESK, t[0])
    writer.add(DossierRoutedV1(competent_agency_code=STP, steps=[]), DESK, t[1])
    writer.add(HandoffOfferedV1(step_no=1, to_agency_code=DESK), None, t[1])
    writer.add(HandoffAcknowledgedV1(step_no=1, to_agency_code=DESK), DESK, t[2])
    writer.add(
        StepCompletedV1(step_no=1, to_agency_code=DESK, next_agency_code=STP),
        DESK,
        t[3],
    )
    writer.add(
        HandoffOfferedV1(step_no=2, from_agency_code=DESK, to_agency_code=STP),
        DESK,
        t[3],
    )
    writer.add(
        HandoffAcknowledgedV1(step_no=2, from_agency_code=DESK, to_agency_code=STP),
        STP,
        t[4],
    )
    writer.add(
        ResultRecordedV1(resolved_at=t[5], timeliness=Timeliness.EARLY), STP, t[5]
    )
    return writer
