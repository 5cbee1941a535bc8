"""``motcua keys``: the agencies' signing keys (init, list, rotate)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from motcua.shared.domain.agencies import load_registry
from motcua.shared.settings import CommonSettings, SigningSettings
from motcua.shared.signing.keystore import AgencyName, FileKeystore, KeystoreError
from motcua.shared.signing.local import ensure_keystore, keystore_folder

keys_app = typer.Typer(
    help="Keys: the agencies' signing keystore (init, list, rotate, seal-legacy) "
    "and the personal-data key rings.",
    no_args_is_help=True,
)
console = Console()

DataDir = Annotated[
    Path | None,
    typer.Option(help="Data folder (default: MOTCUA_DATA_DIR, else var)."),
]


def _settings(data_dir: Path | None) -> tuple[CommonSettings, SigningSettings]:
    common = CommonSettings()
    if data_dir is not None:
        common = common.model_copy(update={"data_dir": data_dir})
    return common, SigningSettings()


@keys_app.command("init")
def init(data_dir: DataDir = None) -> None:
    """Create the development keystore: one key pair per agency (P-256, with a
    certificate from a development CA), and the public JWKS."""
    common, signing = _settings(data_dir)
    try:
        store, created = ensure_keystore(common, signing)
    except KeystoreError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    ring = store.keyring()
    verb = "Created" if created else "Already there:"
    console.print(
        f"{verb} {store.folder} ({len(ring.keys)} keys, province {ring.province}); "
        f"public keys: {store.jwks_path}"
    )


@keys_app.command("list")
def list_keys(
    data_dir: DataDir = None,
    agency: Annotated[str | None, typer.Option(help="Only this agency.")] = None,
) -> None:
    """Every key, current and retired, with its validity period."""
    common, signing = _settings(data_dir)
    store = FileKeystore(keystore_folder(common, signing))
    try:
        ring = store.keyring()
    except KeystoreError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    now = datetime.now(UTC)
    table = Table("agency", "kid", "valid from", "valid until", "state")
    for key in sorted(ring, key=lambda k: (k.agency_code, k.valid_from)):
        if agency and key.agency_code != agency:
            continue
        if key.valid_until is None:
            state = "current"
        elif key.valid_until > now:
            state = "retiring"
        else:
            state = "retired"
        table.add_row(
            key.agency_code,
            key.kid,
            key.valid_from.isoformat(timespec="seconds"),
            key.valid_until.isoformat(timespec="seconds") if key.valid_until else "",
            state,
        )
    console.print(table)
    console.print(
        f"province: {ring.province}; signing since "
        f"{ring.signing_since.isoformat() if ring.signing_since else '?'}; "
        f"JWKS: {store.jwks_path}"
    )


@keys_app.command("rotate")
def rotate(
    agency: Annotated[
        list[str] | None, typer.Option(help="Agency e-ID; repeat for several.")
    ] = None,
    all_agencies: Annotated[
        bool, typer.Option("--all", help="Rotate every agency's key.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Give agencies new keys. Old keys stay published (old signatures stay
    verifiable) and valid for MOTCUA_SIGNING_ROTATION_GRACE_S more."""
    common, signing = _settings(data_dir)
    store = FileKeystore(keystore_folder(common, signing))
    registry = load_registry()
    names = {a.code: a.name for a in registry}
    codes = list(names) if all_agencies else list(agency or [])
    codes = list(dict.fromkeys(codes))
    unknown = [c for c in codes if c not in names]
    if not codes or unknown:
        console.print(
            f"[red]Name agencies with --agency (unknown: {', '.join(unknown)}) or "
            "use --all.[/red]"
        )
        raise typer.Exit(2)
    try:
        changes = store.rotate(
            [AgencyName(c, names[c]) for c in codes],
            grace=timedelta(seconds=signing.rotation_grace_s),
        )
    except KeystoreError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    for old, new in changes:
        console.print(f"{old or '(none)'} → {new}")
    console.print(
        f"Old keys valid {signing.rotation_grace_s:.0f} s more; running services "
        "pick the new ones up within a second."
    )


SEALERS: list[Callable[[str | None], Coroutine[Any, Any, list[tuple[str, int]]]]] = []
"""Registered by reporting's CLI plugin: seal the legacy events of every
dossier (or one) in its store; returns (dossier, events sealed)."""


@keys_app.command("seal-legacy")
def seal_legacy(
    dossier: Annotated[
        str | None, typer.Option(help="Only this dossier (default: every one).")
    ] = None,
) -> None:
    """Seal unsigned legacy history: for each dossier whose chain holds unsigned
    events (from before signing, or imported) no seal covers, the province
    signs a `dossier.legacy_sealed` event naming their digests, chained after
    them. From then on editing or removing them is detected like any signed
    event. Run it with the services up (the seal travels through reporting's
    outbox); afterwards MOTCUA_SIGNING_ACCEPT_UNSIGNED_LEGACY=false refuses any
    new unsigned event."""
    if not SEALERS:
        console.print("[red]no store to seal from (is reporting installed?)[/red]")
        raise typer.Exit(1)
    import asyncio

    sealed = asyncio.run(SEALERS[0](dossier))
    for code, count in sealed:
        console.print(f"{code}: {count} legacy event(s) sealed")
    console.print(f"{len(sealed)} dossier(s) sealed.")
