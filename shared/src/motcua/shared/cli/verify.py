"""``motcua verify``: check signed dossier history, offline or from the stores."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from motcua.shared.signing.bundle import BundleError, verify_bundle
from motcua.shared.signing.keys import Keyring
from motcua.shared.signing.verifier import HistoryReport, verify_history

verify_app = typer.Typer(
    help="Verify signed dossier history (signatures, signers, chain, checkpoints).",
    no_args_is_help=True,
)
console = Console()

STATUS_STYLE = {
    "valid": "green",
    "unsigned_legacy": "yellow",
}


def print_history(report: HistoryReport, *, title: str) -> None:
    table = Table(
        "#", "seq", "event", "occurred at", "signer", "key", "status", title=title
    )
    for event in report.events:
        style = STATUS_STYLE.get(event.status, "red")
        status = event.status + (f": {event.detail}" if event.detail else "")
        table.add_row(
            str(event.position),
            str(event.seq or ""),
            event.event_type or "?",
            (event.occurred_at or "")[:19],
            event.signer or "",
            (event.kid or "").split("#")[-1],
            f"[{style}]{status}[/{style}]",
        )
    console.print(table)
    for problem in report.problems:
        console.print(f"[red]✗ {problem}[/red]")


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        console.print(f"[red]cannot read {path}: {exc}[/red]")
        raise typer.Exit(2) from exc


@verify_app.command("bundle")
def bundle(
    path: Annotated[Path, typer.Argument(help="A file from `motcua verify export`.")],
    jwks: Annotated[
        Path | None,
        typer.Option(
            help="The province's published JWKS to trust (else the keys in "
            "the bundle are used and their ids printed)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check a dossier's exported history with no system and no database."""
    data = _load_json(path)
    trusted = Keyring.from_jwks(_load_json(jwks)) if jwks else None
    try:
        report = verify_bundle(data, trusted)
    except BundleError as exc:
        console.print(f"[red]{path}: {exc}[/red]")
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=1))
    else:
        print_history(report.history, title=f"Dossier {report.history.dossier_code}")
        for problem in report.key_problems:
            console.print(f"[red]✗ {problem}[/red]")
        console.print(f"checkpoint: {report.checkpoint}")
        if trusted is None:
            console.print(
                "keys: taken from the bundle; check them against the province's "
                "published JWKS (--jwks)"
            )
        verdict = (
            "[green]✓ intact[/green]" if report.intact else "[red]✗ NOT intact[/red]"
        )
        console.print(verdict)
    raise typer.Exit(0 if report.intact else 1)


# -- stores: the services' databases (registered by their CLI plugins) -------------


@dataclass(frozen=True)
class HistoryStore:
    """Where a service keeps the signed history of dossiers."""

    name: str
    history: Callable[[str], Awaitable[list[bytes]]]
    """One dossier's stored legal acts, in chain order."""
    digests: Callable[[], Awaitable[dict[str, set[str]]]]
    """Every stored act's digest, per dossier."""


STORES: dict[str, HistoryStore] = {}
CHECKPOINT_SOURCES: dict[str, Callable[[], Awaitable[list[dict[str, Any]]]]] = {}


def register_store(
    store: HistoryStore,
    checkpoints: Callable[[], Awaitable[list[dict[str, Any]]]] | None = None,
) -> None:
    STORES[store.name] = store
    if checkpoints is not None:
        CHECKPOINT_SOURCES[store.name] = checkpoints


def _keyring() -> Keyring:
    from motcua.shared.settings import CommonSettings, SigningSettings
    from motcua.shared.signing.local import key_material

    return key_material(CommonSettings(), SigningSettings()).keyring()


def _store(name: str) -> HistoryStore:
    store = STORES.get(name)
    if store is None:
        console.print(f"[red]unknown store {name!r}; known: {', '.join(STORES)}[/red]")
        raise typer.Exit(2)
    return store


async def _checkpoints() -> list[dict[str, Any]]:
    for source in CHECKPOINT_SOURCES.values():
        return await source()
    return []


@verify_app.command("dossier")
def dossier(
    code: Annotated[str, typer.Argument(help="The dossier code.")],
    source: Annotated[
        str, typer.Option(help="Whose database: reporting (every event) or routing.")
    ] = "reporting",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check one dossier's stored history: signer, key, signature and chain of
    each event, and the heads the checkpoints recorded."""
    store = _store(source)

    async def run() -> tuple[list[bytes], list[dict[str, Any]]]:
        return await store.history(code), await _checkpoints()

    bodies, checkpoints = asyncio.run(run())
    heads = sorted(
        {
            h
            for c in checkpoints
            for leaf in c.get("leaves") or ()
            if leaf.get("dossier") == code
            for h in leaf.get("heads") or ()
        }
    )
    report = verify_history(code, bodies, _keyring(), expected_heads=heads)
    if not bodies and not heads:
        console.print(f"[red]no signed history of {code} in {source}[/red]")
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=1))
    else:
        print_history(report, title=f"Dossier {code} ({source})")
        if heads:
            console.print(f"checkpoints: {len(heads)} head(s) recorded, checked")
        console.print(
            "[green]✓ intact[/green]" if report.intact else "[red]✗ NOT intact[/red]"
        )
    raise typer.Exit(0 if report.intact else 1)


@verify_app.command("export")
def export(
    code: Annotated[str, typer.Argument(help="The dossier code.")],
    source: Annotated[str, typer.Option(help="Whose database.")] = "reporting",
) -> None:
    """Write a self-contained bundle (events, signatures, the keys used, the
    latest checkpoint covering the dossier) to standard output."""
    from datetime import UTC, datetime

    from motcua.shared.signing.bundle import make_bundle

    store = _store(source)

    async def run() -> tuple[list[bytes], list[dict[str, Any]]]:
        return await store.history(code), await _checkpoints()

    bodies, checkpoints = asyncio.run(run())
    if not bodies:
        console.print(f"[red]no signed history of {code} in {source}[/red]")
        raise typer.Exit(1)
    covering = None
    for checkpoint in reversed(checkpoints):
        if any(leaf.get("dossier") == code for leaf in checkpoint.get("leaves") or ()):
            covering = checkpoint
            break
    bundle = make_bundle(
        code,
        bodies,
        _keyring(),
        exported_at=datetime.now(UTC),
        checkpoint=covering,
    )
    typer.echo(json.dumps(bundle, ensure_ascii=False, indent=1))


async def _chains_of(
    stores: list[HistoryStore], heads: dict[str, set[str]], ring: Keyring
) -> list[str]:
    """Each covered dossier's whole stored history, checked in each store."""
    problems: list[str] = []
    for store in stores:
        for code in sorted(heads):
            bodies = await store.history(code)
            if not bodies:
                continue  # a missing dossier is named by the heads check
            report = verify_history(code, bodies, ring)
            bad = [e for e in report.events if e.status not in _GOOD]
            problems.extend(
                f"{store.name}: dossier {code}: #{e.position} {e.event_type} "
                f"{e.status}: {e.detail}"
                for e in bad[:1]
            )
    return problems


_GOOD = ("valid", "unsigned_legacy", "sealed_legacy")


@verify_app.command("checkpoints")
def checkpoints_command(
    source: Annotated[
        list[str] | None,
        typer.Option(help="Databases to compare with them (default: every one)."),
    ] = None,
    heads_only: Annotated[
        bool,
        typer.Option(
            "--heads-only",
            help="Only look for the recorded heads (fast); by default every "
            "dossier a checkpoint covers is verified event by event in each "
            "database, so an edit anywhere in its history is named.",
        ),
    ] = False,
) -> None:
    """Check the whole sequence of signed checkpoints, and that every head they
    recorded is still in each database (deleted or edited events, deleted
    dossiers)."""
    from motcua.shared.signing import checkpoints as cp

    names = source or list(STORES)
    stores = [_store(n) for n in names]
    ring = _keyring()

    async def run() -> tuple[list[dict[str, Any]], dict[str, dict[str, set[str]]]]:
        found = await _checkpoints()
        return found, {s.name: await s.digests() for s in stores}

    sequence, contents = asyncio.run(run())
    report = cp.verify_sequence(sequence, ring)
    problems = list(report.problems)
    for name, digests in contents.items():
        problems += cp.compare_store(report, name, digests)
    if not heads_only:
        problems += asyncio.run(_chains_of(stores, report.heads, ring))
    console.print(
        f"{report.checkpoints} checkpoints over {report.dossiers} dossiers; "
        f"compared with: {', '.join(names)}"
    )
    for problem in problems:
        console.print(f"[red]✗ {problem}[/red]")
    console.print(
        "[green]✓ intact[/green]" if not problems else "[red]✗ NOT intact[/red]"
    )
    raise typer.Exit(0 if not problems else 1)
