"""Poison and forged records, as the attacks the system was tried with: what
each consumer must refuse, and with which reason (docs/integrators.md).

Two kinds of attacker. An *outsider* can write to the broker and nothing
more: every act it forges is unsigned or signed with a key nobody published,
so the chain guard refuses it before any handler (``signature_invalid``,
``chain_broken``, ADR 0012), and what is not even an event is refused by the
consumer core first (``malformed``, ``unknown_event_type``). An *insider*
holds an agency's signing key (here: the development keystore under the data
folder) and signs acts its agency is entitled to sign, linked in the chain;
those pass the guard, and each service's own checks must refuse what is
impossible for the dossier (``illegal_transition``, ``duplicate_creation``,
ADR 0007's strict consumers)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from motcua.shared.contracts import new_event, now_vn
from motcua.shared.contracts.common import Channel, NotificationChannel
from motcua.shared.contracts.dossier import (
    DossierRatedV1,
    DossierReceivedV2,
    DossierWithdrawnV1,
    Person,
    PersonalData,
)
from motcua.shared.contracts.handoff import (
    ResultDeliveredV1,
    ResultRecordedV1,
    Timeliness,
)
from motcua.shared.contracts.notification import PostalStatusChangedV1
from motcua.shared.contracts.topics import DOSSIER_EVENTS, NOTIFICATION_EVENTS
from motcua.shared.messaging.outbox import envelope_headers
from motcua.shared.personal_data import PersonalDataKeys, PersonalDataSealer

RECEPTION_READERS = ("routing", "notification", "reporting")
"""The consumers that handle ``dossier.received``."""
CONSUMERS = ("intake", "routing", "notification", "reporting")
"""Every consumer of the dossier topic: each checks every chained act."""

Sign = Callable[[Any], bytes]
"""An insider's signer: the record body of an envelope, signed by the agency
entitled to the act and linked after the dossier's chain."""


@dataclass
class Case:
    name: str
    what: str
    records: list[tuple[str, str, bytes, dict[str, str]]]
    expected: dict[str, str]
    """consumer group → the reason it must give (``dlt-reason``)."""
    event_ids: list[str] = field(default_factory=list)


def _record(
    envelope: Any,
    *,
    body: bytes | None = None,
    header_changes: dict[str, str] | None = None,
) -> tuple[str, str, bytes, dict[str, str]]:
    headers = {**envelope_headers(envelope), **(header_changes or {})}
    value = envelope.to_json() if body is None else body
    return DOSSIER_EVENTS, envelope.dossier_code, value, headers


def _raw(
    code: str, value: bytes, event_type: str, version: str = "1"
) -> tuple[str, str, bytes, dict[str, str]]:
    headers = {
        "event-id": str(uuid.uuid4()),
        "event-type": event_type,
        "schema-version": version,
        "producer": "chaos",
    }
    return DOSSIER_EVENTS, code, value, headers


def _forged_reception(code: str, phone: str, email: str) -> DossierReceivedV2:
    """A reception whose people are sealed with keys that are not the
    system's: what anyone without intake's key ring can write."""
    forger = PersonalDataSealer(PersonalDataKeys.generate())
    now = now_vn()
    return DossierReceivedV2(
        procedure_code="1.001193",
        procedure_name="Đăng ký khai sinh",
        channel=Channel.DIRECT,
        receiving_agency_code=code.split("-")[0],
        received_at=now,
        due_at=now + timedelta(days=3),
        personal_data=forger.seal(
            PersonalData(
                applicant=Person(
                    full_name="Kẻ mạo danh",
                    id_number="001099000001",
                    phone=phone,
                    email=email,
                )
            ),
            dossier_code=code,
        ),
    )


def catalogue(
    live: str,
    live_reception: dict[str, Any],
    unissued: str,
    unknown: str,
    *,
    insider: Sign | None = None,
) -> list[Case]:
    """The cases, about ``live`` (a dossier received and in processing, whose
    ``dossier.received`` body is ``live_reception``), ``unissued`` and
    ``unknown`` (well-shaped codes intake never issued); the insider's cases
    too if ``insider`` can sign."""
    agency = live.split("-")[0]
    cases: list[Case] = []

    future = {
        **live_reception,
        "event_id": str(uuid.uuid4()),
        "schema_version": 99,
        "data": {"nonsense": True, "applicant": {"phone": "0999999999"}},
    }
    value = json.dumps(future).encode()
    record = _raw(live, value, "dossier.received", "99")
    record[3]["event-id"] = future["event_id"]
    cases.append(
        Case(
            "reception_version_99",
            "dossier.received v99 with nonsense data for a live dossier",
            [record],
            {
                **dict.fromkeys(RECEPTION_READERS, "unknown_event_type"),
                # intake handles no reception, but checks every act's signature
                "intake": "signature_invalid",
            },
        )
    )

    rated = new_event(DossierRatedV1(score=1), dossier_code=live, producer="reporting")
    cases.append(
        Case(
            "rating_without_result",
            "dossier.rated for a dossier with no result",
            [_record(rated)],
            {"reporting": "illegal_transition"},
        )
    )

    long_code = agency + "-" + "9" * 10_000
    withdrawn = new_event(
        DossierWithdrawnV1(reason="x"), dossier_code=long_code, producer="intake"
    )
    cases.append(
        Case(
            "withdrawal_of_10000_char_code",
            "dossier.withdrawn for a 10,000-character code",
            [_record(withdrawn)],
            dict.fromkeys(CONSUMERS, "malformed"),
        )
    )

    delivered = new_event(
        ResultDeliveredV1(delivered_at=now_vn(), method="desk"),
        dossier_code=live,
        producer="routing",
        agency_code=agency,
    )
    cases.append(
        Case(
            "result_delivered_while_processing",
            "dossier.result_delivered for a dossier still in processing (4 → 10), "
            "unsigned",
            [_record(delivered)],
            dict.fromkeys(CONSUMERS, "signature_invalid"),
        )
    )

    again = {**live_reception, "event_id": str(uuid.uuid4())}
    record = _raw(live, json.dumps(again).encode(), "dossier.received", "2")
    record[3]["event-id"] = again["event_id"]
    cases.append(
        Case(
            "second_reception_same_people",
            "the dossier's own dossier.received again under another event id "
            "(the id is signed: the signature no longer fits)",
            [record],
            dict.fromkeys(CONSUMERS, "signature_invalid"),
        )
    )

    replayed = _raw(live, json.dumps(live_reception).encode(), "dossier.received", "2")
    cases.append(
        Case(
            "reception_replayed",
            "the dossier's own dossier.received, byte for byte, under another "
            "event-id header (the inbox would take it for a new event)",
            [replayed],
            dict.fromkeys(CONSUMERS, "chain_broken"),
        )
    )

    other = new_event(
        _forged_reception(live, "0909000111", "ke.mao.danh@example.vn"),
        dossier_code=live,
        producer="intake",
    )
    cases.append(
        Case(
            "second_reception_other_contacts",
            "a second dossier.received for a live dossier with another "
            "applicant's phone, email and ID number",
            [_record(other)],
            dict.fromkeys(CONSUMERS, "signature_invalid"),
        )
    )

    never = new_event(
        _forged_reception(unissued, "0909000222", "khong.co.that@example.vn"),
        dossier_code=unissued,
        producer="intake",
    )
    cases.append(
        Case(
            "reception_never_issued",
            "dossier.received for a code intake never issued",
            [_record(never)],
            dict.fromkeys(CONSUMERS, "signature_invalid"),
        )
    )

    v1 = {
        **json.loads(never.to_json()),
        "event_id": str(uuid.uuid4()),
        "schema_version": 1,
    }
    v1["data"] = {
        **{k: v for k, v in v1["data"].items() if k != "personal_data"},
        "applicant": {"full_name": "Kẻ mạo danh", "phone": "0909000333"},
    }
    record = _raw(unissued, json.dumps(v1).encode(), "dossier.received", "1")
    record[3]["event-id"] = v1["event_id"]
    cases.append(
        Case(
            "reception_v1_in_clear",
            "the retired dossier.received v1, personal data in clear",
            [record],
            {
                **dict.fromkeys(RECEPTION_READERS, "unknown_event_type"),
                "intake": "signature_invalid",
            },
        )
    )

    cases.append(
        Case(
            "not_json",
            "bytes that are not JSON, typed as a result delivery",
            [_raw(live, b"\xff\xfe not json {", "dossier.result_delivered")],
            dict.fromkeys(CONSUMERS, "malformed"),
        )
    )

    huge = b'{"note": "chaos@example.vn 001203004567 ' + b"a" * 900_000 + b'"}'
    cases.append(
        Case(
            "record_of_900_kb",
            "a 900 KB record (the one that froze the console)",
            [_raw(live, huge, "dossier.withdrawn")],
            dict.fromkeys(CONSUMERS, "malformed"),
        )
    )

    lying = new_event(
        DossierWithdrawnV1(reason="x"), dossier_code=live, producer="intake"
    )
    cases.append(
        Case(
            "headers_contradict_body",
            "a withdrawal whose event-id header is not its body's",
            [_record(lying, header_changes={"event-id": str(uuid.uuid4())})],
            dict.fromkeys(CONSUMERS, "signature_invalid"),
        )
    )

    history = new_event(
        ResultRecordedV1(resolved_at=now_vn(), timeliness=Timeliness.ON_TIME),
        dossier_code=live,
        producer="intake",
        imported=True,
    )
    cases.append(
        Case(
            "imported_history_for_live_dossier",
            "an imported (unsigned) result for a live dossier with signed history",
            [_record(history)],
            dict.fromkeys(CONSUMERS, "signature_invalid"),
        )
    )

    orphan = new_event(
        DossierWithdrawnV1(reason="x"), dossier_code=unknown, producer="intake"
    )
    cases.append(
        Case(
            "withdrawal_of_unknown_dossier",
            "dossier.withdrawn for a dossier nobody received",
            [_record(orphan)],
            dict.fromkeys(CONSUMERS, "signature_invalid"),
        )
    )
    # notices are not acts (nobody signs them): routing sets a delivery
    # notice for a dossier it does not know aside, then gives up on it
    notice = new_event(
        PostalStatusChangedV1(
            notification_id=uuid.uuid4(),
            channel=NotificationChannel.POST,
            template="dossier.result_delivery",
            waybill_code="CHAOS0001VN",
            postal_status="delivered",
        ),
        dossier_code=unknown,
        producer="notification",
    )
    _, key, value, headers = _record(notice)
    cases.append(
        Case(
            "postal_delivery_of_unknown_dossier",
            "a postal delivery notice for a dossier nobody received (parked, "
            "then expired)",
            [(NOTIFICATION_EVENTS, key, value, headers)],
            {"routing": "parked_expired"},
        )
    )
    if insider is not None:
        cases += _insider_cases(live, live_reception, unissued, insider)
    for case in cases:
        case.event_ids = [r[3]["event-id"] for r in case.records]
    return cases


def _insider_cases(
    live: str, live_reception: dict[str, Any], unissued: str, sign: Sign
) -> list[Case]:
    """Acts signed by the agency entitled to sign them, in the chain: the
    guard lets them through, the services' state checks must not."""
    delivered = new_event(
        ResultDeliveredV1(delivered_at=now_vn(), method="desk"),
        dossier_code=live,
        producer="routing",
    )
    # the dossier's people as intake sealed them (a seal is bound to the
    # dossier's code, so the insider can copy it), under a new event
    data = {
        k: v
        for k, v in live_reception["data"].items()
        if k in DossierReceivedV2.model_fields
    }
    again = new_event(
        DossierReceivedV2.model_validate(data),
        dossier_code=live,
        producer="intake",
    )
    # a desk's key, not intake's personal-data key ring: the seal is forged
    fresh = unissued[:-4] + "9993"
    forged = new_event(
        _forged_reception(fresh, "0909000444", "ke.mao.danh@example.vn"),
        dossier_code=fresh,
        producer="intake",
    )
    return [
        Case(
            "insider_reception_forged_seal",
            "dossier.received for a code intake never issued, signed by the "
            "desk, its people sealed with keys that are not intake's",
            [_record(forged, body=sign(forged))],
            dict.fromkeys(RECEPTION_READERS, "invalid_payload"),
        ),
        Case(
            "insider_result_delivered_while_processing",
            "dossier.result_delivered for a dossier still in processing, signed "
            "by the agency that would deliver it",
            [_record(delivered, body=sign(delivered))],
            {
                "intake": "illegal_transition",
                "notification": "illegal_transition",
                "reporting": "illegal_transition",
            },
        ),
        Case(
            "insider_second_reception",
            "the dossier received a second time, signed by its desk, with its "
            "own sealed people",
            [_record(again, body=sign(again))],
            dict.fromkeys(RECEPTION_READERS, "duplicate_creation"),
        ),
    ]


def unhandled_record(code: str) -> tuple[str, str, bytes, dict[str, str]]:
    """A type no consumer handles: skipped and counted, not refused."""
    body = {
        "event_id": str(uuid.uuid4()),
        "event_type": "dossier.teleported",
        "schema_version": 1,
        "occurred_at": now_vn().isoformat(),
        "dossier_code": code,
        "producer": "chaos",
        "correlation_id": "chaos",
        "data": {},
    }
    record = _raw(code, json.dumps(body).encode(), "dossier.teleported")
    record[3]["event-id"] = str(body["event_id"])
    return record
