"""Event builders for reporting's tests: envelopes exactly as intake, routing and
notification publish them (``new_event``), plus a publisher that sends them
over the real broker the way the outbox relay does."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI

from motcua.reporting.tables import TimelineEntry
from motcua.shared.auth import Role
from motcua.shared.contracts import EventEnvelope, new_event
from motcua.shared.contracts.common import AgencyLevel, Channel, NotificationChannel
from motcua.shared.contracts.dossier import (
    DossierReceivedV2,
    DossierRefusedV2,
    DossierWithdrawnV1,
    Person,
)
from motcua.shared.contracts.handoff import (
    ApologyIssuedV1,
    DossierRoutedV1,
    HandoffOfferedV1,
    ProcessingResumedV1,
    ResultDeliveredV1,
    ResultRecordedV1,
    RoutedStep,
    SupplementRequestedV1,
    Timeliness,
)
from motcua.shared.contracts.notification import (
    NotificationCreatedV1,
    PostalOrderCreatedV1,
)
from motcua.shared.kafka import create_broker, kafka_publisher
from motcua.shared.messaging.outbox import envelope_headers
from motcua.shared.personal_data import PersonalDataAccess, load_keys
from motcua.shared.settings import CommonSettings, KafkaSettings
from motcua.shared.testing.helpers import bearer, sealed, wait_for

ID_NUMBER = "001203004567"


def reporting_access() -> PersonalDataAccess:
    """Reporting's path to the people sealed in receptions (the session's key
    ring, as the service under test has it)."""
    return PersonalDataAccess("reporting", load_keys(CommonSettings()))


def unique_agency(unique: str, salt: str = "") -> str:
    """An agency e-ID code (QCVN 102 shape) of this test alone: the broker is
    shared by the whole session."""
    n = int(hashlib.sha1(f"{unique}:{salt}".encode()).hexdigest(), 16)
    return f"{n % 1000:03d}.{n // 1000 % 100:02d}.{n // 100000 % 100:02d}.H56"


class Dossier:
    """One dossier's story; each method returns the event it would publish."""

    def __init__(
        self,
        code: str,
        agency: str,
        *,
        imported: bool = False,
        field: str = "HT",
        procedure: str = "1.001193",
        level: AgencyLevel = AgencyLevel.COMMUNE,
    ) -> None:
        self.code = code
        self.agency = agency
        self.imported = imported
        self.field = field
        self.procedure = procedure
        self.level = level
        self.correlation = str(uuid.uuid4())

    def _event(self, data: Any, at: datetime, producer: str) -> EventEnvelope[Any]:
        return new_event(
            data,
            dossier_code=self.code,
            producer=producer,
            agency_code=self.agency,
            correlation_id=self.correlation,
            occurred_at=at,
            imported=self.imported,
        )

    def received(
        self,
        at: datetime,
        due: datetime | None,
        *,
        channel: Channel = Channel.DIRECT,
        id_number: str = ID_NUMBER,
    ) -> EventEnvelope[Any]:
        return self._event(
            DossierReceivedV2(
                procedure_code=self.procedure,
                procedure_name="Đăng ký khai sinh",
                field_code=self.field,
                field_name="Hộ tịch"
                if self.field == "HT"
                else f"Lĩnh vực {self.field}",
                procedure_level=self.level,
                channel=channel,
                receiving_agency_code=self.agency,
                received_at=at,
                due_at=due,
                personal_data=sealed(
                    self.code,
                    Person(
                        full_name="Nguyễn Văn A",
                        id_number=id_number,
                        phone="0912345678",
                        address="Số 1 Tràng Tiền",
                    ),
                ),
            ),
            at,
            "intake",
        )

    def routed(self, at: datetime, competent: str) -> EventEnvelope[Any]:
        step = RoutedStep(
            step_no=1, role="competent_agency", agency_code=competent, hours=8
        )
        return self._event(
            DossierRoutedV1(competent_agency_code=competent, steps=[step]),
            at,
            "routing",
        )

    def offered(self, at: datetime) -> EventEnvelope[Any]:
        return self._event(
            HandoffOfferedV1(step_no=1, to_agency_code=self.agency), at, "routing"
        )

    def supplement_requested(self, at: datetime) -> EventEnvelope[Any]:
        return self._event(
            SupplementRequestedV1(requested_components=["TP1"]), at, "routing"
        )

    def resumed(self, at: datetime, due: datetime) -> EventEnvelope[Any]:
        return self._event(
            ProcessingResumedV1(paused_working_hours=8, due_at=due), at, "routing"
        )

    def apology(self, at: datetime, new_due: datetime) -> EventEnvelope[Any]:
        return self._event(
            ApologyIssuedV1(reason="Cần xác minh thêm", new_due_at=new_due),
            at,
            "routing",
        )

    def resolved(
        self, at: datetime, due: datetime | None, mark: Timeliness = Timeliness.ON_TIME
    ) -> EventEnvelope[Any]:
        return self._event(
            ResultRecordedV1(resolved_at=at, due_at=due, timeliness=mark), at, "routing"
        )

    def delivered(self, at: datetime) -> EventEnvelope[Any]:
        return self._event(ResultDeliveredV1(delivered_at=at), at, "routing")

    def withdrawn(self, at: datetime) -> EventEnvelope[Any]:
        return self._event(DossierWithdrawnV1(reason="Không có nhu cầu"), at, "intake")

    def refused(self, at: datetime) -> EventEnvelope[Any]:
        return self._event(
            DossierRefusedV2(
                procedure_code=self.procedure,
                receiving_agency_code=self.agency,
                channel=Channel.DIRECT,
                reasons=["Không thuộc thẩm quyền"],
                personal_data=sealed(self.code),
            ),
            at,
            "intake",
        )

    def notice(self, at: datetime, cause: EventEnvelope[Any]) -> EventEnvelope[Any]:
        return self._event(
            NotificationCreatedV1(
                notification_id=uuid.uuid4(),
                channel=NotificationChannel.SMS,
                template=cause.event_type,
                trigger_event_id=cause.event_id,
            ),
            at,
            "notification",
        )

    def postal_order(self, at: datetime) -> EventEnvelope[Any]:
        return self._event(
            PostalOrderCreatedV1(
                notification_id=uuid.uuid4(),
                channel=NotificationChannel.POST,
                template="dossier.result_recorded",
                waybill_code="EB123456789VN",
            ),
            at,
            "notification",
        )


def days(n: float) -> timedelta:
    return timedelta(days=n)


async def publish(
    settings: KafkaSettings, events: Sequence[EventEnvelope[Any]]
) -> None:
    """Send envelopes as the outbox relay does: key = dossier code, documented
    headers, one topic per event type."""
    broker = create_broker(settings, client_id="reporting-test-producer")
    await broker.connect()
    try:
        send = kafka_publisher(broker)
        futures = [
            await send(
                e.data.TOPIC, e.dossier_code.encode(), e.to_json(), envelope_headers(e)
            )
            for e in events
        ]
        for future in futures:
            await future
    finally:
        await broker.stop()


class FlakyHandler:
    """A consumer handler that fails (so the record is dead-lettered) until
    ``fixed`` is set, and records what it applied."""

    def __init__(self) -> None:
        self.fixed = False
        self.applied: list[str] = []

    async def __call__(self, _ctx: Any, event: EventEnvelope[Any]) -> None:
        if not self.fixed:
            msg = "cannot apply this record yet"
            raise RuntimeError(msg)
        self.applied.append(str(event.event_id))


OPERATOR = bearer("*", Role.OPERATOR)


async def wait_projected(
    app: FastAPI, event_ids: Iterable[Any], timeout_s: float = 60
) -> None:
    """Until every given event is in the timeline (the projection applied it)."""
    wanted = set(event_ids)
    runtime = app.state.runtime
    t = TimelineEntry.__table__  # type: ignore[attr-defined]

    async def probe() -> bool:
        async with runtime.sessions() as session:
            found = await session.scalar(
                sa.select(sa.func.count()).where(t.c.event_id.in_(list(wanted)))
            )
        return found == len(wanted)

    await wait_for(
        probe, timeout_s=timeout_s, interval_s=0.1, message="events projected"
    )
