"""Signed, chained dossier history: keys, signatures, entitlement, the chain,
offline bundles and checkpoints (pure: no broker, no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from signing_support import CODE, DESK, POLICE, STP, Writer, reception, walkthrough

from motcua.shared.contracts import new_event
from motcua.shared.contracts.handoff import (
    DossierRoutedV1,
    HandoffAcknowledgedV1,
    ResultRecordedV1,
    Timeliness,
)
from motcua.shared.domain.agencies import load_registry
from motcua.shared.signing import checkpoints as cp
from motcua.shared.signing.bundle import BundleError, make_bundle, verify_bundle
from motcua.shared.signing.canonical import canonical_bytes, split_body
from motcua.shared.signing.chain import ChainState
from motcua.shared.signing.jws import sign_detached
from motcua.shared.signing.keys import Keyring
from motcua.shared.signing.keystore import (
    AgencyName,
    FileKeystore,
    KeyMaterial,
    province_of,
    registry_agencies,
)
from motcua.shared.signing.producer import NotEntitledError, seal
from motcua.shared.signing.verifier import (
    CHAIN_BROKEN,
    SIGNATURE_INVALID,
    SIGNER_NOT_ENTITLED,
    Policy,
    check_event,
    verify_history,
)

START = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> FileKeystore:
    registry = load_registry()
    folder = tmp_path_factory.mktemp("signing") / "keys"
    keystore = FileKeystore(folder)
    keystore.init(
        registry_agencies(registry),
        province=province_of(registry),
        valid_from=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return keystore


@pytest.fixture
def keys(store: FileKeystore) -> KeyMaterial:
    return KeyMaterial(store)


def consume(bodies: list[bytes], ring: Keyring) -> ChainState:
    state = ChainState()
    for body in bodies:
        verdict = check_event(split_body(body), state, ring, Policy())
        assert verdict.ok, verdict
        assert verdict.state is not None
        state = verdict.state
    return state


# -- canonical bytes ---------------------------------------------------------------------


def test_canonical_bytes_follow_rfc_8785_and_leave_the_signature_out() -> None:
    obj = {"b": 8.0, "a": "ệ", "c": [1e21, 0.00001], "signature": "x"}
    assert canonical_bytes(obj) == '{"a":"ệ","b":8,"c":[1e+21,0.00001]}'.encode()


# -- keystore ----------------------------------------------------------------------------


def test_keystore_has_a_key_per_agency_and_publishes_only_public_parts(
    store: FileKeystore,
) -> None:
    ring = store.keyring()
    registry = load_registry()
    assert {k.agency_code for k in ring} == {a.code for a in registry}
    assert ring.province == "000.00.00.H14"
    text = store.jwks_path.read_text()
    assert '"d"' not in text  # no private key material in the JWKS
    jwk = json.loads(text)["keys"][0]
    assert jwk["alg"] == "ES256"
    assert jwk["x5c"]
    assert jwk["valid_until"] is None
    private = next((store.folder / "private").glob("000.00.05.H14*.pem"))
    assert private.stat().st_mode & 0o777 == 0o600


def test_init_keeps_an_existing_keystore(store: FileKeystore) -> None:
    before = store.jwks_path.read_text()
    assert not store.init(registry_agencies(load_registry()), province="x")
    assert store.jwks_path.read_text() == before


def test_rotation_keeps_old_signatures_verifiable(tmp_path: Path) -> None:
    registry = load_registry()
    keystore = FileKeystore(tmp_path / "keys")
    keystore.init(
        registry_agencies(registry),
        province=province_of(registry),
        valid_from=datetime(2026, 1, 1, tzinfo=UTC),
    )
    keys = KeyMaterial(keystore, check_every_s=0)
    writer = Writer(keys)
    writer.add(reception(START, writer.code), DESK, START)
    old_kid = keys.keyring().current(DESK, START)
    assert old_kid is not None
    rotated_at = START + timedelta(hours=1)
    [(old, new)] = keystore.rotate(
        [AgencyName(DESK, "desk")], now=rotated_at, grace=timedelta(minutes=5)
    )
    assert old == old_kid.kid
    later = START + timedelta(hours=2)
    writer.add(DossierRoutedV1(competent_agency_code=STP, steps=[]), DESK, later)
    ring = keys.keyring()
    assert json.loads(writer.bodies[1])["signature"]  # signed with the new key
    report = verify_history(CODE, writer.bodies, ring)
    assert report.intact, report.to_json()
    assert [e.kid for e in report.events] == [old, new]
    # an event dated after the old key's grace period, signed with it, is refused
    stale = Writer(keys, state=consume(writer.bodies[:1], ring))
    envelope = stale.event(
        DossierRoutedV1(competent_agency_code=STP, steps=[]), DESK, later
    )
    linked = seal(envelope, stale.state, keys)
    obj = json.loads(linked.body)
    obj.pop("signature")
    # the old private key is still on disk during its grace period
    forged = dict(
        obj,
        signature=sign_detached(canonical_bytes(obj), old, keystore.private_key(old)),
    )
    verdict = check_event(
        split_body(json.dumps(forged).encode()), stale.state, ring, Policy()
    )
    assert verdict.reason == SIGNATURE_INVALID
    assert "not valid at" in verdict.detail


# -- one event ---------------------------------------------------------------------------


def test_a_signed_history_is_accepted_event_by_event(keys: KeyMaterial) -> None:
    writer = walkthrough(Writer(keys), START)
    state = consume(writer.bodies, keys.keyring())
    assert state.signed == len(writer.bodies)
    assert state.legacy == 0
    assert state.custody.holder == STP
    assert len(state.heads) == 1


def _forge(keys: KeyMaterial, writer: Writer, data, agency, signer: str, at):  # type: ignore[no-untyped-def]
    """An event linked correctly but signed with ``signer``'s key."""
    envelope = writer.event(data, agency, at)
    link = writer.state.next_link()
    from motcua.shared.contracts import ChainLink

    obj = envelope.model_copy(
        update={"chain": ChainLink(prev=list(link.prev), seq=link.seq)}
    ).model_dump(mode="json")
    obj.pop("signature")
    signature = keys.sign(signer, canonical_bytes(obj), at)
    return json.dumps({**obj, "signature": signature}).encode()


def test_a_result_recorded_by_an_agency_that_does_not_hold_the_dossier_is_refused(
    keys: KeyMaterial,
) -> None:
    writer = walkthrough(Writer(keys), START)
    body = _forge(
        keys,
        writer,
        ResultRecordedV1(resolved_at=START, timeliness=Timeliness.EARLY),
        POLICE,
        POLICE,
        START + timedelta(hours=1),
    )
    verdict = check_event(split_body(body), writer.state, keys.keyring(), Policy())
    assert verdict.reason == SIGNER_NOT_ENTITLED
    assert f"signed by {POLICE}; entitled: {STP}" in verdict.detail


def test_a_hand_off_acknowledged_by_the_wrong_agency_is_refused(
    keys: KeyMaterial,
) -> None:
    writer = walkthrough(Writer(keys), START)
    writer.bodies, state = writer.bodies[:6], consume(writer.bodies[:6], keys.keyring())
    writer.state = state  # offered to STP, not yet acknowledged
    body = _forge(
        keys,
        writer,
        HandoffAcknowledgedV1(step_no=2, from_agency_code=DESK, to_agency_code=STP),
        POLICE,
        POLICE,
        START + timedelta(hours=1),
    )
    verdict = check_event(split_body(body), state, keys.keyring(), Policy())
    assert verdict.reason == SIGNER_NOT_ENTITLED


def test_the_producer_refuses_to_sign_an_act_nobody_is_entitled_to(
    keys: KeyMaterial,
) -> None:
    writer = Writer(keys)
    writer.add(reception(START, writer.code), DESK, START)
    with pytest.raises(NotEntitledError):
        writer.add(HandoffAcknowledgedV1(step_no=1, to_agency_code=DESK), DESK, START)


def test_unknown_key_changed_byte_replay_and_gaps_are_refused(
    keys: KeyMaterial,
) -> None:
    writer = walkthrough(Writer(keys), START)
    ring = keys.keyring()
    before_last = consume(writer.bodies[:-1], ring)
    last = writer.bodies[-1]

    changed = last.replace(b'"timeliness":"early"', b'"timeliness":"late"')
    assert changed != last
    verdict = check_event(split_body(changed), before_last, ring, Policy())
    assert verdict.reason == SIGNATURE_INVALID

    obj = json.loads(last)
    _header, _, sig = obj["signature"].partition("..")
    import base64

    bad_header = (
        base64.urlsafe_b64encode(
            json.dumps({"alg": "ES256", "kid": "000.00.20.H14#nope"}).encode()
        )
        .rstrip(b"=")
        .decode()
    )
    unknown = json.dumps({**obj, "signature": f"{bad_header}..{sig}"}).encode()
    verdict = check_event(split_body(unknown), before_last, ring, Policy())
    assert verdict.reason == SIGNATURE_INVALID
    assert "unknown key" in verdict.detail

    everything = consume(writer.bodies, ring)
    replay = writer.bodies[3]
    verdict = check_event(split_body(replay), everything, ring, Policy())
    assert verdict.reason == CHAIN_BROKEN
    assert "replay" in verdict.detail

    gap = consume(writer.bodies[:5], ring)  # the 6th never arrived
    verdict = check_event(split_body(writer.bodies[6]), gap, ring, Policy())
    assert verdict.reason == CHAIN_BROKEN
    assert "never seen" in verdict.detail


def test_unsigned_events_are_legacy_only_when_imported_or_before_signing(
    keys: KeyMaterial,
) -> None:
    ring = keys.keyring()
    assert ring.signing_since == datetime(2026, 1, 1, tzinfo=UTC)

    def body(at: datetime, *, imported: bool) -> bytes:
        return new_event(
            reception(at),
            dossier_code=CODE,
            producer="intake",
            agency_code=DESK,
            occurred_at=at,
            imported=imported,
        ).to_json()

    old = check_event(
        split_body(body(datetime(2025, 6, 1, tzinfo=UTC), imported=False)),
        ChainState(),
        ring,
        Policy(),
    )
    assert old.ok
    assert old.legacy
    imported = check_event(
        split_body(body(START, imported=True)), ChainState(), ring, Policy()
    )
    assert imported.ok
    assert imported.legacy
    live = check_event(
        split_body(body(START, imported=False)), ChainState(), ring, Policy()
    )
    assert live.reason == SIGNATURE_INVALID
    assert "unsigned" in live.detail
    strict = check_event(
        split_body(body(START, imported=True)),
        ChainState(),
        ring,
        Policy(accept_unsigned_legacy=False),
    )
    assert strict.reason == SIGNATURE_INVALID
    signed = consume(walkthrough(Writer(keys), START).bodies[:1], ring)
    onto_signed = check_event(
        split_body(body(START, imported=True)), signed, ring, Policy()
    )
    assert onto_signed.reason == SIGNATURE_INVALID


def test_concurrent_acts_fork_and_the_next_act_joins_them(keys: KeyMaterial) -> None:
    ring = keys.keyring()
    writer = walkthrough(Writer(keys), START)
    shared = writer.state
    # routing records the result while intake, not having seen it, withdraws
    from motcua.shared.contracts.dossier import DossierWithdrawnV1

    intake = Writer(keys, state=consume(writer.bodies[:-1], ring))
    withdrawal = intake.add(
        DossierWithdrawnV1(reason="rút"), DESK, START + timedelta(minutes=6)
    )
    state = check_event(split_body(withdrawal), shared, ring, Policy())
    assert state.ok
    assert state.state is not None
    assert len(state.state.heads) == 2
    assert state.state.next_link().prev == tuple(sorted(state.state.heads))


# -- a whole history ---------------------------------------------------------------------


def test_history_names_an_edited_removed_or_moved_event(keys: KeyMaterial) -> None:
    writer = walkthrough(Writer(keys), START)
    ring = keys.keyring()
    assert verify_history(CODE, writer.bodies, ring).intact

    edited = list(writer.bodies)
    edited[3] = edited[3].replace(b'"step_no":1', b'"step_no":4')
    report = verify_history(CODE, edited, ring)
    assert not report.intact
    assert report.events[3].status == SIGNATURE_INVALID
    assert "missing before #5" in report.events[4].detail

    removed = writer.bodies[:4] + writer.bodies[5:]
    report = verify_history(CODE, removed, ring)
    assert [e.status for e in report.events].count(CHAIN_BROKEN) == 1
    assert "missing before #5" in report.events[4].detail

    moved = list(writer.bodies)
    moved[4], moved[5] = moved[5], moved[4]
    report = verify_history(CODE, moved, ring)
    assert "out of order" in report.events[4].detail
    assert any("out of chain order" in p for p in report.problems)

    report = verify_history(
        CODE, writer.bodies[:-1], ring, expected_heads=writer.state.heads
    )
    assert any("recorded by a checkpoint is missing" in p for p in report.problems)


# -- bundles -----------------------------------------------------------------------------


def test_a_bundle_verifies_offline_and_detects_any_change(keys: KeyMaterial) -> None:
    writer = walkthrough(Writer(keys), START)
    ring = keys.keyring()
    checkpoint = cp.build(1, None, START, {CODE: writer.state.heads, "other": ["ab"]})
    checkpoint["signature"] = keys.sign(
        ring.province, cp.signed_bytes(checkpoint), START
    )
    bundle = make_bundle(
        CODE, writer.bodies, ring, exported_at=START, checkpoint=checkpoint
    )
    text = json.dumps(bundle)
    fresh = json.loads(text)
    report = verify_bundle(fresh)
    assert report.intact, report.to_json()
    assert report.checkpoint == "valid"
    assert verify_bundle(fresh, trusted=ring).intact
    assert len(fresh["jwks"]["keys"]) == 3  # desk, Sở Tư pháp, the province

    edited = json.loads(text)
    edited["events"][2]["data"]["to_agency_code"] = POLICE
    assert not verify_bundle(edited).intact

    removed = json.loads(text)
    del removed["events"][-1]  # the last event: only the checkpoint knows it
    report = verify_bundle(removed)
    assert not report.intact
    assert any(
        "recorded by a checkpoint is missing" in p for p in report.history.problems
    )

    swapped = json.loads(text)
    swapped["events"][1], swapped["events"][2] = (
        swapped["events"][2],
        swapped["events"][1],
    )
    assert not verify_bundle(swapped).intact

    other_key = json.loads(text)
    first_key = other_key["jwks"]["keys"][0]
    first_key["x"] = "AAAA" + first_key["x"][4:]
    assert not verify_bundle(other_key).intact

    with pytest.raises(BundleError):
        verify_bundle({"format": "x"})


# -- checkpoints -------------------------------------------------------------------------


def test_checkpoints_chain_and_detect_deleted_history(keys: KeyMaterial) -> None:
    ring = keys.keyring()
    writer = walkthrough(Writer(keys), START)
    heads1 = {CODE: writer.state.heads, "000.01.31.H14-261206-0002": ("aa", "bb")}
    first = cp.build(1, None, START, heads1)
    first["signature"] = keys.sign(ring.province, cp.signed_bytes(first), START)
    second = cp.build(2, cp.checkpoint_digest(first), START, {"x": ("cc",)})
    second["signature"] = keys.sign(ring.province, cp.signed_bytes(second), START)
    report = cp.verify_sequence([first, second], ring)
    assert report.intact, report.problems

    digests = {split_body(b).digest for b in writer.bodies}
    store = {CODE: digests, "000.01.31.H14-261206-0002": {"aa", "bb"}, "x": {"cc"}}
    assert cp.compare_store(report, "reporting", store) == []
    without_last = {**store, CODE: digests - set(writer.state.heads)}
    assert (
        "recorded by a checkpoint is missing"
        in cp.compare_store(report, "reporting", without_last)[0]
    )
    no_dossier = {k: v for k, v in store.items() if k != "x"}
    assert cp.compare_store(report, "routing", no_dossier) == [
        "routing: dossier x is missing"
    ]

    assert not cp.verify_sequence([second], ring).intact  # the first was removed
    tampered = dict(second, leaves=[{"dossier": "x", "heads": ["dd"]}])
    assert not cp.verify_sequence([first, tampered], ring).intact
    by_desk = dict(first)
    by_desk["signature"] = keys.sign(DESK, cp.signed_bytes(first), START)
    assert any(
        "not the province" in p for p in cp.verify_sequence([by_desk], ring).problems
    )


def test_a_province_seal_vouches_for_legacy_events(keys: KeyMaterial) -> None:
    from motcua.shared.contracts.dossier import DossierLegacySealedV1

    ring = keys.keyring()
    old = datetime(2025, 5, 1, 8, tzinfo=UTC)
    legacy = [
        new_event(
            reception(old),
            dossier_code=CODE,
            producer="intake",
            agency_code=DESK,
            occurred_at=old,
            imported=True,
        ).to_json()
    ]
    state = consume(legacy, ring)
    assert state.unsealed == set(state.links)
    writer = Writer(keys, state=state)
    writer.add(
        DossierLegacySealedV1(legacy_events=sorted(state.unsealed)),
        ring.province,
        START,
    )
    assert not writer.state.unsealed
    history = [*legacy, *writer.bodies]
    report = verify_history(CODE, history, ring)
    assert report.intact, report.to_json()
    assert [e.status for e in report.events] == ["sealed_legacy", "valid"]
    assert not report.signed  # sealed, still not signed by the agency that acted

    changed = legacy[0].replace(b'"2.000488"', b'"2.000489"')
    assert changed != legacy[0]
    edited = [changed, *writer.bodies]
    report = verify_history(CODE, edited, ring)
    assert not report.intact
    assert report.events[1].status == CHAIN_BROKEN  # the seal follows the original
    assert "missing before #2" in report.events[1].detail


def test_a_flat_keystore_folder_signs_too(store: FileKeystore, tmp_path: Path) -> None:
    """A Kubernetes Secret volume has no subfolders: private keys beside the JWKS."""
    import shutil

    flat = tmp_path / "flat"
    flat.mkdir()
    shutil.copy(store.jwks_path, flat / "jwks.json")
    for key in (store.folder / "private").glob("000.01.31.H14*.pem"):
        shutil.copy(key, flat / key.name)
    writer = Writer(KeyMaterial(FileKeystore(flat)))
    writer.add(reception(START), DESK, START)
    assert verify_history(CODE, writer.bodies, store.keyring()).intact
