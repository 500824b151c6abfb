"""What the `partilha up` benchmarks share: an operator with a throwaway PARTILHA_HOME (state
backend, passphrase, token store, SSH key) and the admin token of a throwaway lab exported, running
the real `partilha` command; the lab's access log as figures; the machine's memory, sampled.

The benchmarks use a generated lab env (`--env bench --lab --inventory ...`): its stack config goes
to the throwaway home, never into the checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import labbench

from partilha.automation import project
from partilha.inventory import load_inventory
from partilha.lab import LabInstance, access_log
from partilha.proxmox.endpoint import lab_env
from partilha.workspace import Workspace

ENV = "bench"
PROVIDERS = "pulumi:providers:"
GIB = 1024**3


@dataclass
class Operator:
    lab: LabInstance
    home: Path
    env: dict[str, str]

    def partilha(self, *args: str, check: bool = True) -> float:
        """Run `partilha *args` (its output shown as it goes); the wall time, seconds. A failure
        stops the benchmark unless `check` is false (a runbook that reports what failed)."""
        started = time.monotonic()
        done = subprocess.run([str(labbench.ROOT / ".venv" / "bin" / "partilha"), *args], env=self.env,
                              cwd=self.home, check=False)
        seconds = time.monotonic() - started
        if check and done.returncode != 0:
            raise SystemExit(f"`partilha {' '.join(args)}` failed after {seconds:.0f} s")
        return seconds

    def resources(self) -> int:
        """The objects on Proxmox VE the env's stacks hold: their custom resources, providers left
        out (components only group them)."""
        env = {**self.env, **project.run_env(Workspace(self.home))}
        pulumi = str(labbench.ROOT / ".tools" / "bin" / "pulumi")
        work = self.home / ".partilha" / "envs" / ENV

        def run(*args: str) -> Any:
            return json.loads(subprocess.run([pulumi, *args], cwd=work, env=env, capture_output=True,
                                             text=True, check=True).stdout)

        count = 0
        for stack in run("stack", "ls", "--json"):
            resources = run("stack", "export", "--stack", stack["name"])["deployment"].get("resources", [])
            count += sum(1 for r in resources if r.get("custom") and not r["type"].startswith(PROVIDERS))
        return count


def require_free_networks(inventory: Path) -> None:
    """The lab makes a bridge per VNet with the inventory's prefix: another lab of the same
    inventory (the user's, left up by `make demo`) would make the host's routes ambiguous."""
    routes = subprocess.run(["ip", "-4", "route", "show"], capture_output=True, text=True, check=True).stdout
    routed = {IPv4Network(line.split()[0], strict=False) for line in routes.splitlines()
              if line.split() and line.split()[0][0].isdigit()}
    for vnet in load_inventory(inventory).networks.vnets:
        taken = [str(net) for net in routed if net.overlaps(vnet.prefix) and net.prefixlen > 0]
        if taken:
            raise SystemExit(f"VNet {vnet.id} ({vnet.prefix}) overlaps {', '.join(taken)}, routed on this "
                             "host already: stop the lab using it (`partilha lab down`) first")


@contextmanager
def operator(inventory: Path) -> Iterator[Operator]:
    require_free_networks(inventory)
    with tempfile.TemporaryDirectory(prefix="partilha-bench-") as tmp, \
            labbench.throwaway_lab(Path(tmp) / "lab", inventory) as (lab, _):
        home = Path(tmp) / "home"
        home.mkdir()
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_VE_", "PULUMI_"))}
        env = {**environ, "PARTILHA_HOME": str(home), **lab_env(lab.credentials, lab.cert)}
        yield Operator(lab, home, env)


def print_calls(entries: list[access_log.Entry], top: int = 25) -> None:
    writes = sum(1 for e in entries if e.write)
    print(f"API calls: {len(entries)} ({writes} writes, {len(entries) - writes} reads)")
    for route, n in access_log.by_route(entries).most_common(top):
        print(f"  {n:6d}  {route}")
    callers = Counter(e.caller for e in entries)
    print("by caller: " + ", ".join(f"{c} {n}" for c, n in callers.most_common()))


def used_bytes() -> int:
    """The machine's memory in use (MemTotal - MemAvailable)."""
    info = {line.split(":")[0]: int(line.split()[1]) * 1024
            for line in Path("/proc/meminfo").read_text().splitlines()}
    return info["MemTotal"] - info["MemAvailable"]


class PeakMemory:
    """The machine's highest memory use while the block runs, sampled every half second."""

    def __init__(self) -> None:
        self.before = self.peak = used_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            self.peak = max(self.peak, used_bytes())

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def report(self) -> str:
        return (f"memory in use: {self.before / GIB:.1f} GiB before, peak {self.peak / GIB:.1f} GiB "
                f"(+{(self.peak - self.before) / GIB:.1f} GiB)")
