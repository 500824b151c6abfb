"""`partilha probe [--env ENV] [--json]`: the flows between guests, proved by trying them."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from partilha.errors import UserError


def probe(env: Annotated[str, typer.Option(help="the environment whose guests are probed")] = "lab",
          as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
          outside_host: Annotated[str | None, typer.Option(
              "--outside", help="[user@]host outside the data centre to try the outside rows from "
                                "(SSH, its key pinned in the env's known_hosts); a lab env uses "
                                "its outside namespace")] = None) -> None:
    """From every guest, from the management network and from outside to every other guest on
    every declared port, SSH and a few undeclared ones: open, refused or filtered, against what
    the declared flows expect (outside rows with nowhere to try them from: not applicable). Also
    written to .partilha/reports/<env>/probe.json and probe.md. Exits non-zero naming each unexpected pair."""
    from partilha.automation import envs
    from partilha.probe import remote, report

    loaded = envs.load_env(env)
    result = remote.probe(loaded, outside_host)
    report.write(result, loaded.workspace.reports(env))
    console = Console(highlight=False)
    if as_json:
        print(json.dumps(result.as_json(), indent=1))
    else:
        console.print(report.table(result))
        console.print(report.summary(result))
    unexpected = result.unexpected()
    if unexpected:
        raise UserError(f"{len(unexpected)} unexpected: " + "; ".join(
            f"{p.source} -> {p.target}:{p.port} expected {p.expected}, observed {seen}"
            for p, seen in unexpected))
