"""Signing an event as its producer appends it to the dossier's chain.

:func:`seal` links the envelope to the heads of the dossier's chain (as the
producing service knows them), signs its canonical bytes with the key of the
agency the entitlement table names, and returns the record body with the
dossier's next chain state. Events outside the chained set pass unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from motcua.shared.contracts.envelope import ChainLink, EventEnvelope
from motcua.shared.domain.entitlement import CHAINED_EVENT_TYPES, expected_signer, fold
from motcua.shared.signing.canonical import canonical_bytes, digest_of, signed_body
from motcua.shared.signing.chain import ChainState
from motcua.shared.signing.keys import Keyring


class Signs(Protocol):
    """A source of signatures (the keystore, or a PKCS#11 token)."""

    def keyring(self) -> Keyring: ...

    def sign(self, agency_code: str, canonical: bytes, at: Any) -> str: ...


class NotEntitledError(RuntimeError):
    """The producer is about to emit an act the entitlement table gives to
    nobody (or to another agency than the envelope names): a bug, never sent."""


@dataclass(frozen=True)
class Sealed:
    body: bytes
    digest: str | None
    state: ChainState
    envelope: EventEnvelope[Any]


def seal(envelope: EventEnvelope[Any], state: ChainState, signer: Signs) -> Sealed:
    if envelope.event_type not in CHAINED_EVENT_TYPES or envelope.imported:
        # imported history is unsigned legacy (ADR 0012): nobody can sign
        # for what a legacy system recorded
        return Sealed(envelope.to_json(), None, state, envelope)
    link = state.next_link()
    linked = envelope.model_copy(
        update={
            "chain": ChainLink(prev=list(link.prev), seq=link.seq),
            "signature": None,
        }
    )
    obj = linked.model_dump(mode="json")
    obj.pop("signature", None)
    ring = signer.keyring()
    agency = expected_signer(
        state.custody, envelope.event_type, obj["data"], ring.province
    )
    if agency is None or envelope.agency_code not in (None, agency):
        msg = (
            f"{envelope.event_type} of {envelope.dossier_code} acted by "
            f"{envelope.agency_code}: entitled signer is {agency}"
        )
        raise NotEntitledError(msg)
    canonical = canonical_bytes(obj)
    digest = digest_of(canonical)
    signature = signer.sign(agency, canonical, envelope.occurred_at)
    custody = fold(state.custody, envelope.event_type, obj["data"])
    after = state.appended(digest, link, signed=True, custody=custody, own=True)
    if envelope.event_type == "dossier.legacy_sealed":
        after = after.sealed(obj["data"].get("legacy_events") or ())
    return Sealed(
        body=signed_body(canonical, signature),
        digest=digest,
        state=after,
        envelope=linked.model_copy(update={"signature": signature}),
    )
