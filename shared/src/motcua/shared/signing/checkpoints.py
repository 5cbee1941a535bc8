"""Periodic checkpoints: the province signs the heads of every dossier chain
that changed, as a Merkle tree, each checkpoint chained to the one before
(pure).

A checkpoint is a JSON object::

    {"format": "motcua.checkpoint/1", "seq": 7, "prev": "<digest of #6>",
     "created_at": "…", "root": "<Merkle root>", "size": 2,
     "leaves": [{"dossier": "<code>", "heads": ["<digest>", …]}, …],
     "signature": "<detached JWS of the province>"}

The signature covers its RFC 8785 bytes without ``signature`` and ``leaves``
(the root commits to the leaves, so a dossier's bundle can carry the signed
header and one inclusion proof); its digest, the next checkpoint's ``prev``,
is the SHA-256 of the same bytes. The tree follows RFC 6962 (leaf hash
``SHA-256(0x00 || leaf)``, node ``SHA-256(0x01 || left || right)``) over the
leaves' canonical bytes, sorted by dossier code; a dossier's bundle can carry
its leaf's inclusion proof. Deleting a dossier's last events, or the whole
dossier, from every database still leaves the heads some checkpoint signed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import rfc8785

from motcua.shared.signing.canonical import canonical_bytes, digest_of
from motcua.shared.signing.jws import (
    SignatureError,
    header_of,
    public_key,
    verify_detached,
)
from motcua.shared.signing.keys import Keyring

FORMAT = "motcua.checkpoint/1"


def leaf_bytes(dossier_code: str, heads: Iterable[str]) -> bytes:
    return rfc8785.dumps({"dossier": dossier_code, "heads": sorted(heads)})


def _leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _root_of(hashes: Sequence[bytes]) -> bytes:
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    split = 1
    while split * 2 < len(hashes):
        split *= 2
    return _node(_root_of(hashes[:split]), _root_of(hashes[split:]))


def merkle_root(leaves: Sequence[bytes]) -> str:
    return _root_of([_leaf_hash(leaf) for leaf in leaves]).hex()


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[str]:
    """The audit path of ``leaves[index]`` (RFC 6962 §2.1.1), hex hashes."""
    hashes = [_leaf_hash(leaf) for leaf in leaves]

    def path(m: int, items: Sequence[bytes]) -> list[bytes]:
        if len(items) <= 1:
            return []
        split = 1
        while split * 2 < len(items):
            split *= 2
        if m < split:
            return [*path(m, items[:split]), _root_of(items[split:])]
        return [*path(m - split, items[split:]), _root_of(items[:split])]

    return [h.hex() for h in path(index, hashes)]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[str], root: str
) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` place ``leaf`` at ``index`` under ``root``?"""
    if index >= size:
        return False
    fn, sn = index, size - 1
    result = _leaf_hash(leaf)
    for hex_hash in proof:
        sibling = bytes.fromhex(hex_hash)
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            result = _node(sibling, result)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            result = _node(result, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and result.hex() == root


def build(
    seq: int,
    prev: str | None,
    created_at: datetime,
    heads: Mapping[str, Iterable[str]],
) -> dict[str, Any]:
    """An unsigned checkpoint over ``heads`` (dossier code → its chain heads)."""
    codes = sorted(heads)
    leaves = [{"dossier": c, "heads": sorted(heads[c])} for c in codes]
    return {
        "format": FORMAT,
        "seq": seq,
        "prev": prev,
        "created_at": created_at.isoformat(),
        "root": merkle_root([leaf_bytes(c, heads[c]) for c in codes]),
        "size": len(codes),
        "leaves": leaves,
    }


def signed_bytes(checkpoint: Mapping[str, Any]) -> bytes:
    """What the province signs: the checkpoint without its leaves."""
    return canonical_bytes({k: v for k, v in checkpoint.items() if k != "leaves"})


def checkpoint_digest(checkpoint: Mapping[str, Any]) -> str:
    return digest_of(signed_bytes(checkpoint))


def leaf_proof(
    checkpoint: Mapping[str, Any], dossier_code: str
) -> dict[str, Any] | None:
    """The inclusion proof of a dossier's leaf in a checkpoint (for bundles)."""
    leaves = checkpoint.get("leaves") or []
    codes = [leaf["dossier"] for leaf in leaves]
    if dossier_code not in codes:
        return None
    index = codes.index(dossier_code)
    raw = [leaf_bytes(leaf["dossier"], leaf["heads"]) for leaf in leaves]
    return {
        "index": index,
        "heads": leaves[index]["heads"],
        "proof": inclusion_proof(raw, index),
    }


@dataclass
class CheckpointReport:
    checkpoints: int = 0
    dossiers: int = 0
    problems: list[str] = field(default_factory=list)
    heads: dict[str, set[str]] = field(default_factory=dict)
    """Every head any checkpoint recorded, per dossier."""

    @property
    def intact(self) -> bool:
        return not self.problems


def check_signature(
    checkpoint: Mapping[str, Any], keyring: Keyring, tolerance_s: float = 300.0
) -> str | None:
    from datetime import timedelta

    signature = checkpoint.get("signature")
    if not isinstance(signature, str):
        return "unsigned"
    try:
        kid = header_of(signature).get("kid")
        key = keyring.find(str(kid))
        if key is None:
            return f"signed with an unknown key {kid!r}"
        verify_detached(signature, signed_bytes(checkpoint), public_key(key.jwk))
    except SignatureError as exc:
        return str(exc)
    if key.agency_code != keyring.province:
        return f"signed by {key.agency_code}, not the province {keyring.province}"
    try:
        created = datetime.fromisoformat(str(checkpoint.get("created_at")))
    except ValueError:
        return "no valid created_at"
    if created.tzinfo is None or not key.valid_at(
        created, timedelta(seconds=tolerance_s)
    ):
        return f"key {key.kid} was not valid at {checkpoint.get('created_at')}"
    return None


def verify_sequence(
    checkpoints: Sequence[Mapping[str, Any]], keyring: Keyring
) -> CheckpointReport:
    """Signatures, the chain from checkpoint 1, each Merkle root."""
    report = CheckpointReport(checkpoints=len(checkpoints))
    prev: str | None = None
    for expected_seq, checkpoint in enumerate(checkpoints, start=1):
        seq = checkpoint.get("seq")
        name = f"checkpoint {seq}"
        if seq != expected_seq:
            report.problems.append(
                f"{name} where {expected_seq} was expected (a checkpoint is missing)"
            )
        problem = check_signature(checkpoint, keyring)
        if problem:
            report.problems.append(f"{name}: signature: {problem}")
        if checkpoint.get("prev") != prev:
            report.problems.append(f"{name} does not follow the checkpoint before it")
        leaves = checkpoint.get("leaves") or []
        try:
            codes = [str(leaf["dossier"]) for leaf in leaves]
            raw = [leaf_bytes(str(leaf["dossier"]), leaf["heads"]) for leaf in leaves]
        except (KeyError, TypeError) as exc:
            report.problems.append(f"{name}: malformed leaves ({exc})")
            codes, raw = [], []
        if codes != sorted(set(codes)):
            report.problems.append(f"{name}: leaves not sorted by dossier code")
        if merkle_root(raw) != checkpoint.get("root") or len(raw) != checkpoint.get(
            "size"
        ):
            report.problems.append(f"{name}: the Merkle root does not match its leaves")
        for leaf in leaves:
            try:
                report.heads.setdefault(str(leaf["dossier"]), set()).update(
                    leaf["heads"]
                )
            except (KeyError, TypeError):
                continue
        prev = checkpoint_digest(checkpoint)
    report.dossiers = len(report.heads)
    return report


def compare_store(
    report: CheckpointReport,
    store_name: str,
    store: Mapping[str, set[str]],
    *,
    dossiers: Iterable[str] | None = None,
) -> list[str]:
    """Heads the checkpoints recorded that ``store`` (dossier → the digests of
    its events) no longer has: deleted or edited events, deleted dossiers."""
    problems: list[str] = []
    wanted = sorted(dossiers) if dossiers is not None else sorted(report.heads)
    for code in wanted:
        heads = report.heads.get(code, set())
        have = store.get(code)
        if have is None:
            if heads:
                problems.append(f"{store_name}: dossier {code} is missing")
            continue
        problems.extend(
            f"{store_name}: dossier {code}: event {head[:16]}… recorded by a "
            "checkpoint is missing or was edited"
            for head in sorted(heads - have)
        )
    return problems
