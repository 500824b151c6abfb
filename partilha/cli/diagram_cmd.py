"""`partilha diagram [--env ENV] [--output FILE]`: the centre as an SVG."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def diagram(env: Annotated[str, typer.Option(help="the environment whose inventory is drawn")] = "lab",
            inventory: Annotated[Path | None, typer.Option(
                help="inventory folder (default: the env's)")] = None,
            output: Annotated[Path | None, typer.Option(
                "--output", "-o", help="the SVG file (default: .partilha/reports/<env>/diagram.svg)")] = None,
            ) -> None:
    """Sites, nodes, VNets with their prefixes, each tenant's guests, the front door and the
    declared flows, laid out by Graphviz."""
    from partilha.automation import envs
    from partilha.diagram import graph, render

    loaded = envs.load_env(env, inventory)
    target = output or loaded.workspace.reports(env) / "diagram.svg"
    drawn = render.svg(graph.dot(loaded.inventory))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(drawn)
    print(target)
