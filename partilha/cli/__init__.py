"""The `partilha` command. Its command modules import their engines (Pulumi, pyinfra, the lab,
DR, audit ...) inside the commands, so a help loads none of them and a command only its own
(tests/unit/test_cli_imports.py; bench/cli_start.py measures the start)."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.text import Text

from partilha.cli import (
    audit_cmd,
    backup_cmd,
    deploy_cmd,
    diagram_cmd,
    dr_cmd,
    inventory_cmd,
    lab_cmd,
    policy_cmd,
    probe_cmd,
    ssh_cmd,
    stacks_cmd,
    workspace_cmd,
)
from partilha.errors import UserError

app = typer.Typer(
    name="partilha",
    help="Infrastructure as code for an intermunicipal shared data centre on Proxmox VE.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(inventory_cmd.app, name="inventory")
app.add_typer(lab_cmd.app, name="lab")
app.add_typer(policy_cmd.app, name="policy")
app.command("env")(workspace_cmd.env)
for _command in (stacks_cmd.up, stacks_cmd.preview, stacks_cmd.refresh, stacks_cmd.destroy,
                 stacks_cmd.cancel):
    app.command()(_command)
app.command("deploy")(deploy_cmd.deploy)
app.command("verify")(deploy_cmd.verify)
app.command("ssh")(ssh_cmd.ssh)
app.command("probe")(probe_cmd.probe)
app.command("audit")(audit_cmd.audit)
app.command("diagram")(diagram_cmd.diagram)
app.add_typer(dr_cmd.app, name="dr")
app.add_typer(backup_cmd.app, name="backup")

EXIT_INVALID = 2


def main() -> None:
    """Entry point: expected failures end in one clear message and a non-zero exit."""
    err = Console(stderr=True, highlight=False)
    try:
        app()  # click itself reports usage errors and exits
    except UserError as exc:
        err.print(Text.assemble(("error", "bold red"), f": {exc}"), soft_wrap=True)
        sys.exit(exc.exit_code)
    except Exception as exc:
        # only a command that loaded the inventory raises its error: importing it here is free
        from partilha.inventory import InventoryError

        if not isinstance(exc, InventoryError):
            raise
        for problem in exc.problems:
            err.print(Text.assemble(("invalid inventory", "bold red"), f": {problem}"), soft_wrap=True)
        sys.exit(EXIT_INVALID)
