"""``motcua portal …`` tasks (plugged in through ``ServiceDefinition.cli``)."""

from __future__ import annotations

import asyncio
import json
import runpy
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

T = TypeVar("T")


def _with_portal(work: Callable[[Any, Any], Awaitable[T]]) -> T:
    """Run ``work(sessions, client)`` against the service's database and the
    portal its settings name."""
    from motcua.portal.app import build_client
    from motcua.portal.settings import PortalSettings
    from motcua.shared.service import ServiceRuntime

    settings = PortalSettings()
    runtime = ServiceRuntime(settings, migrations=_migrations())

    async def main() -> T:
        from motcua.portal.client import PortalUnavailableError

        client = build_client(settings, runtime)
        try:
            await runtime.check_schema()
            return await work(runtime.sessions, client)
        except PortalUnavailableError as exc:
            typer.echo(f"the national portal could not be reached: {exc}", err=True)
            raise typer.Exit(2) from None
        finally:
            await client.aclose()
            await runtime.engine.dispose()

    return asyncio.run(main())


def _migrations() -> Any:
    from motcua.portal.app import MIGRATIONS

    return MIGRATIONS


def _print_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    typer.echo(
        f"{report['dossiers']} dossiers checked, {report['differences']} differences"
    )
    for kind, count in report["by_kind"].items():
        if count:
            typer.echo(f"  {kind}: {count}")
    for item in report["items"][:50]:
        detail = item["ours"] if item["ours"] is not None else item["portal"]
        typer.echo(f"  {item['dossier_code']}  {item['kind']}  {detail or ''}")
    if len(report["items"]) > 50:
        typer.echo(f"  … {len(report['items']) - 50} more (--json lists them all)")


def register(_root_app: typer.Typer, service_group: typer.Typer) -> None:
    @service_group.command(
        "simulator",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    def simulator_command(ctx: typer.Context) -> None:
        """Run the national portal simulator alone (127.0.0.1:8014; options such as --port follow)."""
        from motcua.portal.processes import simulator_available

        if not simulator_available():
            typer.echo("the portal simulator is not part of this release yet")
            raise typer.Exit(2)
        sys.argv = ["motcua portal simulator", *ctx.args]
        runpy.run_module("motcua.portal.simulator", run_name="__main__")

    @service_group.command("serve")
    def serve_command(
        include_imported: Annotated[
            bool,
            typer.Option(
                "--include-imported",
                help="Also push dossiers imported from an earlier system "
                "(MOTCUA_PORTAL_INCLUDE_IMPORTED).",
            ),
        ] = False,
    ) -> None:
        """Run the portal service (as `motcua portal` does)."""
        from motcua.portal.app import create_app
        from motcua.portal.settings import PortalSettings
        from motcua.shared.service import serve

        settings = PortalSettings()
        if include_imported:
            settings = settings.model_copy(update={"include_imported": True})
        serve(create_app(settings))

    @service_group.command("reconcile")
    def reconcile_command(
        start: Annotated[
            str | None,
            typer.Option("--from", help="First day (YYYY-MM-DD) or date-time."),
        ] = None,
        end: Annotated[
            str | None, typer.Option("--to", help="Last day (included) or date-time.")
        ] = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="The whole report.")
        ] = False,
    ) -> None:
        """Compare our dossiers and steps with the portal's copy; exit 1 on any
        difference."""
        from motcua.portal.reconcile import period_bound
        from motcua.portal.reconciliation import reconcile

        since, until = period_bound(start), period_bound(end, end=True)
        report = _with_portal(
            lambda sessions, client: reconcile(
                sessions, client, since=since, until=until
            )
        ).as_dict()
        _print_report(report, as_json)
        raise typer.Exit(1 if report["differences"] else 0)

    @service_group.command("resync")
    def resync_command(
        since: Annotated[
            str, typer.Option(help="Dossiers created from this day (YYYY-MM-DD) on.")
        ],
    ) -> None:
        """Reconcile the dossiers since a day and queue what repairs each
        difference (the running service sends it)."""
        from motcua.portal.reconcile import period_bound
        from motcua.portal.reconciliation import reconcile, resync

        async def work(sessions: Any, client: Any) -> dict[str, int]:
            report = await reconcile(sessions, client, since=period_bound(since))
            typer.echo(
                f"{len(report.checked)} dossiers checked, "
                f"{len(report.differences)} differences"
            )
            return await resync(sessions, report)

        queued = _with_portal(work)
        typer.echo(
            f"queued for {queued['dossiers']} dossiers: {queued['records']} records, "
            f"{queued['steps']} steps; {queued['resent']} parked items resent"
        )

    @service_group.command("resend")
    def resend_command(
        item_ids: Annotated[
            list[int] | None, typer.Argument(help="Parked items (none: every one).")
        ] = None,
    ) -> None:
        """Put parked sync items back in the queue (the running service sends them)."""
        from motcua.portal.sender import resend

        async def work(sessions: Any, _client: Any) -> list[int]:
            async with sessions() as session, session.begin():
                return await resend(session, item_ids or None)

        ids = _with_portal(work)
        typer.echo(f"{len(ids)} parked items back in the queue")
