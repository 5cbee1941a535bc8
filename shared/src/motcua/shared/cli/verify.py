"""``motcua verify``: check signed dossier history, offline or from the stores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from motcua.shared.signing.bundle import BundleError, verify_bundle
from motcua.shared.signing.keys import Keyring
from motcua.shared.signing.verifier import HistoryReport

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
