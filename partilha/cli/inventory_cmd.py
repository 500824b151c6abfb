"""`partilha inventory validate|show PATH`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

app = typer.Typer(help="Check and show a data centre inventory.", no_args_is_help=True)
PathArg = Annotated[Path, typer.Argument(help="inventory folder, e.g. inventories/lab")]


@app.command()
def validate(path: PathArg) -> None:
    """Check every file, field and rule of an inventory; exit 2 naming what is wrong."""
    from partilha.inventory import guests, load_inventory

    inventory = load_inventory(path)
    Console(highlight=False).print(Text.assemble(  # Text: the path is printed as it is, never as markup
        ("valid", "green"), f": {path} — {len(inventory.municipalities)} municipalities, "
        f"{len(guests(inventory))} guests, {len(inventory.datacentre.nodes)} nodes, "
        f"{len(inventory.networks.vnets)} vnets"), soft_wrap=True)


@app.command()
def show(path: PathArg) -> None:
    """Tables of municipalities, guests, networks and capacity per site."""
    from partilha.inventory import load_inventory
    from partilha.inventory.report import tables

    console = Console()
    if not console.is_terminal:
        console.width = 160
    for table in tables(load_inventory(path)):
        console.print(table)
