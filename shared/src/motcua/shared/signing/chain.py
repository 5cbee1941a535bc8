"""A dossier's hash chain, as one service knows it (pure).

Events link to the digests of the dossier's events their producer had seen
last (``chain.prev``, the *heads*) and carry a ``seq`` one past the highest of
them. Acts on one dossier are normally sequential and the chain is a line;
two producers acting at once (intake recording a withdrawal while routing
records a hand-off) both link to the same head, and the chain forks: both
acts stand, and the next act of anyone who has seen both lists both heads and
joins them (ADR 0012). A consumer accepts an event only if it has seen every
event it links to, the ``seq`` is right, and the event itself is new.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from motcua.shared.domain.entitlement import Custody


@dataclass(frozen=True)
class Link:
    prev: tuple[str, ...]
    seq: int

    @classmethod
    def of(cls, value: Mapping[str, Any]) -> Link:
        prev = value.get("prev")
        seq = value.get("seq")
        if (
            not isinstance(prev, list)
            or not all(isinstance(p, str) for p in prev)
            or not isinstance(seq, int)
            or isinstance(seq, bool)
        ):
            msg = "chain link must have a list `prev` of digests and an integer `seq`"
            raise ValueError(msg)
        return cls(tuple(prev), seq)

    def to_json(self) -> dict[str, Any]:
        return {"prev": list(self.prev), "seq": self.seq}


@dataclass(frozen=True)
class ChainState:
    """Everything a service needs to link or check the next event of a dossier."""

    links: Mapping[str, int] = field(default_factory=dict)
    """Digest → seq of every event of the dossier seen so far."""
    heads: tuple[str, ...] = ()
    """Digests no seen event links to yet (sorted)."""
    signed: int = 0
    """How many of them were signed."""
    legacy: int = 0
    """How many were unsigned legacy events (before signing, or imported)."""
    custody: Custody = field(default_factory=Custody)
    own: frozenset[str] = frozenset()
    """Digests this service produced and has not yet seen back on the topic:
    when one arrives it is confirmed, not refused as a replay."""
    unsealed: frozenset[str] = frozenset()
    """Unsigned legacy events no province seal covers yet."""

    @property
    def empty(self) -> bool:
        return not self.links

    def next_link(self) -> Link:
        """Where the next event this service produces goes."""
        if not self.heads:
            return Link((), 1)
        return Link(self.heads, 1 + max(self.links[h] for h in self.heads))

    def problem(self, digest: str, link: Link) -> str | None:
        """Why ``link`` cannot follow this state (None: it can)."""
        if digest in self.links:
            return f"replay: event {digest[:16]}… is already in the chain"
        if list(link.prev) != sorted(set(link.prev)):
            return "chain.prev must be sorted and without repeats"
        if not link.prev:
            if self.links:
                return "a second first event for a dossier that has a history"
            return None if link.seq == 1 else "the first event must have seq 1"
        missing = [p for p in link.prev if p not in self.links]
        if missing:
            return f"follows event {missing[0][:16]}…, which was never seen"
        expected = 1 + max(self.links[p] for p in link.prev)
        if link.seq != expected:
            return f"seq {link.seq} where {expected} follows its predecessors"
        return None

    def appended(
        self,
        digest: str,
        link: Link,
        *,
        signed: bool,
        custody: Custody | None = None,
        own: bool = False,
    ) -> ChainState:
        heads = sorted((set(self.heads) - set(link.prev)) | {digest})
        return replace(
            self,
            links={**self.links, digest: link.seq},
            heads=tuple(heads),
            signed=self.signed + int(signed),
            legacy=self.legacy + int(not signed),
            custody=custody if custody is not None else self.custody,
            own=self.own | {digest} if own else self.own,
            unsealed=self.unsealed if signed else self.unsealed | {digest},
        )

    def sealed(self, digests: Iterable[str]) -> ChainState:
        """A province seal now covers these legacy events."""
        return replace(self, unsealed=self.unsealed - set(digests))

    def confirmed(self, digest: str) -> ChainState:
        """One of our own events came back from the topic."""
        return replace(self, own=self.own - {digest})

    def to_json(self) -> dict[str, Any]:
        return {
            "links": dict(self.links),
            "heads": list(self.heads),
            "signed": self.signed,
            "legacy": self.legacy,
            "custody": self.custody.to_json(),
            "own": sorted(self.own),
            "unsealed": sorted(self.unsealed),
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> ChainState:
        if not value:
            return cls()
        return cls(
            links={str(k): int(v) for k, v in (value.get("links") or {}).items()},
            heads=tuple(value.get("heads") or ()),
            signed=int(value.get("signed") or 0),
            legacy=int(value.get("legacy") or 0),
            custody=Custody.from_json(value.get("custody")),
            own=frozenset(value.get("own") or ()),
            unsealed=frozenset(value.get("unsealed") or ()),
        )


def canonical_order(events: Sequence[tuple[str, Link, str]]) -> list[str]:
    """Digests in chain order: by seq, then business time, then digest (ties
    are concurrent acts). Items: (digest, link, occurred_at ISO text)."""
    return [d for d, _, _ in sorted(events, key=lambda e: (e[1].seq, e[2], e[0]))]
