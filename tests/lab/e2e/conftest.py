"""End to end: the real `partilha` command, the real program in stacks/, a throwaway lab.

`cli` runs `partilha ...` as an operator would, in a Pulumi project directory of its own: a
Pulumi.yaml that runs the checkout's program, and the lab env's stack config committed there as a
production env's would be (saying `partilha:lab: "true"` itself), so neither the checkout nor the
user's .partilha is ever touched. Its PARTILHA_HOME is throwaway (state backend, passphrase, token
store, operator key), and the lab's endpoint and *admin* token are exported, as an operator's shell would have
them: municipality stacks must still act with their own tokens only.

The stack config names a copy of inventories/lab whose VNets sit on free subnets: a user's own
lab (which `make demo` leaves running) holds the inventory's, and two bridges with one subnet
would make the host's routes ambiguous.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest
import yaml
from proxmoxer import ProxmoxAPI

from partilha.automation import project
from partilha.inventory import Inventory, load_inventory
from partilha.lab import relocated, throwaway
from partilha.lab.instance import LabInstance
from partilha.lab.server import access_log
from partilha.lab.server.faults import Faults, save
from partilha.lab.server.store import Store
from partilha.proxmox.endpoint import lab_env
from partilha.workspace import Workspace

ROOT = Path(__file__).resolve().parents[3]
GUEST_TYPE = "pulumi-python:dynamic/proxmox:Guest"
TIMEOUT = 1500  # seconds for one `partilha` run: a bound, not a target


@dataclass
class Cli:
    lab: LabInstance
    project: Path
    home: Path
    env: dict[str, str]
    inventory: Inventory  # what the stacks realise

    def __call__(self, *args: str, timeout: float = TIMEOUT, stdin: str = "",
                 **env: str) -> subprocess.CompletedProcess[str]:
        """`partilha *args`, with `env` on top of the operator's environment and `stdin` fed to it."""
        return subprocess.run([str(ROOT / ".venv" / "bin" / "partilha"), *args], cwd=self.project,
                              env={**self.env, **env}, capture_output=True, text=True, timeout=timeout,
                              input=stdin, check=False)

    def pulumi(self, *args: str) -> Any:
        """`pulumi ... --json`-style commands of the checkout's CLI, parsed."""
        env = {**self.env, **project.run_env(Workspace(self.home))}
        done = subprocess.run([str(ROOT / ".tools" / "bin" / "pulumi"), *args], cwd=self.project, env=env,
                              capture_output=True, text=True, timeout=120, check=True)
        return json.loads(done.stdout)

    def stacks(self) -> list[str]:
        return sorted(s["name"] for s in self.pulumi("stack", "ls", "--json"))

    def outputs(self, stack: str) -> dict[str, Any]:
        return dict(self.pulumi("stack", "output", "--json", "--show-secrets", "--stack", stack))

    def state_vmids(self) -> set[int]:
        """The vmids of every Guest resource in every stack's state."""
        vmids = set()
        for stack in self.stacks():
            deployment = self.pulumi("stack", "export", "--stack", stack)["deployment"]
            vmids |= {int(r["outputs"]["vmid"]) for r in deployment.get("resources", [])
                      if r["type"] == GUEST_TYPE and "vmid" in r.get("outputs", {})}
        return vmids

    def mark(self) -> int:
        return access_log.mark(self.lab.state_dir)

    def calls(self, since: int) -> list[access_log.Entry]:
        return access_log.read(self.lab.state_dir, since)

    def faults(self, rate: float, seed: int | None = None) -> None:
        """`partilha lab faults --rate` on this lab instance."""
        with Store(self.lab.db) as store:
            save(store, Faults(rate, seed))


def _write_lab_stacks(work: Path, inventory: Path) -> None:
    """The stack config files of a lab env named `lab` for `inventory`, in project `work`."""
    slugs = [m.slug for m in load_inventory(inventory).municipalities]
    for word in ("platform", "shared", *slugs):
        config = {"partilha:env": "lab", "partilha:inventory": str(inventory), "partilha:lab": "true"}
        if word in slugs:
            config["partilha:tokenStore"] = f"lab-{word}"
        (work / f"Pulumi.lab-{word}.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))


def lab_cli(lab: LabInstance, folder: Path, subnet_pool: Callable[[int], list[IPv4Network]],
            shape: Callable[[Path, Path], None] | None = None) -> Cli:
    """A lab env named `lab`, on a copy of the lab inventory moved to free subnets, with its own
    project and PARTILHA_HOME under `folder`; `shape(project, inventory)` edits them first."""
    work, home = folder / "project", folder / "home"
    home.mkdir()
    source = ROOT / "inventories" / "lab"
    inventory = relocated(source, folder / "inventory",
                          subnet_pool(len(load_inventory(source).networks.vnets)))
    project.write_project(work)
    if shape is not None:
        shape(work, inventory)
    _write_lab_stacks(work, inventory)
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_VE_", "PULUMI_"))}
    env = {**environ, "PARTILHA_HOME": str(home), "NO_COLOR": "1", **lab_env(lab.credentials, lab.cert)}
    # the lab fixture's reset removes whatever the stacks made
    return Cli(lab, work, home, env, load_inventory(inventory))


@pytest.fixture(scope="module")
def cli(lab: LabInstance, tmp_path_factory: pytest.TempPathFactory,
        subnet_pool: Callable[[int], list[IPv4Network]]) -> Cli:
    return lab_cli(lab, tmp_path_factory.mktemp("e2e"), subnet_pool)


@contextmanager
def own_lab_cli(folder: Path, subnet_pool: Callable[[int], list[IPv4Network]]) -> Iterator[Cli]:
    """`lab_cli` on a throwaway lab of its own (in `folder`), removed at the end."""
    with throwaway(folder / "lab", ROOT / "inventories" / "lab", "t") as (instance, _):
        yield lab_cli(instance, folder, subnet_pool)


@dataclass(frozen=True)
class Up:
    """A `partilha up` of the whole env: its run, and the API calls it made."""
    run: subprocess.CompletedProcess[str]
    calls: list[access_log.Entry]


class WholeLab:
    """The whole lab inventory made by one `partilha up` on a throwaway lab, made when a module
    first asks for it. The modules that take the env as that `up` left it share it (test_frontdoor,
    then test_up, which changes it, destroys it and `close`s it), instead of each making its own."""

    def __init__(self, factory: pytest.TempPathFactory, subnet_pool: Callable[[int], list[IPv4Network]]):
        self._factory, self._subnet_pool = factory, subnet_pool
        self._made: tuple[ExitStack, Cli, Up] | None = None

    def get(self) -> tuple[Cli, Up]:
        if self._made is None:
            with ExitStack() as stack:
                cli = stack.enter_context(own_lab_cli(self._factory.mktemp("whole"), self._subnet_pool))
                since = cli.mark()
                run = cli("up", "--env", "lab")
                self._made = stack.pop_all(), cli, Up(run, cli.calls(since))
        return self._made[1], self._made[2]

    def close(self) -> None:
        """The lab removed, whatever the modules did to it."""
        if self._made is not None:
            stack, self._made = self._made[0], None
            stack.close()


@pytest.fixture(scope="package")
def whole_lab(tmp_path_factory: pytest.TempPathFactory,
              subnet_pool: Callable[[int], list[IPv4Network]]) -> Iterator[WholeLab]:
    shared = WholeLab(tmp_path_factory, subnet_pool)
    try:
        yield shared
    finally:
        shared.close()


def lab_vmids(api: ProxmoxAPI) -> set[int]:
    """Every guest the lab has (templates left out)."""
    return {int(r["vmid"]) for r in api.cluster.resources.get(type="vm") if not r.get("template")}
