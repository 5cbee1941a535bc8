"""Signed, chained dossier history across intake, routing and reporting, over
the real broker (ADR 0012): a dossier received and handed on is signed by the
right agencies and verifies end to end and offline; forged records written with
an ordinary Kafka client change nothing and are dead-lettered with their
reason; a key rotation keeps everything verifiable; deleting or editing a
stored event is reported by verification and by the checkpoints."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer
from confluent_kafka import Producer
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey

from motcua.intake.app import create_app as create_intake
from motcua.intake.repository import raise_sequence
from motcua.intake.settings import IntakeSettings
from motcua.reporting.app import create_app as create_reporting
from motcua.reporting.settings import ReportingSettings
from motcua.reporting.verification import (
    all_digests,
    load_checkpoints,
    make_checkpoint,
    signed_history,
    verify_stored,
)
from motcua.routing.app import create_app as create_routing
from motcua.routing.settings import RoutingSettings
from motcua.routing.tables import DossierEventRow
from motcua.shared.auth import Role
from motcua.shared.contracts import ChainLink, new_event, now_vn
from motcua.shared.contracts import headers as h
from motcua.shared.contracts.handoff import (
    HandoffAcknowledgedV1,
    ResultRecordedV1,
    Timeliness,
)
from motcua.shared.contracts.topics import DOSSIER_EVENTS, dead_letter_topic
from motcua.shared.domain.agencies import load_registry
from motcua.shared.local_broker import LocalBroker, free_port
from motcua.shared.settings import CommonSettings, KafkaSettings, SigningSettings
from motcua.shared.signing import checkpoints as cp
from motcua.shared.signing.bundle import make_bundle, verify_bundle
from motcua.shared.signing.canonical import canonical_bytes, split_body
from motcua.shared.signing.chain import ChainState
from motcua.shared.signing.jws import sign_detached
from motcua.shared.signing.keystore import (
    AgencyName,
    FileKeystore,
    KeyMaterial,
    province_of,
    registry_agencies,
)
from motcua.shared.signing.tables import ChainRow
from motcua.shared.signing.verifier import verify_history
from motcua.shared.testing.brokers import BrokerUnderTest
from motcua.shared.testing.helpers import bearer, running_app, wait_for

pytestmark = pytest.mark.broker

DESK = "000.01.31.H14"  # xã Kim Long's one-stop desk
STP = "000.00.05.H14"  # Sở Tư pháp
POLICE = "000.00.20.H14"  # Công an tỉnh
RECEPTION = {
    "procedure_code": "2.000488",
    "receiving_agency_code": DESK,
    "applicant": {"full_name": "Nguyễn Thị Lan", "id_number": "001190012345"},
}


@pytest.fixture(scope="module")
def kafka(kafka_broker: BrokerUnderTest) -> Iterator[KafkaSettings]:
    """A broker of this module's own on tansu: the session's holds every earlier
    test's dossiers, signed with other keys, which consumers starting from the
    beginning would check (and dead-letter) first."""
    if kafka_broker.kind != "tansu":
        yield KafkaSettings(
            bootstrap_servers=kafka_broker.bootstrap_servers,
            profile=kafka_broker.profile,
            partitions=3,
        )
        return
    with LocalBroker("127.0.0.1", free_port()) as broker:
        yield KafkaSettings(
            bootstrap_servers=broker.bootstrap_servers, profile="tansu", partitions=3
        )


@pytest.fixture(scope="module")
def strict_keys(tmp_path_factory: pytest.TempPathFactory) -> FileKeystore:
    """A keystore that has been signing since 2000: no unsigned live event
    passes as legacy."""
    registry = load_registry()
    store = FileKeystore(tmp_path_factory.mktemp("strict") / "keys")
    since = datetime(2000, 1, 1, tzinfo=UTC)
    store.init(
        registry_agencies(registry),
        province=province_of(registry),
        valid_from=since,
        signing_since=since,
    )
    return store


@dataclass
class System:
    intake: httpx.AsyncClient
    routing: httpx.AsyncClient
    reporting: httpx.AsyncClient
    apps: dict[str, Any]
    routing_group: str
    keys: KeyMaterial
    receipt: bytes = b""

    def runtime(self, name: str) -> Any:
        return self.apps[name].state.runtime


@pytest.fixture
async def system(
    sqlite_database_url: str,
    kafka: KafkaSettings,
    tmp_path: Path,
    strict_keys: FileKeystore,
    unique: str,
) -> AsyncIterator[System]:
    def common(name: str) -> dict[str, Any]:
        return {
            "database_url": sqlite_database_url.replace(".db", f"-{name}.db"),
            "kafka": kafka,
            "common": CommonSettings(data_dir=tmp_path, environment="test"),
            "signing": SigningSettings(
                keystore=strict_keys.folder, checkpoint_interval_s=3600
            ),
        }

    apps = {
        "intake": create_intake(
            IntakeSettings(**common("intake"), consumer_group=f"intake-{unique}")
        ),
        "routing": create_routing(
            RoutingSettings(**common("routing"), consumer_group=f"routing-{unique}")
        ),
        "reporting": create_reporting(ReportingSettings(**common("reporting"))),
    }
    async with AsyncExitStack() as stack:
        clients = {
            name: await stack.enter_async_context(running_app(app))
            for name, app in apps.items()
        }
        # a block of dossier codes no other test system on this broker uses
        floor = random.randrange(2000, 9000, 50)
        async with apps["intake"].state.runtime.transaction() as session:
            await raise_sequence(session, DESK, now_vn().date(), floor)
        yield System(
            clients["intake"],
            clients["routing"],
            clients["reporting"],
            apps,
            f"routing-{unique}",
            KeyMaterial(strict_keys, check_every_s=0),
        )


async def assert_pdf_signed(pdf: bytes, keys: FileKeystore, agency: str) -> None:
    """What a PDF reader trusting the published CA reports: intact, trusted,
    signed with the agency's certificate (pyHanko's validator)."""
    import io
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from asn1crypto import x509
        from pyhanko.pdf_utils.reader import PdfFileReader
        from pyhanko.sign.validation import async_validate_pdf_signature
        from pyhanko_certvalidator import ValidationContext

    key = keys.keyring().current(agency, now_vn())
    assert key is not None
    certs = [x509.Certificate.load(base64.b64decode(c)) for c in key.certificates]
    [signature] = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    status = await async_validate_pdf_signature(
        signature, ValidationContext(trust_roots=[certs[-1]])
    )
    assert status.bottom_line, status.summary()
    assert status.summary() == "INTACT:TRUSTED,UNTOUCHED"
    assert status.signing_cert.dump() == certs[0].dump()


async def _motcua(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    motcua = str(Path(sys.executable).with_name("motcua"))
    return await asyncio.to_thread(
        subprocess.run,
        [motcua, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def _receive_and_hand_to_stp(system: System, *, receipt: bool = False) -> str:
    desk = bearer(DESK, Role.DESK_OFFICER)
    received = await system.intake.post(
        "/api/v1/dossiers", json=RECEPTION, headers=desk
    )
    assert received.status_code == 201, received.text
    code: str = received.json()["code"]
    if receipt:  # form 01, as the desk prints it: signed by the desk
        pdf = await system.intake.get(received.json()["form"]["pdf"])
        assert pdf.status_code == 200, pdf.text
        assert pdf.headers["content-type"] == "application/pdf"
        system.receipt = pdf.content
    await _act(system, code, "acknowledge", DESK)
    await _act(system, code, "complete", DESK)
    return code


async def _act(system: System, code: str, action: str, agency: str) -> None:
    """An officer's action, once routing knows the dossier."""
    who = bearer(agency, Role.AGENCY_OFFICER, Role.DESK_OFFICER)

    async def done() -> httpx.Response | None:
        answer = await system.routing.post(
            f"/api/v1/dossiers/{code}/{action}", headers=who, json={}
        )
        return answer if answer.status_code != 404 else None

    answer = await wait_for(done, timeout_s=30, message=f"{action} of {code}")
    assert answer.status_code == 200, answer.text


async def _reporting_state(system: System, code: str) -> ChainState:
    """Reporting's view of the dossier's chain (it consumes every event)."""
    async with system.runtime("reporting").sessions() as session:
        row = await session.get(ChainRow, code)
    return ChainState.from_json(row.state if row else None)


async def _caught_up(system: System, code: str, events: int) -> ChainState:
    async def probe() -> ChainState | None:
        state = await _reporting_state(system, code)
        return state if len(state.links) >= events else None

    return await wait_for(probe, timeout_s=30, message=f"{events} events of {code}")


def _linked(
    state: ChainState, data: Any, code: str, agency: str | None
) -> dict[str, Any]:
    link = state.next_link()
    envelope = new_event(
        data, dossier_code=code, producer="routing", agency_code=agency
    ).model_copy(update={"chain": ChainLink(prev=list(link.prev), seq=link.seq)})
    obj = envelope.model_dump(mode="json")
    obj.pop("signature")
    return obj


def _signed(obj: dict[str, Any], signature: str) -> bytes:
    return json.dumps({**obj, "signature": signature}, ensure_ascii=False).encode()


def _produce(bodies: list[tuple[bytes, str]], code: str) -> None:
    """Write records as any Kafka client can (confluent-kafka, not our code)."""
    producer = Producer({"bootstrap.servers": _servers[0], "partitioner": "murmur2"})
    for body, event_id in bodies:
        event_type = json.loads(body)["event_type"]
        producer.produce(
            DOSSIER_EVENTS,
            value=body,
            key=code.encode(),
            headers=[
                (h.EVENT_ID, event_id.encode()),
                (h.EVENT_TYPE, event_type.encode()),
            ],
        )
    assert producer.flush(10) == 0


_servers: list[str] = []


async def _dead_letters(
    kafka: KafkaSettings, group: str, code: str, count: int
) -> dict[str, str]:
    """event id → dlt-reason of this dossier's records in a dead-letter topic."""
    found: dict[str, str] = {}
    consumer = AIOKafkaConsumer(
        dead_letter_topic(group),
        bootstrap_servers=kafka.bootstrap_servers,
        auto_offset_reset="earliest",
        group_id=None,
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while len(found) < count and asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    headers = {k: v.decode() for k, v in record.headers or ()}
                    if record.key == code.encode():
                        found[headers[h.EVENT_ID]] = headers[h.DLT_REASON]
    finally:
        await consumer.stop()
    return found


async def test_forged_records_change_nothing_and_are_dead_lettered_with_their_reason(
    system: System, kafka: KafkaSettings
) -> None:
    _servers[:] = [kafka.bootstrap_servers]
    code = await _receive_and_hand_to_stp(system)
    # received, routed, offered to the desk, acknowledged, completed, offered to STP
    state = await _caught_up(system, code, 6)
    assert state.custody.offered_to == STP
    keys = system.keys
    now = now_vn()
    forged: dict[str, tuple[bytes, str]] = {}

    # an insider with the police's key records a result: the police do not hold it
    result = _linked(
        state,
        ResultRecordedV1(resolved_at=now, timeliness=Timeliness.EARLY),
        code,
        POLICE,
    )
    body = _signed(result, keys.sign(POLICE, canonical_bytes(result), now))
    forged["not_holder"] = (body, result["event_id"])

    # the police acknowledge the hand-off offered to Sở Tư pháp
    ack = HandoffAcknowledgedV1(step_no=2, from_agency_code=DESK, to_agency_code=STP)
    wrong = _linked(state, ack, code, POLICE)
    body = _signed(wrong, keys.sign(POLICE, canonical_bytes(wrong), now))
    forged["wrong_agency"] = (body, wrong["event_id"])

    # Sở Tư pháp's act, signed with a key nobody published
    unknown = _linked(state, ack, code, STP)
    stranger = ECKey.import_key(ec.generate_private_key(ec.SECP256R1()))
    body = _signed(
        unknown,
        sign_detached(canonical_bytes(unknown), f"{STP}#forged", stranger),
    )
    forged["unknown_key"] = (body, unknown["event_id"])

    # an old event of this dossier, sent again under a new event id
    async with system.runtime("reporting").sessions() as session:
        history = await signed_history(session, code)
    old = history[3]  # the desk's acknowledgement of step 1
    forged["replayed"] = (old, str(uuid.uuid4()))

    # a valid act with one byte changed
    valid = _linked(state, ack, code, STP)
    valid_body = _signed(valid, keys.sign(STP, canonical_bytes(valid), now))
    changed = valid_body.replace(b'"step_no": 2', b'"step_no": 3')
    assert len(changed) == len(valid_body)
    assert changed != valid_body
    forged["byte_changed"] = (changed, valid["event_id"])

    _produce(list(forged.values()), code)
    expected = {
        forged["not_holder"][1]: "signer_not_entitled",
        forged["wrong_agency"][1]: "signer_not_entitled",
        forged["unknown_key"][1]: "signature_invalid",
        forged["replayed"][1]: "chain_broken",
        forged["byte_changed"][1]: "signature_invalid",
    }
    for group in (system.routing_group, "reporting"):
        letters = await _dead_letters(kafka, group, code, len(expected))
        assert {i: letters.get(i) for i in expected} == expected, group

    # nothing changed: routing still waits for Sở Tư pháp, reporting saw no act
    routed = await system.routing.get(
        f"/api/v1/dossiers/{code}", headers=bearer("*", Role.OPERATOR)
    )
    assert routed.json()["status"] == 4
    assert (await _reporting_state(system, code)).links == state.links
    timeline = await system.reporting.get(
        f"/api/v1/dossiers/{code}/timeline", headers=bearer("*", Role.OPERATOR)
    )
    ids = {e["event_id"] for e in timeline.json()["events"]}
    assert not ids & set(expected)

    # the genuine act, sent the same way, is applied
    genuine = _linked(state, ack, code, STP)
    body = _signed(genuine, keys.sign(STP, canonical_bytes(genuine), now))
    _produce([(body, genuine["event_id"])], code)
    held = await _caught_up(system, code, 7)
    assert held.custody.holder == STP


async def test_walkthrough_verifies_end_to_end_offline_and_after_rotation(
    system: System, kafka: KafkaSettings, strict_keys: FileKeystore
) -> None:
    code = await _receive_and_hand_to_stp(system, receipt=True)
    await assert_pdf_signed(system.receipt, strict_keys, DESK)
    await _act(system, code, "acknowledge", STP)
    # Sở Tư pháp's key is rotated in the middle of its work; the service picks
    # the new key up by itself (the old one stays valid a moment, then retires)
    [(old_kid, new_kid)] = strict_keys.rotate(
        [AgencyName(STP, "Sở Tư pháp")], grace=timedelta(seconds=0)
    )
    await asyncio.sleep(1.2)
    recorded = await system.routing.post(
        f"/api/v1/dossiers/{code}/result",
        headers=bearer(STP, Role.AGENCY_OFFICER),
        json={"summary": "Đã ký Phiếu lý lịch tư pháp"},
    )
    assert recorded.status_code == 200, recorded.text
    await _caught_up(system, code, 8)

    operator = bearer("*", Role.OPERATOR)
    answer = await system.reporting.get(
        f"/api/v1/dossiers/{code}/verification", headers=operator
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["intact"], report
    assert report["fully_signed"], report
    signers = [(e["event_type"], e["signer"]) for e in report["events"]]
    assert signers == [
        ("dossier.received", DESK),
        ("dossier.routed", DESK),
        ("dossier.handoff_offered", DESK),
        ("dossier.handoff_acknowledged", DESK),
        ("dossier.step_completed", DESK),
        ("dossier.handoff_offered", DESK),
        ("dossier.handoff_acknowledged", STP),
        ("dossier.result_recorded", STP),
    ]
    kids = [e["kid"] for e in report["events"]]
    assert kids[6] == old_kid
    assert kids[7] == new_kid
    stranger = await system.reporting.get(
        f"/api/v1/dossiers/{code}/verification",
        headers=bearer(POLICE, Role.AGENCY_OFFICER),
    )
    assert stranger.status_code == 403
    timeline = await system.reporting.get(
        f"/api/v1/dossiers/{code}/timeline", headers=operator
    )
    marks = {e["event_type"]: e["signing"] for e in timeline.json()["events"]}
    assert marks["dossier.received"] == "signed"

    sheet = await system.routing.get(
        f"/api/v1/dossiers/{code}/control-sheet.pdf", headers=operator
    )
    assert sheet.status_code == 200, sheet.text
    await assert_pdf_signed(sheet.content, strict_keys, DESK)

    # the bundle verifies with no system; any change is named
    runtime = system.runtime("reporting")
    checkpoint = await make_checkpoint(runtime.sessions, runtime.keys)
    assert checkpoint is not None
    async with runtime.sessions() as session:
        bodies = await signed_history(session, code)
    bundle = json.loads(
        json.dumps(
            make_bundle(
                code,
                bodies,
                runtime.keys.keyring(),
                exported_at=now_vn(),
                checkpoint=checkpoint,
            )
        )
    )
    assert verify_bundle(bundle, trusted=strict_keys.keyring()).intact
    bundle["events"][1]["data"]["competent_agency_code"] = POLICE
    assert not verify_bundle(bundle).intact

    # the operator's commands read the same databases
    env = {
        **os.environ,
        "MOTCUA_SIGNING_KEYSTORE": str(strict_keys.folder),
        "MOTCUA_REPORTING_DATABASE_URL": str(runtime.database_url),
        "MOTCUA_ROUTING_DATABASE_URL": str(system.runtime("routing").database_url),
        "COLUMNS": "200",
    }
    for source in ("reporting", "routing"):
        checked = await _motcua(env, "verify", "dossier", code, "--source", source)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "✓ intact" in checked.stdout
    exported = await _motcua(env, "verify", "export", code)
    assert exported.returncode == 0, exported.stderr
    assert verify_bundle(json.loads(exported.stdout)).checkpoint == "valid"
    sequence_ok = await _motcua(env, "verify", "checkpoints")
    assert sequence_ok.returncode == 0, sequence_ok.stdout

    # deleting the last event from reporting's database, or editing one of
    # routing's, is reported for the dossier and by the checkpoints
    digest = split_body(bodies[-1]).digest
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            sa.text("DELETE FROM reporting_timeline WHERE body LIKE :d"),
            {"d": f"%{json.loads(bodies[-1])['event_id']}%"},
        )
    report_after, _ = await verify_stored(runtime.sessions, runtime.keys, code)
    assert not report_after.intact
    assert any(digest[:16] in p for p in report_after.problems)

    routing = system.runtime("routing")
    async with routing.sessions() as session, session.begin():
        row = (
            await session.execute(
                sa.select(DossierEventRow)
                .where(DossierEventRow.dossier_code == code)  # type: ignore[arg-type]
                .where(DossierEventRow.event_type == "dossier.routed")  # type: ignore[arg-type]
            )
        ).scalar_one()
        row.envelope = row.envelope.replace(STP, POLICE)
    async with runtime.sessions() as session:
        sequence = await load_checkpoints(session)
        reporting_store = await all_digests(session)
    summary = cp.verify_sequence(sequence, runtime.keys.keyring())
    assert summary.intact, summary.problems
    assert any(
        digest[:16] in p
        for p in cp.compare_store(summary, "reporting", reporting_store)
    )
    async with routing.sessions() as session:
        rows = (
            await session.execute(
                sa.select(DossierEventRow.dossier_code, DossierEventRow.envelope)  # type: ignore[call-overload]
            )
        ).all()
    after = await _motcua(env, "verify", "checkpoints")
    assert after.returncode == 1
    assert f"reporting: dossier {code}: event {digest[:16]}" in after.stdout
    assert (
        f"routing: dossier {code}: #2 dossier.routed signature_invalid" in after.stdout
    )
    # the edited event is not a head (the checkpoint does not name it): the
    # chain check of routing's store does
    routed_rows = sorted(
        (e.encode() for c, e in rows if c == code),
        key=lambda b: json.loads(b)["chain"]["seq"],
    )
    routed_report = verify_history(code, routed_rows, runtime.keys.keyring())
    assert [
        e.status for e in routed_report.events if e.event_type == "dossier.routed"
    ] == ["signature_invalid"]


def _year_old_history(code: str, start: datetime) -> list[tuple[Any, str | None]]:
    """(payload, acting agency) of a dossier received a year ago at the desk,
    resolved by Sở Tư pháp and returned at the desk, in order."""
    from motcua.shared.contracts.common import Channel
    from motcua.shared.contracts.dossier import DossierReceivedV2, Person
    from motcua.shared.contracts.handoff import (
        DossierRoutedV1,
        HandoffOfferedV1,
        ResultDeliveredV1,
        RoutedStep,
        StepCompletedV1,
    )
    from motcua.shared.testing.helpers import sealed

    route = [DESK, STP, DESK]
    steps = [
        RoutedStep(step_no=n, role="r", agency_code=a, hours=8)
        for n, a in enumerate(route, start=1)
    ]
    acts: list[tuple[Any, str | None]] = [
        (
            DossierReceivedV2(
                procedure_code="2.000488",
                procedure_name="Cấp Phiếu lý lịch tư pháp",
                channel=Channel.DIRECT,
                receiving_agency_code=DESK,
                received_at=start,
                clock_started_at=start,
                due_at=start + timedelta(days=14),
                time_limit="10wd",
                personal_data=sealed(
                    code, Person(full_name="Nguyễn Thị Lan", id_number="001190012345")
                ),
            ),
            DESK,
        ),
        (DossierRoutedV1(competent_agency_code=STP, steps=steps), DESK),
        (HandoffOfferedV1(step_no=1, to_agency_code=DESK), None),
    ]
    for number, agency in enumerate(route, start=1):
        acts.append(
            (HandoffAcknowledgedV1(step_no=number, to_agency_code=agency), agency)
        )
        if number == 2:
            acts.append(
                (
                    ResultRecordedV1(
                        resolved_at=start + timedelta(days=3),
                        due_at=start + timedelta(days=14),
                        timeliness=Timeliness.EARLY,
                    ),
                    agency,
                )
            )
        if number < len(route):
            acts.append(
                (
                    StepCompletedV1(
                        step_no=number,
                        to_agency_code=agency,
                        next_agency_code=route[number],
                    ),
                    agency,
                )
            )
            acts.append(
                (
                    HandoffOfferedV1(
                        step_no=number + 1,
                        from_agency_code=agency,
                        to_agency_code=route[number],
                    ),
                    agency,
                )
            )
    acts.append(
        (ResultDeliveredV1(delivered_at=start + timedelta(days=4), method="desk"), DESK)
    )
    return acts


async def test_a_year_old_signed_dossier_is_rebuilt_as_it_was(
    sqlite_database_url: str,
    kafka: KafkaSettings,
    tmp_path: Path,
    strict_keys: FileKeystore,
    unique: str,
) -> None:
    from aiokafka import AIOKafkaProducer

    from motcua.reporting.rebuild import rebuild
    from motcua.shared.messaging.outbox import envelope_headers
    from motcua.shared.testing.signing import TestChains

    settings = ReportingSettings(
        database_url=sqlite_database_url,
        kafka=kafka,
        common=CommonSettings(data_dir=tmp_path, environment="test"),
        signing=SigningSettings(keystore=strict_keys.folder),
    )
    start = now_vn().replace(microsecond=0) - timedelta(days=366)
    code = f"{DESK}-{start:%y%m%d}-{random.randrange(5000, 9999)}"
    chains = TestChains(strict_keys.folder)
    events = []
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    await producer.start()
    try:
        for n, (data, agency) in enumerate(_year_old_history(code, start)):
            event = new_event(
                data,
                dossier_code=code,
                producer="routing",
                agency_code=agency,
                occurred_at=start + timedelta(minutes=n),
            )
            events.append(event)
            await producer.send_and_wait(
                DOSSIER_EVENTS,
                chains.body(event),
                key=code.encode(),
                headers=[(k, v.encode()) for k, v in envelope_headers(event).items()],
            )
    finally:
        await producer.stop()
    operator = bearer("*", Role.OPERATOR)
    month = {"period": "month", "year": start.year, "month": start.month}
    month["agency"] = STP

    async def read(client: httpx.AsyncClient) -> tuple[Any, Any, Any]:
        async def complete() -> Any:
            answer = await client.get(
                f"/api/v1/dossiers/{code}/timeline", headers=operator
            )
            body = answer.json()
            return body if len(body.get("events", ())) == len(events) else None

        timeline = await wait_for(complete, timeout_s=60, message="the history")
        report = (
            await client.get("/api/v1/reports/bieu-06", params=month, headers=operator)
        ).json()
        report.pop("generated_at")
        verification = (
            await client.get(f"/api/v1/dossiers/{code}/verification", headers=operator)
        ).json()
        verification.pop("checked_at")
        return timeline, report, verification

    async with running_app(create_reporting(settings)) as client:
        before = await read(client)
    timeline, report, verification = before
    assert verification["intact"], verification
    assert verification["fully_signed"]
    assert {e["signing"] for e in timeline["events"]} == {"signed"}
    assert report["total"]["resolved_early"] >= 1

    result = await rebuild(settings, batch_size=100)
    assert result.records >= len(events)
    async with running_app(create_reporting(settings)) as client:
        after = await read(client)
    assert after == before


async def test_legacy_history_is_sealed_by_the_province(system: System) -> None:
    """Imported history is accepted unsigned, shown as such, and sealed by
    ``motcua keys seal-legacy`` (here its function, on reporting's database)."""
    from aiokafka import AIOKafkaProducer

    from motcua.reporting.verification import seal_legacy
    from motcua.shared.messaging.outbox import envelope_headers
    from motcua.shared.signing.store import SIGNER

    start = now_vn().replace(microsecond=0) - timedelta(days=200)
    code = f"{DESK}-{start:%y%m%d}-{random.randrange(5000, 9999)}"
    events = [
        new_event(
            data,
            dossier_code=code,
            producer="intake",
            agency_code=agency,
            occurred_at=start + timedelta(minutes=n),
            imported=True,
        )
        for n, (data, agency) in enumerate(_year_old_history(code, start)[:4])
    ]
    runtime = system.runtime("reporting")
    producer = AIOKafkaProducer(
        bootstrap_servers=runtime.settings.kafka.bootstrap_servers
    )
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                DOSSIER_EVENTS,
                event.to_json(),
                key=code.encode(),
                headers=[(k, v.encode()) for k, v in envelope_headers(event).items()],
            )
    finally:
        await producer.stop()
    await _caught_up(system, code, len(events))
    operator = bearer("*", Role.OPERATOR)
    before = (
        await system.reporting.get(
            f"/api/v1/dossiers/{code}/verification", headers=operator
        )
    ).json()
    assert {e["status"] for e in before["events"]} == {"unsigned_legacy"}
    assert before["intact"]
    assert not before["fully_signed"]

    sessions = runtime.sessions
    with_keys = type(sessions)(
        sessions.kw["bind"], expire_on_commit=False, info={SIGNER: lambda: runtime.keys}
    )
    sealed = await seal_legacy(with_keys, code)
    assert sealed == [(code, len(events))]
    runtime.relay.wake()
    assert not (await _reporting_state(system, code)).unsealed

    async def sealed_back() -> dict[str, Any] | None:
        answer = await system.reporting.get(
            f"/api/v1/dossiers/{code}/verification", headers=operator
        )
        body: dict[str, Any] = answer.json()
        return body if len(body["events"]) > len(events) else None

    after = await wait_for(sealed_back, timeout_s=30, message="the seal, back")
    statuses = [e["status"] for e in after["events"]]
    assert statuses == ["sealed_legacy"] * len(events) + ["valid"]
    assert after["events"][-1]["signer"] == "000.00.00.H14"  # the province
    assert after["intact"]
    assert await seal_legacy(with_keys, code) == []  # nothing left to seal
