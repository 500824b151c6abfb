"""`partilha backup status [--env ENV] [--json]`: each guest's newest backup against its tier."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Backups: what exists against the tiers' RPO, retention and offsite copy.",
                  no_args_is_help=True)


def _span(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 3600:.1f} h"


def _proved(verified: dict[str, Any] | None) -> str:
    """The newest verify-backups result: when, and whether the backup came back."""
    if verified is None:
        return "never"
    at = time.strftime("%Y-%m-%d %H:%M", time.gmtime(verified["verified_at"]))
    return f"{at} ok" if verified["recoverable"] else f"[red]{at} FAILED[/]"


@app.command()
def now(guest: Annotated[str, typer.Argument(help="the guest's name, e.g. abrantes-dms")],
        env: Annotated[str, typer.Option("--env", help="the environment")] = "lab") -> None:
    """Back a guest up now (vzdump, snapshot mode) to its site's backup storage."""
    from partilha.automation import envs
    from partilha.dr.context import admin_api
    from partilha.dr.restore import backup_now
    from partilha.dr.times import when

    made = envs.load_env(env)
    archive = backup_now(made, admin_api(made), guest)
    typer.echo(f"{guest}: {archive['volid']} made {when(archive['ctime'])} on {archive['node']}")


@app.command()
def status(env: Annotated[str, typer.Option("--env", help="the environment")] = "lab",
           as_json: Annotated[bool, typer.Option("--json", help="JSON instead of tables")] = False) -> None:
    """Per guest: newest backup and its age against the tier's RPO, archives kept against the
    retention, offsite copy present; the guests no backup job covers. Exit 1 if any is short."""
    from partilha.automation import envs
    from partilha.dr import evidence
    from partilha.dr.context import admin_api
    from partilha.dr.journal import dr_root
    from partilha.dr.status import backup_status

    made = envs.load_env(env)
    verified = evidence.newest(dr_root(made.workspace), made.name)
    found = backup_status(made, admin_api(made, read_only=True), verified)
    short = [g for g in found.guests if not g.ok]
    if as_json:
        typer.echo(json.dumps(found.to_json(), indent=2, ensure_ascii=False))
    else:
        console = Console(highlight=False)
        table = Table("guest", "tier", "newest (UTC)", "age", "RPO", "kept", "keeps", "offsite",
                      "restore proved (UTC)", "")
        for g in found.guests:
            offsite = {None: "—", True: "yes", False: "[red]missing[/]"}[g.offsite]
            newest = "[red]none[/]" if g.newest_at is None else \
                time.strftime("%Y-%m-%d %H:%M", time.gmtime(g.newest_at))
            table.add_row(g.guest, g.tier or "—", newest,
                          _span(g.age_s), _span(g.rpo_s), str(g.kept), str(g.retention), offsite,
                          _proved(g.verified),
                          "[green]ok[/]" if g.ok else "[red]short[/]")
        console.print(table)
        uncovered = ", ".join(f"{e.get('name') or '?'} ({e['vmid']})" for e in found.not_covered)
        console.print(f"guests no backup job covers: {uncovered or 'none'}", soft_wrap=True)
    if short or found.not_covered:
        raise typer.Exit(1)
