"""Checking one event, or a dossier's whole history, against the published
keys, the entitlement table and the chain (pure: no database, no broker).

The consumer core calls :func:`check_event` for every chained event before
its handler runs; ``motcua verify``, the verification endpoint and the offline
bundle check call :func:`verify_history` on a list of record bodies.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from motcua.shared.domain.entitlement import (
    CHAINED_EVENT_TYPES,
    expected_signer,
    fold,
)
from motcua.shared.signing.canonical import NotAnEventError, SignedBody, split_body
from motcua.shared.signing.chain import ChainState, Link
from motcua.shared.signing.jws import (
    SignatureError,
    header_of,
    public_key,
    verify_detached,
)
from motcua.shared.signing.keys import Keyring

SIGNATURE_INVALID = "signature_invalid"
SIGNER_NOT_ENTITLED = "signer_not_entitled"
CHAIN_BROKEN = "chain_broken"
REASONS = (SIGNATURE_INVALID, SIGNER_NOT_ENTITLED, CHAIN_BROKEN)
LEGACY_SEALED = "dossier.legacy_sealed"


@dataclass(frozen=True)
class Policy:
    """What a verifier accepts."""

    accept_unsigned_legacy: bool = True
    """Unsigned events are accepted (as legacy) if imported or older than the
    keyring's ``signing_since``, and only for dossiers with no signed event."""
    clock_tolerance: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one event."""

    digest: str
    reason: str | None = None
    """None: accepted; else one of :data:`REASONS`."""
    detail: str = ""
    state: ChainState | None = None
    """The dossier's chain state after the event (when accepted)."""
    kid: str | None = None
    signer: str | None = None
    legacy: bool = False
    chained: bool = True

    @property
    def ok(self) -> bool:
        return self.reason is None


def _occurred_at(envelope: Mapping[str, Any]) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(envelope.get("occurred_at")))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _data(envelope: Mapping[str, Any]) -> Mapping[str, Any]:
    data = envelope.get("data")
    return data if isinstance(data, Mapping) else {}


def is_chained(event_type: object) -> bool:
    return event_type in CHAINED_EVENT_TYPES


def check_event(
    body: SignedBody, state: ChainState, keyring: Keyring, policy: Policy
) -> Verdict:
    """Is this event's signature valid, its signer entitled, its link right?"""
    envelope = body.envelope
    event_type = envelope.get("event_type")
    if not is_chained(event_type):
        return Verdict(body.digest, chained=False, state=state)
    assert isinstance(event_type, str)
    occurred_at = _occurred_at(envelope)
    if occurred_at is None:
        return Verdict(body.digest, SIGNATURE_INVALID, "no valid occurred_at")
    data = _data(envelope)
    if body.signature is None:
        return _legacy(body, state, keyring, policy, occurred_at, event_type, data)
    try:
        kid = header_of(body.signature).get("kid")
    except SignatureError as exc:
        return Verdict(body.digest, SIGNATURE_INVALID, str(exc))
    key = keyring.find(str(kid)) if kid else None
    if key is None:
        return Verdict(body.digest, SIGNATURE_INVALID, f"unknown key {kid!r}", kid=kid)
    try:
        verify_detached(body.signature, body.canonical, public_key(key.jwk))
    except SignatureError as exc:
        return Verdict(body.digest, SIGNATURE_INVALID, str(exc), kid=key.kid)
    signer = key.agency_code
    found: dict[str, Any] = {"kid": key.kid, "signer": signer}
    if not key.valid_at(occurred_at, policy.clock_tolerance):
        return Verdict(
            body.digest,
            SIGNATURE_INVALID,
            f"key {key.kid} was not valid at {occurred_at.isoformat()}",
            **found,
        )
    chain = body.chain
    if chain is None:
        return Verdict(
            body.digest, CHAIN_BROKEN, "signed event without a chain link", **found
        )
    try:
        link = Link.of(chain)
    except ValueError as exc:
        return Verdict(body.digest, CHAIN_BROKEN, str(exc), **found)
    problem = state.problem(body.digest, link)
    if problem is not None:
        return Verdict(body.digest, CHAIN_BROKEN, problem, **found)
    expected = expected_signer(state.custody, event_type, data, keyring.province)
    acting = envelope.get("agency_code")
    if expected != signer or acting not in (None, signer):
        who = expected or "no agency (the act is not possible now)"
        return Verdict(
            body.digest,
            SIGNER_NOT_ENTITLED,
            f"{event_type} signed by {signer}; entitled: {who}",
            **found,
        )
    custody = fold(state.custody, event_type, data)
    after = state.appended(body.digest, link, signed=True, custody=custody)
    if event_type == LEGACY_SEALED:
        covered = data.get("legacy_events")
        after = after.sealed(covered if isinstance(covered, list) else ())
    return Verdict(body.digest, state=after, **found)


def _legacy(
    body: SignedBody,
    state: ChainState,
    keyring: Keyring,
    policy: Policy,
    occurred_at: datetime,
    event_type: str,
    data: Mapping[str, Any],
) -> Verdict:
    imported = envelope_imported(body.envelope)
    before = keyring.signing_since is None or occurred_at < keyring.signing_since
    if not policy.accept_unsigned_legacy:
        return Verdict(body.digest, SIGNATURE_INVALID, "unsigned event")
    if state.signed:
        return Verdict(
            body.digest,
            SIGNATURE_INVALID,
            "unsigned event for a dossier with signed history",
        )
    if not (imported or before):
        return Verdict(
            body.digest,
            SIGNATURE_INVALID,
            "unsigned event after signing began (only imported history may be unsigned)",
        )
    if body.digest in state.links:
        return Verdict(body.digest, CHAIN_BROKEN, "replay of an unsigned event")
    link = state.next_link()
    custody = fold(state.custody, event_type, data)
    return Verdict(
        body.digest,
        state=state.appended(body.digest, link, signed=False, custody=custody),
        legacy=True,
    )


def chain_sorted(bodies: Sequence[bytes]) -> list[bytes]:
    """A database keeps rows, not an order: its events in chain order (seq,
    then business time, then digest; unparseable bodies first)."""

    def key(raw: bytes) -> tuple[int, str, str]:
        try:
            body = split_body(raw)
        except NotAnEventError:
            return (0, "", "")
        seq = (body.chain or {}).get("seq")
        return (
            seq if isinstance(seq, int) else 0,
            str(body.envelope.get("occurred_at")),
            body.digest,
        )

    return sorted(bodies, key=key)


def envelope_imported(envelope: Mapping[str, Any]) -> bool:
    return envelope.get("imported") is True


# -- a whole history ------------------------------------------------------------------


@dataclass(frozen=True)
class EventReport:
    """One event of a history, as a verifier sees it."""

    position: int
    digest: str
    event_id: str | None
    event_type: str | None
    occurred_at: str | None
    seq: int | None
    kid: str | None
    signer: str | None
    status: str
    """``valid``, ``unsigned_legacy`` or one of :data:`REASONS`."""
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "occurred_at": self.occurred_at,
            "seq": self.seq,
            "digest": self.digest,
            "signer": self.signer,
            "kid": self.kid,
            "status": self.status,
            "detail": self.detail,
        }


@dataclass
class HistoryReport:
    dossier_code: str
    events: list[EventReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    heads: tuple[str, ...] = ()

    @property
    def intact(self) -> bool:
        return not self.problems and all(
            e.status in ("valid", "unsigned_legacy", "sealed_legacy")
            for e in self.events
        )

    @property
    def signed(self) -> bool:
        return self.intact and all(e.status == "valid" for e in self.events)

    def to_json(self) -> dict[str, Any]:
        return {
            "dossier_code": self.dossier_code,
            "intact": self.intact,
            "fully_signed": self.signed,
            "events": [e.to_json() for e in self.events],
            "problems": self.problems,
            "heads": list(self.heads),
        }


def verify_history(
    dossier_code: str,
    bodies: Sequence[bytes | str],
    keyring: Keyring,
    policy: Policy | None = None,
    *,
    expected_heads: Sequence[str] | None = None,
) -> HistoryReport:
    """Check every event of one dossier in the order given.

    Reports, per event, signer, key, signature and chain status; and names
    what is wrong with the whole: an event missing before another, two events
    out of order, an event of another dossier, heads a checkpoint recorded
    that are no longer there.
    """
    policy = policy or Policy()
    report = HistoryReport(dossier_code)
    parsed: list[SignedBody | None] = []
    for raw in bodies:
        try:
            parsed.append(split_body(raw))
        except NotAnEventError:
            parsed.append(None)
    digests = [p.digest for p in parsed if p is not None]
    position_of = {d: i for i, d in enumerate(digests, start=1)}
    state = ChainState()
    for position, body in enumerate(parsed, start=1):
        if body is None:
            report.events.append(
                EventReport(
                    position, "", None, None, None, None, None, None, "malformed"
                )
            )
            report.problems.append(f"#{position} is not a JSON event")
            continue
        envelope = body.envelope
        if envelope.get("dossier_code") != dossier_code:
            report.problems.append(
                f"#{position} belongs to dossier {envelope.get('dossier_code')!r}"
            )
        verdict = check_event(body, state, keyring, policy)
        if not verdict.chained:
            continue
        link = _link(body)
        status = "valid" if verdict.ok else str(verdict.reason)
        if verdict.ok and verdict.legacy:
            status = "unsigned_legacy"
        detail = verdict.detail
        if verdict.reason == CHAIN_BROKEN and link is not None:
            detail = _explain_chain(link, position, position_of, state) or detail
        report.events.append(
            EventReport(
                position=position,
                digest=body.digest,
                event_id=_text(envelope.get("event_id")),
                event_type=_text(envelope.get("event_type")),
                occurred_at=_text(envelope.get("occurred_at")),
                seq=link.seq if link else None,
                kid=verdict.kid,
                signer=verdict.signer,
                status=status,
                detail=detail,
            )
        )
        if verdict.state is not None:
            state = verdict.state
        elif body.digest not in state.links:
            # keep going as if it had been accepted, so that one bad event is
            # reported once and its successors are still checked
            custody = fold(
                state.custody, str(envelope.get("event_type")), _data(envelope)
            )
            state = state.appended(
                body.digest, link or state.next_link(), signed=True, custody=custody
            )
    _check_order(report)
    _mark_sealed(report, parsed)
    report.heads = state.heads
    if expected_heads:
        gone = [h for h in expected_heads if h not in state.links]
        for head in gone:
            report.problems.append(
                f"event {head[:16]}… recorded by a checkpoint is missing "
                "(deleted or edited)"
            )
    return report


def _mark_sealed(report: HistoryReport, parsed: Sequence[SignedBody | None]) -> None:
    """Legacy events a valid province seal covers are ``sealed_legacy``."""
    bodies = {p.digest: p for p in parsed if p is not None}
    covered: set[str] = set()
    for event in report.events:
        if event.event_type == LEGACY_SEALED and event.status == "valid":
            listed = _data(bodies[event.digest].envelope).get("legacy_events")
            covered.update(listed if isinstance(listed, list) else ())
    present = {e.digest for e in report.events}
    report.problems.extend(
        f"legacy event {d[:16]}… sealed by the province is missing or was edited"
        for d in sorted(covered - present)
    )
    report.events = [
        replace(e, status="sealed_legacy")
        if e.status == "unsigned_legacy" and e.digest in covered
        else e
        for e in report.events
    ]


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _link(body: SignedBody) -> Link | None:
    if body.chain is None:
        return None
    try:
        return Link.of(body.chain)
    except ValueError:
        return None


def _explain_chain(
    link: Link, position: int, position_of: Mapping[str, int], state: ChainState
) -> str | None:
    for prev in link.prev:
        if prev in state.links:
            continue
        later = position_of.get(prev)
        if later is not None and later > position:
            return f"out of order: follows #{later}, which comes after it"
        return (
            f"an event is missing before #{position}: it follows "
            f"{prev[:16]}…, which is not in this history (removed or edited)"
        )
    return None


def _check_order(report: HistoryReport) -> None:
    """Concurrent events (same seq) must appear in canonical order too."""
    chained = [e for e in report.events if e.seq is not None]
    for before, after in itertools.pairwise(chained):
        key_before = (before.seq or 0, before.occurred_at or "", before.digest)
        key_after = (after.seq or 0, after.occurred_at or "", after.digest)
        if key_after < key_before:
            report.problems.append(
                f"#{before.position} and #{after.position} are out of chain order"
            )
