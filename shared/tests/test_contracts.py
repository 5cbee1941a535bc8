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
from motcua.shared.contracts.dossier import DossierReceivedV2, Person
from motcua.shared.contracts.topics import DOSSIER_EVENTS, NOTIFICATION_EVENTS
from motcua.shared.testing.helpers import sealed


def _received() -> DossierReceivedV2:
    return DossierReceivedV2(
        procedure_code="1.001193",
        procedure_name="Đăng ký khai sinh",
        channel=Channel.DIRECT,
        receiving_agency_code="000.00.12.H14",
        received_at=datetime(2026, 3, 2, 3, 0, tzinfo=UTC),
        personal_data=sealed(
            "000.00.12.H14-260302-0001",
            Person(full_name="Trần Thị B", id_number="001203004567"),
        ),
    )


def test_envelope_round_trips_through_json_with_its_type() -> None:
    event = new_event(
        _received(), dossier_code="000.00.12.H14-260302-0001", producer="intake"
    )
    parsed = parse_event(event.to_json())
    assert parsed == event
    assert isinstance(parsed.data, DossierReceivedV2)


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


PERSONAL_FIELDS = {"id_number", "phone", "email", "address", "full_name", "applicant"}


def _field_names(schema: dict, definitions: dict) -> set[str]:
    """Every property name reachable in a JSON schema (through $ref)."""
    names: set[str] = set()
    stack, seen = [schema], set()
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref not in seen:
                seen.add(ref)
                stack.append(definitions[ref.rsplit("/", 1)[-1]])
            names.update(node.get("properties", {}))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return names


def test_no_event_carries_personal_data_in_clear() -> None:
    """ADR 0007: names, ID numbers, phones, emails and addresses of applicants
    travel only sealed (``personal_data``); no payload declares them."""
    for (event_type, version), model in registered_event_types().items():
        schema = model.model_json_schema()
        names = _field_names(schema, schema.get("$defs", {}))
        assert not names & PERSONAL_FIELDS, (event_type, version)
