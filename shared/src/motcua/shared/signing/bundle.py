"""The offline verification bundle of one dossier (pure).

``motcua verify export CODE > bundle.json`` writes everything needed to check
a dossier's history with no running system and no database::

    {"format": "motcua.dossier-bundle/1", "dossier_code": "…",
     "events": [<each record body, signature included, in chain order>],
     "jwks": {<the keys that signed them, and the province's>},
     "checkpoint": {<a signed checkpoint covering the dossier>,
                    "inclusion": {"index", "heads", "proof"}}  (when one exists)}

``motcua verify bundle bundle.json`` checks each signature against the keys,
the entitlement of each signer, the chain (an event removed, edited or moved
is named), and the checkpoint's signature and inclusion proof. The keys in a
bundle are only as trustworthy as their source: pass ``--jwks`` with the
province's published JWKS to check them against it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from motcua.shared.signing import checkpoints as cp
from motcua.shared.signing.jws import SignatureError, header_of
from motcua.shared.signing.keys import Keyring
from motcua.shared.signing.verifier import HistoryReport, Policy, verify_history

FORMAT = "motcua.dossier-bundle/1"


class BundleError(ValueError):
    """Not a bundle this version can read."""


def make_bundle(
    dossier_code: str,
    bodies: Sequence[bytes],
    keyring: Keyring,
    *,
    exported_at: datetime,
    checkpoint: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    events = [json.loads(b) for b in bodies]
    province_key = keyring.current(keyring.province, exported_at)
    wanted = {province_key.kid} if province_key is not None else set()
    for event in events:
        signature = event.get("signature")
        if isinstance(signature, str):
            try:
                wanted.add(str(header_of(signature).get("kid")))
            except SignatureError:
                continue
    if checkpoint is not None and isinstance(checkpoint.get("signature"), str):
        wanted.add(str(header_of(str(checkpoint["signature"])).get("kid")))
    used = Keyring(
        keys={k: v for k, v in keyring.keys.items() if k in wanted},
        province=keyring.province,
        signing_since=keyring.signing_since,
    )
    bundle: dict[str, Any] = {
        "format": FORMAT,
        "dossier_code": dossier_code,
        "exported_at": exported_at.isoformat(),
        "events": events,
        "jwks": used.to_jwks(),
    }
    if checkpoint is not None:
        proof = cp.leaf_proof(checkpoint, dossier_code)
        if proof is not None:
            bundle["checkpoint"] = {
                **{k: v for k, v in checkpoint.items() if k != "leaves"},
                "inclusion": proof,
            }
    return bundle


@dataclass
class BundleReport:
    history: HistoryReport
    key_problems: list[str] = field(default_factory=list)
    checkpoint: str = "none"
    """``none``, ``valid`` or what is wrong with it."""

    @property
    def intact(self) -> bool:
        return (
            self.history.intact
            and not self.key_problems
            and self.checkpoint in ("none", "valid")
        )

    def to_json(self) -> dict[str, Any]:
        return {
            **self.history.to_json(),
            "intact": self.intact,
            "key_problems": self.key_problems,
            "checkpoint": self.checkpoint,
        }


def verify_bundle(
    bundle: Mapping[str, Any], trusted: Keyring | None = None
) -> BundleReport:
    if bundle.get("format") != FORMAT:
        msg = f"not a {FORMAT} file"
        raise BundleError(msg)
    try:
        embedded = Keyring.from_jwks(bundle.get("jwks") or {})
    except ValueError as exc:
        msg = f"unreadable keys: {exc}"
        raise BundleError(msg) from exc
    key_problems: list[str] = []
    ring = embedded
    if trusted is not None:
        for key in embedded:
            known = trusted.find(key.kid)
            if known is None:
                key_problems.append(f"key {key.kid} is not in the trusted JWKS")
            elif (
                dict(known.jwk) != dict(key.jwk) or known.agency_code != key.agency_code
            ):
                key_problems.append(f"key {key.kid} differs from the trusted JWKS")
        ring = trusted
    code = str(bundle.get("dossier_code") or "")
    events = bundle.get("events")
    if not isinstance(events, list):
        msg = "no events"
        raise BundleError(msg)
    bodies = [json.dumps(e, ensure_ascii=False).encode() for e in events]
    checkpoint = bundle.get("checkpoint")
    expected_heads: list[str] | None = None
    status = "none"
    if isinstance(checkpoint, Mapping):
        status, expected_heads = _check_checkpoint(checkpoint, ring, code)
    history = verify_history(
        code, bodies, ring, Policy(), expected_heads=expected_heads
    )
    return BundleReport(history, key_problems, status)


def _check_checkpoint(
    checkpoint: Mapping[str, Any], ring: Keyring, code: str
) -> tuple[str, list[str] | None]:
    inclusion = checkpoint.get("inclusion")
    signed = {k: v for k, v in checkpoint.items() if k != "inclusion"}
    if not isinstance(inclusion, Mapping):
        return "no inclusion proof", None
    problem = cp.check_signature(signed, ring)
    if problem:
        return f"signature: {problem}", None
    try:
        heads = [str(h) for h in inclusion["heads"]]
        ok = cp.verify_inclusion(
            cp.leaf_bytes(code, heads),
            int(inclusion["index"]),
            int(signed["size"]),
            [str(p) for p in inclusion["proof"]],
            str(signed["root"]),
        )
    except (KeyError, TypeError, ValueError):
        return "malformed inclusion proof", None
    if not ok:
        return "inclusion proof does not match the signed root", None
    return "valid", heads
