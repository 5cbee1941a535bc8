"""Signing events the way their producers would, for tests that publish a
dossier's events themselves (as intake or routing would).

:class:`TestChains` keeps, per dossier, the bodies the test published and
links each new event after them (and after ``known`` bodies the test names,
e.g. the service's own events read from its outbox), signing with the key the
entitlement table names, from the session's keystore
(``MOTCUA_SIGNING_KEYSTORE``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from motcua.shared.contracts import EventEnvelope
from motcua.shared.domain.entitlement import fold
from motcua.shared.signing.canonical import split_body
from motcua.shared.signing.chain import ChainState, Link
from motcua.shared.signing.keystore import FileKeystore, KeyMaterial
from motcua.shared.signing.producer import seal


def chain_of(bodies: Iterable[bytes]) -> ChainState:
    """The chain state after ``bodies`` (in chain order), trusted as given."""
    parsed = [split_body(b) for b in bodies]
    parsed.sort(key=lambda p: (p.chain or {}).get("seq", 0))
    state = ChainState()
    for body in parsed:
        if body.digest in state.links or body.envelope.get("event_type") is None:
            continue
        link = Link.of(body.chain) if body.chain else state.next_link()
        data = body.envelope.get("data") or {}
        custody = fold(state.custody, str(body.envelope["event_type"]), data)
        state = state.appended(
            body.digest, link, signed=body.signature is not None, custody=custody
        )
    return state


class TestChains:
    def __init__(self, folder: Path | None = None) -> None:
        folder = folder or Path(os.environ["MOTCUA_SIGNING_KEYSTORE"])
        self.keys = KeyMaterial(FileKeystore(folder))
        self._published: dict[str, list[bytes]] = {}

    def body(
        self, envelope: EventEnvelope[Any], *, known: Iterable[bytes] = ()
    ) -> bytes:
        """The record body of ``envelope``, signed and linked when it is an act
        of the dossier's history (imported history stays unsigned)."""
        mine = self._published.setdefault(envelope.dossier_code, [])
        state = chain_of([*known, *mine])
        sealed = seal(envelope, state, self.keys)
        if sealed.digest is not None:
            mine.append(sealed.body)
        return sealed.body


_CHAINS: TestChains | None = None


def test_chains() -> TestChains:
    """One per test session (its keystore is the session's)."""
    global _CHAINS
    folder = Path(os.environ["MOTCUA_SIGNING_KEYSTORE"])
    if _CHAINS is None or _CHAINS.keys.store.folder != folder:
        _CHAINS = TestChains(folder)
    return _CHAINS


def use_legacy_keystore() -> Path:
    """For benchmarks of one service that publish a dossier's history
    themselves, unsigned: a keystore whose ``signing_since`` lies in the future
    (their events pass as unsigned legacy; the service still signs what it
    produces), named by ``MOTCUA_SIGNING_KEYSTORE`` for this process and its
    children. ``bench/signing_bench.py`` measures signing and checking."""
    import tempfile
    from datetime import UTC, datetime

    from motcua.shared.domain.agencies import load_registry
    from motcua.shared.signing.keystore import province_of, registry_agencies

    registry = load_registry()
    store = FileKeystore(Path(tempfile.mkdtemp(prefix="bench-keys-")) / "keys")
    store.init(
        registry_agencies(registry),
        province=province_of(registry),
        valid_from=datetime(2000, 1, 1, tzinfo=UTC),
        signing_since=datetime(2100, 1, 1, tzinfo=UTC),
    )
    os.environ["MOTCUA_SIGNING_KEYSTORE"] = str(store.folder)
    return store.folder
