"""Dossier events as intake and routing publish them, for the portal tests."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from motcua.shared.contracts import EventEnvelope, new_event
from motcua.shared.contracts.common import Channel, ResultDelivery
from motcua.shared.contracts.dossier import (
    DossierEventData,
    DossierReceivedV2,
    Person,
    SubmittedComponent,
)
from motcua.shared.contracts.envelope import VN_TZ
from motcua.shared.testing.helpers import sealed

AGENCY = "000.00.12.H14"
DISTRICT = "000.00.20.H14"
APPLICANT = Person(
    full_name="Nguyễn Thị Ánh",
    id_number="038190000123",
    phone="0912345678",
    email="anh.nguyen@example.vn",
    address="Số 5 đường Lê Lợi",
)
T0 = datetime(2026, 12, 7, 8, 30, tzinfo=VN_TZ)


def dossier_code() -> str:
    """A fresh code of the issued shape (the broker is shared by the session)."""
    day = uuid.uuid4().int % 900000 + 100000
    return f"{AGENCY}-{day:06d}-{random.randrange(10000):04d}"


def event(
    code: str,
    data: DossierEventData,
    *,
    minutes: float = 0,
    agency: str | None = AGENCY,
    **kwargs: Any,
) -> EventEnvelope[Any]:
    """``agency``: who acted (and signs); None for the province (alarms)."""
    producer = "intake" if data.EVENT_TYPE.startswith("dossier.rec") else "routing"
    return new_event(
        data,
        dossier_code=code,
        producer=producer,
        agency_code=agency,
        occurred_at=T0 + timedelta(minutes=minutes),
        **kwargs,
    )


def reception(
    code: str,
    *,
    channel: Channel = Channel.DIRECT,
    post: bool = False,
    fee_vnd: int = 0,
    inter_agency: bool = False,
) -> DossierReceivedV2:
    return DossierReceivedV2(
        procedure_code="1.001193",
        procedure_name="Đăng ký khai sinh",
        field_code="G01",
        field_name="Hộ tịch",
        inter_agency=inter_agency,
        competent_agency_code=DISTRICT if inter_agency else None,
        channel=channel,
        receiving_agency_code=AGENCY,
        received_at=T0,
        due_at=T0 + timedelta(days=3),
        personal_data=sealed(code, APPLICANT),
        result_delivery=ResultDelivery.POST if post else ResultDelivery.DESK,
        components=[SubmittedComponent(code="TP1", name="Tờ khai đăng ký khai sinh")],
        fee_vnd=fee_vnd,
    )


def received(code: str, **kwargs: Any) -> EventEnvelope[Any]:
    imported = kwargs.pop("imported", False)
    return event(code, reception(code, **kwargs), imported=imported)
