"""`partilha lab up | down | status | reset | node-down NODE | node-up NODE | node-shell NODE`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from partilha.errors import UserError
from partilha.lab import TARGETS, Faults, Target
from partilha.workspace import Workspace

if TYPE_CHECKING:
    from partilha.lab import LabInstance

app = typer.Typer(help="The lab: a local Proxmox VE on this machine.", no_args_is_help=True)
InventoryOpt = Annotated[Path | None, typer.Option(help="inventory the lab realises "
                                                         "(default inventories/lab)")]
PortOpt = Annotated[int | None, typer.Option(help="HTTPS port of the API (default 8006)")]
PrefixOpt = Annotated[str | None, typer.Option(help="name prefix of its containers, bridges and "
                                                  "nftables table (default plab-; a throwaway lab "
                                                  "takes its own)")]
EnvOpt = Annotated[str | None, typer.Option(help="the lab env `partilha up --env` then provisions "
                                                 "(default: the inventory folder's name)")]
console = Console(highlight=False, emoji=False)


def _instance() -> LabInstance:
    """The lab `lab up` saved in this workspace (none: one line naming the folder)."""
    from partilha.lab import control

    return control.saved_instance(Workspace.find().root)


@app.command()
def up(inventory: InventoryOpt = None, port: PortOpt = None, prefix: PrefixOpt = None,
       env: EnvOpt = None) -> None:
    """Start the lab (idempotent): state, certificate, credentials, the API server; and the env
    that provisions it, marked as a lab env."""
    from partilha.automation import envs, lab_envs
    from partilha.lab import control

    instance = control.default_instance(Workspace.find().root, inventory, port, prefix)
    lab_env = envs.load_env(env or instance.inventory.name, instance.inventory, lab=True)
    creds = control.up(instance)
    lab_env.write_missing_config()
    lab_envs.record(instance.state_dir, lab_env)
    console.print(f"[green]lab up[/]: {creds['url']}  (user {creds['username']}, token "
                  f"{creds['token_id']}; secrets in {instance.credentials})", soft_wrap=True)
    console.print(f"certificate fingerprint {creds['fingerprint']}", soft_wrap=True)
    console.print(f"lab env {lab_env.name} ({lab_env.inventory_path}): `partilha up --env "
                  f"{lab_env.name}`", soft_wrap=True)


@app.command()
def down() -> None:
    """Stop the lab; its state stays, so `lab up` brings back the same cluster."""
    from partilha.lab import control

    control.down(_instance())
    console.print("lab down")


@app.command()
def status() -> None:
    """Is the API up, and the nodes (with their hosts' addresses) and guests it has."""
    from partilha.lab import control

    info = control.status(_instance())
    state = "[green]answers[/]" if info["answers"] else "[red]not answering[/]"
    console.print(f"lab API {info['url']}: {state} (pid {info['pid'] or '-'}), state in "
                  f"{info['state_dir']}", soft_wrap=True)
    table = Table("node", "site", "CPUs", "memory", "status", "guests", "host (SSH)")
    for node in info["nodes"]:
        count = sum(g["n"] for g in info["guests"] if g["node"] == node.name)
        table.add_row(node.name, node.site, str(node.cpus), f"{node.memory_mib // 1024} GiB",
                      "online" if node.online else "[red]offline[/]", str(count),
                      info["node_hosts"].get(node.name, "-"))
    console.print(table)


@app.command()
def reset() -> None:
    """Remove everything the lab created, and the stacks' state and tokens of the envs `lab up`
    made for it (their stack config stays)."""
    from partilha.automation import lab_envs
    from partilha.lab import control

    instance = _instance()
    workspace = Workspace.find()
    forgotten = [f"env {name} ({', '.join(lab_envs.forget(name, folder, workspace)) or 'no stacks'})"
                 for name, folder in lab_envs.recorded(instance.state_dir).items()]
    control.reset(instance)
    console.print("lab reset: nothing of it is left" + ("; forgot the state and tokens of "
                                                         + ", ".join(forgotten) if forgotten else ""))


@app.command("node-down")
def node_down(node: str) -> None:
    """Power a node off, for failure drills: its guests and its host stop, calls to it fail."""
    from partilha.lab import control

    control.set_node_online(_instance(), node, False)
    console.print(f"node {node} is down")


@app.command("node-up")
def node_up(node: str) -> None:
    """Bring a node back; its host and its guests marked onboot start."""
    from partilha.lab import control

    problems = control.set_node_online(_instance(), node, True)
    if problems:
        raise UserError(f"node {node} is up, but " + "; ".join(problems))
    console.print(f"node {node} is up")


@app.command("node-shell", context_settings={"allow_extra_args": True,
                                            "ignore_unknown_options": True})
def node_shell(node: str, command: Annotated[list[str], typer.Argument(
        help="`pvecm expected VOTES`, or `mv` of a guest config between /etc/pve/nodes/<node>/lxc")],
               ) -> None:
    """Run on a node's shell what recovering from a lost site needs (as over SSH on PVE)."""
    from partilha.lab import control

    printed = control.run_on_node(_instance(), node, command)
    console.print(printed or f"{node}: {' '.join(command)}: done", soft_wrap=True)


@app.command()
def faults(rate: Annotated[float, typer.Option(help="fraction of API calls and tasks that fail, 0..1")],
           seed: Annotated[int | None, typer.Option(help="repeatable draws")] = None,
           only: Annotated[Target | None, typer.Option(help="fail only calls, or only tasks")] = None,
           ) -> None:
    """Make a fraction of API calls fail as PVE's do (500, lock timeouts) and of tasks end in
    error or run late, for reliability tests."""
    from partilha.lab import control

    instance = _instance()
    try:
        setting = Faults(rate, seed, (only,) if only else TARGETS)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    control.set_faults(instance, setting)
    what = " and ".join("API calls" if t == "calls" else "tasks" for t in setting.targets)
    console.print(f"lab faults: {rate:.0%} of {what} fail" if rate else "lab faults: off")
