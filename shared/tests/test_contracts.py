"""The envelope and the event registry."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from motcua.shared.contracts import (
    EventParseError,
    UnknownEventData,
    new_event,
    parse_event,
    registered_event_types,
)
from motcua.shared.contracts.common import Channel
from motcua.shared.contracts.dossier import DossierReceivedV1, Person
from motcua.shared.contracts.topics import DOSSIER_EVENTS, NOTIFICATION_EVENTS


def _received() -> DossierReceivedV1:
    return DossierReceivedV1(
        procedure_code="1.001193",
        procedure_name="Đăng ký khai sinh",
        channel=Channel.DIRECT,
        receiving_agency_code="000.00.12.H14",
        received_at=datetime(2026, 3, 2, 3, 0, tzinfo=UTC),
        applicant=Person(full_name="Trần Thị B", id_number="001203004567"),
    )


def test_envelope_round_trips_through_json_with_its_type() -> None:
    event = new_event(
        _received(), dossier_code="000.00.12.H14-260302-0001", producer="intake"
    )
    parsed = parse_event(event.to_json())
    assert parsed == event
    assert isinstance(parsed.data, DossierReceivedV1)


def test_occurred_at_is_expressed_in_vietnam_time() -> None:
    event = new_event(
        _received(),
        dossier_code="X",
        producer="intake",
        occurred_at=datetime(2026, 3, 2, 3, 0, tzinfo=UTC),
    )
    body = json.loads(event.to_json())
    assert body["occurred_at"] == "2026-03-02T10:00:00+07:00"


def test_follow_up_events_inherit_correlation_and_import_flag() -> None:
    cause = new_event(_received(), dossier_code="X", producer="intake", imported=True)
    follow = new_event(
        _received(), dossier_code="X", producer="routing", causation=cause
    )
    assert follow.correlation_id == cause.correlation_id
    assert follow.causation_id == cause.event_id
    assert follow.imported is True


def test_unknown_event_types_parse_as_unknown_instead_of_failing() -> None:
    body = {
        "event_id": str(uuid.uuid4()),
        "event_type": "dossier.teleported",
        "schema_version": 9,
        "occurred_at": "2026-01-01T08:00:00+07:00",
        "dossier_code": "X",
        "producer": "future",
        "correlation_id": "c",
        "data": {"anything": 1},
    }
    parsed = parse_event(json.dumps(body))
    assert isinstance(parsed.data, UnknownEventData)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"{}",
        b'{"event_type": "dossier.received", "schema_version": 1}',
        b"\xff",
    ],
)
def test_malformed_bodies_raise_a_parse_error(raw: bytes) -> None:
    with pytest.raises(EventParseError):
        parse_event(raw)


def test_every_event_type_lives_on_a_declared_topic() -> None:
    types = registered_event_types()
    assert len(types) >= 30
    for (event_type, version), model in types.items():
        assert model.TOPIC in (DOSSIER_EVENTS, NOTIFICATION_EVENTS), event_type
        assert version >= 1
        assert event_type.split(".")[0] in ("dossier", "notification")
