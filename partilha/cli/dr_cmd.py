"""`partilha dr list | plan | run | resume | clean | report`: disaster-recovery runbooks for on-call staff."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from partilha.errors import UserError
from partilha.workspace import Workspace

app = typer.Typer(help="Disaster-recovery runbooks: plan, run (resumable), report the RTO and RPO.",
                  no_args_is_help=True)
EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}
console = Console(highlight=False)
EnvOpt = Annotated[str, typer.Option("--env", help="the environment the runbook acts on")]
RunbooksOpt = Annotated[Path | None, typer.Option(
    "--runbooks", help="the folder of runbooks (default backup/runbooks)")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="do not ask before destructive steps")]


@app.command("list")
def list_(runbooks: RunbooksOpt = None) -> None:
    """The runbooks and their arguments."""
    from partilha.dr import runbook

    table = Table("runbook", "arguments", "what it does")
    for name in runbook.names(runbooks):
        book = runbook.load(name, runbooks)
        args = " ".join(p.name if not p.name.startswith("-") else f"[{p.name}]" for p in book.params)
        table.add_row(name, escape(args), escape(book.title))
    console.print(table)


@app.command(context_settings=EXTRA)
def plan(ctx: typer.Context, name: Annotated[str, typer.Argument(metavar="RUNBOOK")],
         env: EnvOpt = "lab", runbooks: RunbooksOpt = None) -> None:
    """A dry run: each step and the guests, archives, nodes and addresses it would touch (reads only)."""
    from partilha.dr import engine, runbook

    engine.plan(runbook.load(name, runbooks), list(ctx.args), env, console)


@app.command(context_settings=EXTRA)
def run(ctx: typer.Context, name: Annotated[str, typer.Argument(metavar="RUNBOOK")],
        env: EnvOpt = "lab", runbooks: RunbooksOpt = None, yes: YesOpt = False,
        disaster_at: Annotated[str | None, typer.Option(
            "--disaster-at", help="when the disaster was declared (ISO 8601, UTC unless it says); "
                                  "default the run's start")] = None) -> None:
    """Run a runbook: live progress, asks before destructive steps, a journal to resume from."""
    from partilha.dr import engine, runbook
    from partilha.dr.times import moment

    declared = None if disaster_at is None else moment(disaster_at, "--disaster-at")
    engine.start(runbook.load(name, runbooks), list(ctx.args), env, declared, yes, console)


@app.command()
def resume(run_id: Annotated[str, typer.Argument(metavar="RUN-ID")], runbooks: RunbooksOpt = None,
           yes: YesOpt = False) -> None:
    """Continue a run that stopped (Ctrl-C, kill, a failed step) without redoing finished steps."""
    from partilha.dr import engine

    engine.resume(run_id, runbooks, yes, console)


@app.command()
def clean(run_id: Annotated[str, typer.Argument(metavar="RUN-ID")], runbooks: RunbooksOpt = None) -> None:
    """Give up a stopped drill instead of resuming it: remove what it left, release its locks."""
    from partilha.dr import engine

    engine.clean(run_id, runbooks, console)


@app.command("report")
def report_(run_id: Annotated[str, typer.Argument(metavar="RUN-ID")]) -> None:
    """A run's report: Markdown (printed), JSON and static HTML beside its journal."""
    from partilha.dr import report
    from partilha.dr.journal import Journal, dr_root

    root = dr_root(Workspace.find())
    journal = Journal.load(root, run_id)
    md, js, page = report.write(journal, journal.folder(root))
    typer.echo(md.read_text(), nl=False)
    console.print(f"written: {escape(str(md))}, {escape(str(js))}, {escape(str(page))}", soft_wrap=True)


@app.command("preflight")
def preflight_(env: EnvOpt = "lab", runbooks: RunbooksOpt = None) -> None:
    """Check from here what the runbooks need when the primary site is gone; exit 1 if anything is
    missing."""
    from partilha.automation import envs
    from partilha.dr import preflight

    found = preflight.checks(envs.load_env(env), runbooks)
    table = Table("check", "", "detail")
    for c in found:
        table.add_row(c.what, "[green]ok[/]" if c.ok else "[red]missing[/]", escape(c.detail))
    console.print(table)
    failed = [c.what for c in found if not c.ok]
    if failed:
        raise UserError(f"dr preflight: {len(failed)} missing: {', '.join(failed)}")
