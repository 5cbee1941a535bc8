"""Dossier events as intake and routing publish them."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Any

from motcua.shared.contracts import EventEnvelope, new_event, now_vn
from motcua.shared.contracts.common import Channel, NotificationChannel, ResultDelivery
from motcua.shared.contracts.dossier import (
    DossierEventData,
    DossierReceivedV2,
    Person,
    PostalAddress,
    SubmittedComponent,
)
from motcua.shared.contracts.handoff import ResultRecordedV1, Timeliness
from motcua.shared.testing.helpers import sealed

AGENCY = "000.00.12.H14"


def dossier_code() -> str:
    """A fresh code of the issued shape (the broker is shared by the session)."""
    day = uuid.uuid4().int % 900000 + 100000
    return f"{AGENCY}-{day:06d}-{random.randrange(10000):04d}"


def phone() -> str:
    return "09" + "".join(random.choices("0123456789", k=8))


def email() -> str:
    return f"cong.dan.{uuid.uuid4().hex[:8]}@example.vn"


def event(code: str, data: DossierEventData, **kwargs: Any) -> EventEnvelope[Any]:
    producer = "intake" if data.EVENT_TYPE.startswith("dossier.rec") else "routing"
    return new_event(
        data, dossier_code=code, producer=producer, agency_code=AGENCY, **kwargs
    )


def received(
    code: str,
    *,
    phone_number: str | None = None,
    email_address: str | None = None,
    post: bool = False,
    channels: list[NotificationChannel] | None = None,
    imported: bool = False,
    procedure_name: str = "Đăng ký khai sinh",
) -> EventEnvelope[Any]:
    at = now_vn()
    data = DossierReceivedV2(
        procedure_code="1.001193",
        procedure_name=procedure_name,
        channel=Channel.DIRECT,
        receiving_agency_code=AGENCY,
        received_at=at,
        due_at=at + timedelta(days=3),
        personal_data=sealed(
            code,
            Person(
                full_name="Nguyễn Thị Ánh",
                id_number="001203004567",
                phone=phone_number,
                email=email_address,
                address="Số 5 ngõ 12 phố Huế",
            ),
            postal_address=PostalAddress(
                receiver_name="Nguyễn Thị Ánh",
                address="Số 5 ngõ 12 phố Huế",
                phone=phone_number or "0912345678",
                province_code="01",
                province_name="Hà Nội",
                commune_code="00001",
                commune_name="Phường Hai Bà Trưng",
            )
            if post
            else None,
        ),
        result_delivery=ResultDelivery.POST if post else ResultDelivery.DESK,
        components=[SubmittedComponent(code="TK", name="Tờ khai đăng ký khai sinh")],
        notify_channels=channels
        if channels is not None
        else [NotificationChannel.SMS, NotificationChannel.EMAIL],
    )
    return event(code, data, imported=imported, occurred_at=at)


def result_recorded(
    code: str, cause: EventEnvelope[Any] | None = None
) -> EventEnvelope[Any]:
    return event(
        code,
        ResultRecordedV1(
            resolved_at=now_vn(),
            timeliness=Timeliness.ON_TIME,
            result_summary="Giấy khai sinh",
        ),
        causation=cause,
    )
