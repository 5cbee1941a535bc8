"""Signed, tamper-evident dossier history (ADR 0012).

Every event that changes a dossier's legal state carries a detached JWS of the
agency that acted, over the RFC 8785 canonical bytes of its envelope without
the signature, and a link to the dossier's previous events (a per-dossier hash
chain). Pure modules: :mod:`.canonical`, :mod:`.chain`, :mod:`.bundle`,
:mod:`.checkpoints`; adapters: :mod:`.keystore` (keys on disk), :mod:`.jws`.
"""
