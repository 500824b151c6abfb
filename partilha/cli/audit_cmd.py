"""`partilha audit [--env ENV]`: the policy pack and the controls, proven from evidence (README,
For auditors). Exit 0: every mandatory rule and test passed or is not applicable; 1: one failed
(or the audit could not run: one line says why); 3: nothing failed but something is not proven."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from partilha.audit.freshness import MAX_AGE_HOURS

EXIT_NOT_PROVEN = 3
STYLE = {"passed": "green", "failed": "red", "not proven": "yellow", "not applicable": "dim"}


def audit(env: Annotated[str, typer.Option("--env", help="the environment audited")] = "lab",
          inventory: Annotated[Path | None, typer.Option(
              "--inventory", help="inventory folder (default: the env's, as `partilha up` has it)")] = None,
          max_age: Annotated[float, typer.Option(
              "--max-age", min=0.1, help="hours after which verify's and probe's results no longer "
              "prove anything")] = MAX_AGE_HOURS) -> None:
    """Gather the evidence (the pack over the stacks' refreshed state, verify's controls per host,
    each municipality's token against every other's objects, the probe matrix, backups against
    their RPO and the last verify-backups run, the root@pam preflight, the waivers) and write
    audit.json, audit.md and audit.html to .partilha/reports/<env>/."""
    from partilha.audit import report
    from partilha.audit.model import STATUSES
    from partilha.audit.run import audit_env
    from partilha.automation import envs

    console = Console(highlight=False)
    loaded = envs.load_env(env, inventory)
    with console.status("audit") as status:
        done = audit_env(loaded, max_age, on_source=lambda name: status.update(f"audit: {name}"))
    paths = report.write(done, loaded.workspace.reports(env))
    counts = report.summary(done)
    table = Table("framework", *STATUSES, title=f"audit: env {env}")
    for name, c in counts.items():
        table.add_row(name, *(f"[{STYLE[s]}]{c[s]}[/]" if c[s] else "0" for s in STATUSES))
    console.print(table)
    for item in done.items:
        for e in item.evidence:
            if e.status == "failed" and item.mandatory:
                console.print(f"[red]FAILED[/] {escape(item.id)} {escape(e.subject)}: {escape(e.detail)} "
                              f"({escape(e.source)})", soft_wrap=True)
    in_force = [w for w in done.waivers if w["in_force"]]
    console.print(f"waivers in force: {len(in_force)}"
                  + "".join(f"; {escape(w['rule'])} on {escape(w['resource'])} until {w['until']}"
                            for w in in_force),
                  soft_wrap=True)
    if done.unproven:
        console.print("not proven: " + ", ".join(i.id for i in done.unproven), soft_wrap=True)
    console.print(f"{report.verdict(done)} in {done.finished - done.started:.1f} s; report: "
                  f"{escape(str(paths['html']))}", soft_wrap=True)
    if done.failed:
        raise typer.Exit(1)
    if done.unproven:
        raise typer.Exit(EXIT_NOT_PROVEN)
