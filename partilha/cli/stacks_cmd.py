"""`partilha up | preview | refresh | destroy | cancel [--env lab] [--only platform|shared|SLUG]`:
the env's stacks in order through the Automation API (partilha.automation)."""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from partilha.errors import UserError

if TYPE_CHECKING:
    from partilha.automation import envs
    from partilha.automation.engine import Op
    from partilha.automation.operation import StackResult

EnvOpt = Annotated[str, typer.Option(help="the environment: stacks <env>-platform, <env>-shared and "
                                          "<env>-<municipality>")]
OnlyOpt = Annotated[list[str] | None, typer.Option(
    "--only", help="platform, shared or a municipality's slug (repeatable); default all")]
InventoryOpt = Annotated[Path | None, typer.Option(
    help="an env without stack config in the project gets it generated under .partilha/envs/<env> "
         "for this inventory (default inventories/<env>)")]
LabOpt = Annotated[bool, typer.Option(
    "--lab", help="a lab env: the local lab is its fallback endpoint (said when the env is first "
                  "generated; `partilha lab up` makes one too)")]
ParallelOpt = Annotated[int, typer.Option(min=1, max=16, help="municipality stacks run side by side")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="do not ask first")]
RebalanceOpt = Annotated[bool, typer.Option(
    "--rebalance", help="move every unpinned guest to its inventory placement (migrations; "
                        "without it an existing guest stays on its node)")]


def _rebalance(asked: bool) -> None:
    """The stacks' programs read the operator's ask from their environment (as plain
    `PARTILHA_REBALANCE=1 pulumi up` gives it)."""
    from partilha.inventory.placement import REBALANCE

    if asked:
        os.environ[REBALANCE] = "1"


def _console() -> Console:
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = 240  # a log or a pipe: keep each resource's line whole
    return console


def _run(console: Console, op: Op, env_name: str, only: list[str] | None, inventory: Path | None,
         lab: bool, parallel: int) -> tuple[envs.Env, list[StackResult]]:
    from partilha.automation import envs, policy_gate, progress
    from partilha.automation.operation import run

    env = envs.load_env(env_name, inventory, lab)
    stacks = env.select(only or [])
    for path in env.write_missing_config():
        note = "" if env.generated else " (new: commit it)"
        console.print(f"[dim]wrote {escape(str(path))}{note}[/]", soft_wrap=True)
    order = [s.name + (" (not in the inventory: destroyed)" if s.retired and op != "destroy" else "")
             for wave in envs.waves(stacks, destroying=op == "destroy") for s in wave]
    console.print(f"[bold]{op} {escape(env.name)}[/] ({escape(str(env.inventory_path))}): "
                  + ", ".join(order), soft_wrap=True)
    started = time.monotonic()
    with progress.RichProgress(console, op) as shown:
        results = run(env, op, stacks, shown, parallel)
    counts: Counter[str] = Counter()
    for r in results:
        counts.update(r.counts)
    changed = sum(n for r in results for n in r.changes.values())
    ran = sum(1 for r in results if not r.absent)
    console.print(f"[bold]{op} {escape(env.name)}[/]: {ran} stacks in {time.monotonic() - started:.0f} s — "
                  f"{changed} changes ({progress.tally(op, counts)})", soft_wrap=True)
    if policy := [p for r in results for p in r.policy]:
        console.print(policy_gate.table(policy))
    for line in sorted({line for r in results for line in r.offline}):
        console.print(f"[yellow]{escape(line)}[/]", soft_wrap=True)
    failed = [r for r in results if r.error]
    if failed:
        raise UserError("; ".join(_failure(r) for r in failed) + _not_run(stacks, results))
    return env, results


def _failure(result: StackResult) -> str:
    error = result.error or ""
    return error if error.startswith(result.stack.name) else f"{result.stack.name}: {error}"


def _not_run(stacks: list[envs.StackSpec], results: list[StackResult]) -> str:
    ran = {r.stack for r in results}
    left = [s.name for s in stacks if s not in ran]
    return f" (not run: {', '.join(left)})" if left else ""


def up(env: EnvOpt = "lab", only: OnlyOpt = None, inventory: InventoryOpt = None,
       lab: LabOpt = False, parallel: ParallelOpt = 4, rebalance: RebalanceOpt = False) -> None:
    """Create or update the env's stacks (platform, municipalities, shared), then show their guests."""
    from partilha.automation import summary

    _rebalance(rebalance)
    console = _console()
    ran, results = _run(console, "up", env, only, inventory, lab, parallel)
    rows = summary.guest_rows(r.outputs for r in results if r.outputs)
    if rows:
        console.print(summary.table(ran, rows))


def preview(env: EnvOpt = "lab", only: OnlyOpt = None, inventory: InventoryOpt = None,
            lab: LabOpt = False, parallel: ParallelOpt = 4, rebalance: RebalanceOpt = False) -> None:
    """What `up` would change, per resource, without changing anything."""
    _rebalance(rebalance)
    _run(_console(), "preview", env, only, inventory, lab, parallel)


def refresh(env: EnvOpt = "lab", only: OnlyOpt = None, inventory: InventoryOpt = None,
            lab: LabOpt = False, parallel: ParallelOpt = 4) -> None:
    """Read every resource back from Proxmox VE into the state and report the drift."""
    from partilha.automation import drift

    console = _console()
    _, results = _run(console, "refresh", env, only, inventory, lab, parallel)
    found = drift.drift(results)
    if found:
        console.print(drift.table(found))
        console.print("`partilha up` puts back what the inventory says.")
    else:
        console.print("[green]no drift[/]: every resource is as the state records it")


def destroy(env: EnvOpt = "lab", only: OnlyOpt = None, inventory: InventoryOpt = None,
            lab: LabOpt = False, parallel: ParallelOpt = 4, yes: YesOpt = False) -> None:
    """Delete the env's resources, municipalities first and the platform last, protected data guests
    included (their protection is lifted first); asks first."""
    from partilha.automation import envs

    if not yes:
        names = ", ".join(s.name for s in envs.load_env(env, inventory, lab).select(only or []))
        if not sys.stdin.isatty():
            raise UserError(f"destroy deletes every resource of {names}; confirm with --yes")
        typer.confirm(f"Delete every resource (guests, networks, tokens, ...) of {names}, the "
                      "protected data-holding guests too?", abort=True)
    _run(_console(), "destroy", env, only, inventory, lab, parallel)


def cancel(env: EnvOpt = "lab", only: OnlyOpt = None, inventory: InventoryOpt = None,
           lab: LabOpt = False) -> None:
    """Lift the lock a killed Pulumi run left on the env's stacks (a killed partilha run's are
    lifted by the next run on its own); refused while a partilha run works on them."""
    from partilha.automation import envs, operation

    chosen = envs.load_env(env, inventory, lab)
    stacks = chosen.select(only or [])
    operation.cancel(chosen, stacks)
    _console().print(f"lifted any lock on {', '.join(s.name for s in stacks)}", soft_wrap=True)
