"""Portal's tables (SQLModel). Names start with ``portal_``."""

from __future__ import annotations

PORTAL_TABLES: frozenset[str] = frozenset()
"""The tables this service's migrations own (besides the shared messaging
and signing tables)."""
