"""`partilha deploy [baseline|hypervisor|services|all|controls]` and `partilha verify`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from partilha.errors import UserError
from partilha.workspace import Workspace

if TYPE_CHECKING:
    from rich.status import Status

    from partilha.deploy import Fleet, Result
    from partilha.deploy.plan import What
    from partilha.verify import Verification

console = Console(highlight=False, emoji=False)
EnvOpt = Annotated[str, typer.Option("--env", help="environment: its inventory, stacks and hosts")]
LimitOpt = Annotated[list[str] | None, typer.Option("--limit", help="only this host, address or group "
                                                                    "(repeatable)")]
FleetOpt = Annotated[Path | None, typer.Option("--fleet", help="a fleet file to use instead of building "
                                                               "one from the inventory and the stacks")]
InventoryOpt = Annotated[Path | None, typer.Option("--inventory", help="inventory folder (default: the "
                                                                       "env's, as `partilha up` has it)")]
NodesOpt = Annotated[Path | None, typer.Option("--nodes", help="JSON of node name -> address (default: "
                                                               "the lab's node hosts in the lab)")]


def _fleet(env: str, fleet_file: Path | None, inventory: Path | None,
           nodes: Path | None) -> tuple[Fleet, Path]:
    """The fleet and the folder its runs keep their files in."""
    from partilha.automation import envs
    from partilha.deploy import Fleet
    from partilha.deploy.fleet import FLEET_FILE
    from partilha.deploy.sources import fleet_for

    if fleet_file is not None:
        return Fleet.load(fleet_file), fleet_file.resolve().parent
    made = envs.load_env(env, inventory)
    fleet = fleet_for(made, nodes)
    fleet.save(made.workdir / FLEET_FILE)
    return fleet, made.workdir


def deploy(
    what: Annotated[str, typer.Argument(help="baseline | hypervisor | services | all | controls")] = "all",
    env: EnvOpt = "lab",
    limit: LimitOpt = None,
    fleet_file: FleetOpt = None,
    inventory: InventoryOpt = None,
    nodes: NodesOpt = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="controls: the README table")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="list what changed on each host")] = False,
) -> None:
    """Apply the deploys with pyinfra (strict host keys, all hosts in parallel); show what changed."""
    from partilha.deploy import run
    from partilha.deploy.plan import WHATS, plan

    if what == "controls":
        _controls(markdown)
        return
    if what not in WHATS:
        raise UserError(f"unknown deploy {what!r}: choose baseline, hypervisor, services, all or controls")
    fleet, workdir = _fleet(env, fleet_file, inventory, nodes)
    steps = plan(fleet, _what(what))  # the whole fleet: the limit is the run's, not the inventory's
    count = sum(1 for h in fleet.select(limit or []).hosts if steps[h.name])
    if not count:
        raise UserError(f"no host of the {fleet.env} fleet {'in --limit ' if limit else ''}gets the "
                        f"{what} deploy")
    with console.status(f"deploy {what}: connecting to {count} hosts") as status:
        result = run(steps, fleet, workdir, limit=limit or [],
                     on_line=lambda line: _progress(status, what, line))
    _show(result, fleet, verbose)
    console.print(f"log: {escape(str(workdir / 'pyinfra.log'))}", soft_wrap=True)
    if result.failures:
        raise UserError("deploy failed on " + "; ".join(f"{h}: {why}" for h, why in result.failures.items()))


def _what(what: str) -> What:
    from partilha.deploy.plan import WHATS

    for known in WHATS:
        if known == what:
            return known
    raise UserError(f"unknown deploy {what!r}")


def _progress(status: Status, what: str, line: str) -> None:
    if line.startswith("--> Starting operation:"):
        op = line.removeprefix("--> Starting operation:").strip()
        status.update(f"deploy {what}: {escape(op)}")


def _show(result: Result, fleet: Fleet, verbose: bool) -> None:
    table = Table("host", "kind", "address", "changes", "result")
    for name in result.hosts:
        host = fleet.host(name)
        changes = str(result.changes[name]) if name in result.changes else "—"
        failure = result.failures.get(name)
        outcome = f"[red]failed[/]: {escape(failure)}" if failure else "[green]ok[/]"
        table.add_row(name, host.kind, host.address, changes, outcome)
    console.print(table)
    if verbose:
        for name, ops in result.changed_ops.items():
            for op in ops:
                console.print(f"  {name}: {escape(op)}", soft_wrap=True)
    state = "converged: no host changed" if result.total_changes == 0 and result.ok else \
        f"{result.total_changes} changes on {sum(1 for n in result.changes.values() if n)} hosts"
    console.print(f"{len(result.hosts)} hosts in {result.seconds:.1f} s; {state}")


def _controls(markdown: bool) -> None:
    from partilha.deploy.catalogue import catalogues, markdown_table

    modules = catalogues()
    if markdown:
        typer.echo(markdown_table(modules), nl=False)
        return
    table = Table("ID", "control", "applies to", "dev-sec", "CIS")
    for module in modules:
        for c in module.CONTROLS:
            where = c.hosts + (" (n/a in containers)" if c.in_container else "")
            table.add_row(c.id, c.title, where, ", ".join(c.devsec), ", ".join(c.cis))
    console.print(table)


def verify(
    what: Annotated[str, typer.Argument(help="baseline | hypervisor | services | all")] = "all",
    env: EnvOpt = "lab",
    limit: LimitOpt = None,
    fleet_file: FleetOpt = None,
    inventory: InventoryOpt = None,
    nodes: NodesOpt = None,
    reports: Annotated[Path | None, typer.Option(
        "--reports", help="folder for the JUnit XML and Markdown (default .partilha/reports/<env>)")] = None,
) -> None:
    """Prove every control on every host with testinfra (tests/infra); JUnit XML + Markdown report."""
    from partilha.deploy.fleet import FLEET_FILE
    from partilha.verify import verify_fleet

    fleet, workdir = _fleet(env, fleet_file, inventory, nodes)
    out_dir = reports or Workspace.find().reports(fleet.env)
    fleet_path = fleet_file or workdir / FLEET_FILE
    if limit:
        fleet.select(limit)  # unknown names fail here, with the fleet's names
    with console.status(f"verify: {len(fleet.select(limit or []).hosts)} hosts"):
        result = verify_fleet(fleet_path, out_dir, what=what, hosts=limit or [])
    _summary(result)
    failed = [f"{o.control} on {o.host} ({o.message})" for o in result.outcomes.failures
              if o.host not in result.outcomes.unreachable]
    failed += [f"{host} refused: {why}" for host, why in result.outcomes.unreachable.items()]
    if failed:
        raise UserError(f"{len(failed)} failed: " + "; ".join(failed))
    if not result.outcomes.items:
        raise UserError("no control was tested")


def _summary(result: Verification) -> None:
    out = result.outcomes
    table = Table("control", "pass", "fail", "n/a")
    for control in out.controls:
        mine = [o for o in out.items if o.control == control]
        counts = [sum(1 for o in mine if o.outcome == s) for s in ("passed", "failed", "na")]
        fail = f"[red]{counts[1]}[/]" if counts[1] else "0"
        table.add_row(control, str(counts[0]), fail, str(counts[2]))
    console.print(table)
    console.print(f"{len(out.hosts)} hosts, {len(out.controls)} controls in {result.seconds:.1f} s: "
                  f"{out.count('passed')} passed, {out.count('failed')} failed, {out.count('na')} not "
                  f"applicable", soft_wrap=True)
    console.print("isolation: " + (result.isolation.summary().replace("**", "") if result.isolation
                                   else "no probe yet (`partilha probe`)"), soft_wrap=True, markup=False)
    console.print(f"report: {escape(str(result.report))}\njunit: {escape(str(result.junit))}", soft_wrap=True)
