"""The check every consumer runs on every chained event before its handler
(ADR 0012): signature, chain link, entitlement. A failure raises
:class:`~motcua.shared.messaging.refusal.EventRefused` with
``signature_invalid``, ``chain_broken`` or ``signer_not_entitled``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from motcua.shared.messaging.refusal import EventRefused
from motcua.shared.settings import SigningSettings
from motcua.shared.signing.canonical import SignedBody, canonical_bytes, digest_of
from motcua.shared.signing.jws import (
    SignatureError,
    header_of,
    public_key,
    verify_detached,
)
from motcua.shared.signing.keystore import KeyMaterial
from motcua.shared.signing.store import open_chain, update_chain
from motcua.shared.signing.verifier import (
    CHAIN_BROKEN,
    SIGNATURE_INVALID,
    Policy,
    Verdict,
    check_event,
    is_chained,
)


@dataclass(frozen=True)
class Checked:
    """What the guard found (handlers that keep the evidence read it)."""

    digest: str
    seq: int | None
    signing: str
    """``signed``, ``unsigned_legacy`` or ``own`` (this service signed it)."""
    signer: str | None


class ChainGuard:
    def __init__(
        self, keys: Callable[[], KeyMaterial], settings: SigningSettings
    ) -> None:
        self._keys = keys
        self.policy = Policy(
            accept_unsigned_legacy=settings.accept_unsigned_legacy,
            clock_tolerance=timedelta(seconds=settings.clock_tolerance_s),
        )

    @staticmethod
    def wants(event_type: str | None) -> bool:
        return is_chained(event_type)

    async def check(
        self,
        session: AsyncSession,
        obj: Mapping[str, Any],
        header_event_id: str | None,
        *,
        replay: bool = False,
    ) -> Checked | None:
        """None for an event outside the chain; else what was verified.

        ``replay``: an operator re-published a record this consumer
        dead-lettered. If the record is linked already (the guard accepted it,
        then the handler refused it: the link stays, see the consumer core),
        only its signature is checked again."""
        event_type = obj.get("event_type")
        if not is_chained(event_type):
            return None
        code = str(obj.get("dossier_code"))
        canonical = canonical_bytes(obj)
        digest = digest_of(canonical)
        state = await open_chain(session, code)
        link = obj.get("chain")
        seq = link.get("seq") if isinstance(link, Mapping) else None
        if digest in state.own:
            update_chain(session, code, state.confirmed(digest))
            return Checked(digest, seq, "own", None)
        if digest in state.links and replay:
            if header_event_id != str(obj.get("event_id")):
                raise EventRefused(
                    SIGNATURE_INVALID,
                    "the event-id header differs from the signed event id",
                )
            return self._linked_before(obj, canonical, digest, state.links[digest])
        if digest in state.links:  # an exact copy under a new event-id header
            raise EventRefused(
                CHAIN_BROKEN, f"replay: event {digest[:16]}… is already in the chain"
            )
        if header_event_id is not None and header_event_id != str(obj.get("event_id")):
            raise EventRefused(
                SIGNATURE_INVALID,
                "the event-id header differs from the signed event id",
            )
        signature = obj.get("signature")
        body = SignedBody(
            envelope=dict(obj),
            canonical=canonical,
            digest=digest,
            signature=signature if isinstance(signature, str) else None,
        )
        keys = self._keys()
        verdict = check_event(body, state, keys.keyring(), self.policy)
        if verdict.reason == SIGNATURE_INVALID and verdict.detail.startswith(
            "unknown key"
        ):
            verdict = check_event(body, state, keys.refresh(), self.policy)
        return self._outcome(session, code, verdict, seq)

    def _linked_before(
        self, obj: Mapping[str, Any], canonical: bytes, digest: str, seq: int
    ) -> Checked:
        signature = obj.get("signature")
        if not isinstance(signature, str):  # legacy: its content is what was linked
            return Checked(digest, seq, "unsigned_legacy", None)
        try:
            kid = str(header_of(signature).get("kid"))
            keys = self._keys()
            key = keys.keyring().find(kid) or keys.refresh().find(kid)
            if key is None:
                raise SignatureError(f"unknown key {kid!r}")
            verify_detached(signature, canonical, public_key(key.jwk))
        except SignatureError as exc:
            raise EventRefused(SIGNATURE_INVALID, f"replay: {exc}") from None
        return Checked(digest, seq, "signed", key.agency_code)

    @staticmethod
    def _outcome(
        session: AsyncSession, code: str, verdict: Verdict, seq: int | None
    ) -> Checked:
        if verdict.reason is not None:
            raise EventRefused(verdict.reason, verdict.detail)
        assert verdict.state is not None
        update_chain(session, code, verdict.state)
        if verdict.legacy:
            seq = verdict.state.links.get(verdict.digest)
        return Checked(
            verdict.digest,
            seq,
            "unsigned_legacy" if verdict.legacy else "signed",
            verdict.signer,
        )
