"""A stand-in for the national public service portal (DVCQG) and the
province's integration platform (LGSP) in front of it, for ``motcua up``,
tests, demos and benchmarks (``motcua portal simulator``; 127.0.0.1:8014).

Integration platform: ``POST /lgsp/token`` (HTTP Basic client credentials,
``grant_type=client_credentials``) gives a bearer token that expires
(1800 s); every other call but ``/_sim/*`` and ``/healthz`` needs it (401
``invalid_token``).

Portal, with the ``dstcode`` header: ``POST /dvcqg/auth`` gives a session
that expires (3600 s); ``POST /dvcqg/integration`` with ``{"session",
"madonvi", "service", ...}`` answers HTTP 200 with ``error_code`` "00", or
"01" (session unknown or expired: log in again), "02" (validation: the
message names each bad field), "03" (order: progress for a dossier the
portal has no ``DongBoHoSoMC`` for), "04" (not found), "99" (transient).
Services: ``DongBoHoSoMC`` (``isUpdating`` false for a new code, true for a
known one), ``CapNhatTienDoHoSoMC``, ``TraCuuHoSo``,
``LayDanhSachHoSoNopTrucTuyen`` (filings waiting for the province's answer).

For tests and demos (no auth): ``POST /_sim/submissions`` (a citizen's filing
in the portal's field names → 201 ``{"MaHoSo"}``), ``GET /_sim/dossiers``,
``GET /_sim/dossiers/{MaHoSo}``, ``GET /_sim/stats``, ``GET|POST
/_sim/faults`` (``error_rate``, ``down_for_s``, ``session_ttl_s``,
``token_ttl_s``; ``{}`` clears).

Simulator conventions: filing codes are ``<MaDonViTiepNhan>-<yyMMdd>-<NNNN>``
numbered from 5001 each day and agency (ADR 0015); everything is kept in
memory (a restart forgets it); credentials are the portal service's own
settings (``MOTCUA_PORTAL_CLIENT_ID`` …), so both sides agree unconfigured.
"""
