"""`partilha policy rules [--markdown]`: the policy pack's rules, their levels and controls."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="The policy pack (policies/).", no_args_is_help=True)


@app.command()
def rules(markdown_: Annotated[bool, typer.Option("--markdown", help="the rules section of "
                                                  "policies/README.md")] = False) -> None:
    """Every rule: ID, title, level, severity, where it is checked and the controls it implements."""
    from partilha.automation.policy_gate import load_rules
    from partilha.policy.catalogue import markdown, where

    found = load_rules()
    if markdown_:
        typer.echo(markdown(found), nl=False)
        return
    table = Table()
    for column in ("rule", "title", "level", "severity", "checked in", "controls"):
        table.add_column(column, overflow="fold")
    for rule in found:
        table.add_row(rule.id, rule.title, rule.enforcement, rule.severity, where(rule),
                      ", ".join(c.tag for c in rule.controls))
    Console(highlight=False).print(table)
