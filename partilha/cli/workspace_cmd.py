"""`partilha env`: the Pulumi environment, for `eval "$(partilha env)"` before plain `pulumi`."""

from __future__ import annotations

import shlex

import typer

from partilha.workspace import Workspace


def env() -> None:
    """Print `export` lines that point plain `pulumi` at partilha's backend and secrets."""
    for key, value in sorted(Workspace.find().pulumi_env().items()):
        typer.echo(f"export {key}={shlex.quote(value)}")
