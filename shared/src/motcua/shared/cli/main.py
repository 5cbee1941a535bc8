"""``motcua``: run the system, one service, the local broker, and admin tasks."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from pydantic_settings import BaseSettings
from rich.console import Console
from rich.table import Table

from motcua.shared.auth import Role, issue_token
from motcua.shared.cli.keys import keys_app
from motcua.shared.cli.services import installed_services, load_object
from motcua.shared.local_broker import LocalBroker
from motcua.shared.settings import (
    CommonSettings,
    KafkaSettings,
    SigningSettings,
    TelemetrySettings,
    describe_settings,
)

app = typer.Typer(
    help="motcua: event-driven one-stop (một cửa liên thông) dossier services.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
token_app = typer.Typer(help="Bearer tokens for local use.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(keys_app, name="keys")
console = Console()


@app.command()
def up(
    data_dir: Annotated[
        Path, typer.Option(help="Folder for SQLite files and logs.")
    ] = Path("var"),
    broker_port: Annotated[
        int, typer.Option(help="Port of the local tansu broker.")
    ] = 9092,
    with_prometheus: Annotated[
        bool,
        typer.Option(
            help="Also run Debian's Prometheus, scraping the services with the "
            "production alert rules (docs/operations.md)."
        ),
    ] = False,
    prometheus_port: Annotated[
        int, typer.Option(help="Port of the local Prometheus.")
    ] = 9090,
    without: Annotated[
        list[str] | None,
        typer.Option(
            metavar="SERVICE",
            help="Do not start this service (repeatable): run it yourself, e.g. "
            "`./motcua notification`, to stop and start it while the rest runs.",
        ),
    ] = None,
    alert_for: Annotated[
        str | None,
        typer.Option(
            help="Local Prometheus only: shorten every alert's `for:` window to "
            "at most this duration (e.g. 1m) to see alerts fire sooner."
        ),
    ] = None,
) -> None:
    """Start the broker and all the services (Ctrl-C stops everything)."""
    from motcua.shared.cli.supervisor import run_up

    skipped = frozenset(without or ())
    unknown = skipped - {s.name for s in installed_services()}
    if unknown:
        console.print(f"[red]no such service: {', '.join(sorted(unknown))}[/red]")
        raise typer.Exit(2)
    prometheus = None
    if with_prometheus:
        from motcua.shared.cli.prometheus import (
            PrometheusUnavailableError,
            prometheus_process,
        )

        try:
            prometheus = prometheus_process(
                data_dir,
                installed_services(),
                port=prometheus_port,
                alert_for=alert_for,
            )
        except (PrometheusUnavailableError, ValueError) as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
    raise typer.Exit(
        run_up(
            data_dir=data_dir,
            broker_port=broker_port,
            prometheus=prometheus,
            without=skipped,
        )
    )


@app.command()
def broker(
    port: Annotated[int, typer.Option(help="Listen port.")] = 9092,
    host: Annotated[
        str, typer.Option(help="IPv4 address to listen on and advertise.")
    ] = "127.0.0.1",
) -> None:
    """Run the local Kafka-protocol broker (tansu, memory storage) until Ctrl-C."""
    local = LocalBroker(host, port).start(quiet=False)
    console.print(f"tansu listening on {local.bootstrap_servers}; Ctrl-C stops it.")
    stop = False

    def on_signal(_s: int, _f: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stop and local.process is not None and local.process.poll() is None:
            time.sleep(0.2)
    finally:
        local.stop()


@app.command()
def config() -> None:
    """List every environment variable the services read."""
    table = Table("variable", "default", "meaning")
    seen: set[str] = set()
    groups: list[type[BaseSettings]] = [
        CommonSettings,
        KafkaSettings,
        TelemetrySettings,
        SigningSettings,
    ]
    groups += [load_object(s.settings) for s in installed_services()]
    for group in groups:
        for row in describe_settings(group):
            if row["env"] not in seen:
                seen.add(row["env"])
                table.add_row(row["env"], row["default"], row["description"])
    console.print(table)


@app.command()
def docs(
    folder: Annotated[Path, typer.Option(help="Where the documents live.")] = Path(
        "docs"
    ),
    check: Annotated[
        bool, typer.Option(help="Only report documents that are out of date.")
    ] = False,
) -> None:
    """Generate the OpenAPI/AsyncAPI documents and the configuration reference."""
    from motcua.shared.cli.docs import generate

    stale = generate(folder, check=check)
    for path in stale:
        typer.echo(f"{'out of date' if check else 'written'}: {folder / path}")
    if check and stale:
        typer.echo("Run `./motcua docs` and commit the result.")
        raise typer.Exit(1)


@token_app.command("issue")
def token_issue(
    agency: Annotated[
        str, typer.Option(help="Agency e-ID code, or * for all (operators).")
    ],
    role: Annotated[list[Role], typer.Option(help="Role; repeat for several.")],
    subject: Annotated[str, typer.Option(help="User id.")] = "local-user",
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    hours: Annotated[float, typer.Option(help="Validity in hours.")] = 12.0,
) -> None:
    """Print a signed bearer token (uses MOTCUA_JWT_SECRET)."""
    from datetime import timedelta

    token = issue_token(
        CommonSettings(),
        subject=subject,
        agency_code=agency,
        roles=role,
        name=name or subject,
        ttl=timedelta(hours=hours),
    )
    typer.echo(token)


@keys_app.command("personal-data")
def keys_personal_data(
    source: Annotated[
        Path | None,
        typer.Option(
            "--from", help="An existing key ring to take a share from (else a new one)."
        ),
    ] = None,
    service: Annotated[
        str | None,
        typer.Option("--for", help="Print only what this service is given (ADR 0007)."),
    ] = None,
) -> None:
    """Print a personal-data key ring (JSON Web Key Set) for
    MOTCUA_PERSONAL_DATA_KEYS: a new one, or one service's share of one."""
    import json

    from motcua.shared.personal_data import PersonalDataKeys, share_for

    keys = (
        PersonalDataKeys.from_jwks(json.loads(source.read_text("utf-8")))
        if source
        else PersonalDataKeys.generate()
    )
    if service:
        keys = share_for(keys, service)
    typer.echo(json.dumps(keys.to_jwks(), indent=2))


def _service_command(name: str, app_factory: str) -> typer.Typer:
    group = typer.Typer(help=f"Run the {name} service, or one of its tasks.")

    @group.callback(invoke_without_command=True)
    def run(ctx: typer.Context) -> None:
        if ctx.invoked_subcommand is None:
            from motcua.shared.service import serve

            serve(load_object(app_factory)())

    @group.command("migrate")
    def migrate_command(
        check: Annotated[
            bool,
            typer.Option(
                "--check", help="Only report; exit 1 if the database is behind."
            ),
        ] = False,
        wait: Annotated[
            float,
            typer.Option(
                help="With --check: keep checking for up to this many seconds "
                "(an init container waiting for the migration Job)."
            ),
        ] = 0.0,
    ) -> None:
        """Upgrade the service's database to the revision this release ships
        (the Kubernetes migration Job), or check that it is there."""
        from motcua.shared.cli.migrate import run_migrate

        raise typer.Exit(run_migrate(name, app_factory, check=check, wait_s=wait))

    return group


def _register_signing() -> None:
    from motcua.shared.cli.verify import verify_app

    app.add_typer(verify_app, name="verify")


def _register_plugins() -> None:
    """Commands of other installed packages (entry point group ``motcua.commands``:
    a function taking the root Typer app), e.g. ``motcua bench``."""
    from importlib.metadata import entry_points

    for entry in entry_points(group="motcua.commands"):
        entry.load()(app)


def _register_services() -> None:
    for service in installed_services():
        group = _service_command(service.name, service.app_factory)
        if service.cli:
            load_object(service.cli)(app, group)
        app.add_typer(
            group, name=service.name, help=f"Run {service.title}, or one of its tasks."
        )


def main() -> None:
    _register_services()
    _register_signing()
    _register_plugins()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
