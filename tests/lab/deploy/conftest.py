"""A throwaway lab with three guests of the lab inventory, made as the tenant stacks make them,
and the fleet partilha deploys to (module scope: deploy once, test many things, reset).

The guests are abrantes-portal and abrantes-dms (one VNet, so one can probe the other's
firewall) and cim-medio-tejo-gis. Their VNets sit on free subnets instead of the inventory's
(a user's lab may hold those): the inventory is copied with those prefixes swapped, and the
host model is built from that copy with the same pure function `partilha deploy` uses.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI

from partilha.deploy import Result, deploy_path, run
from partilha.deploy.fleet import Fleet
from partilha.deploy.hosts import build_hosts
from partilha.inventory import Inventory, guests
from partilha.lab import throwaway
from partilha.lab.instance import LabInstance

ROOT = Path(__file__).resolve().parents[3]
RealiseGuests = Callable[..., tuple[Inventory, dict[str, dict[str, Any]]]]  # tests/lab/conftest.py
GUESTS = ("abrantes-portal", "abrantes-dms", "cim-medio-tejo-gis")
PARTILHA = str(Path(sys.executable).with_name("partilha"))


@dataclass(frozen=True)
class Deployed:
    lab: LabInstance
    fleet: Fleet
    fleet_file: Path
    reports: Path
    first_run: Result  # the first baseline run, made by the fixture

    def container(self, name: str) -> str:
        return f"{self.lab.prefix}{self.fleet.host(name).extra['vmid']}"

    def attach(self, name: str, script: str) -> subprocess.CompletedProcess[str]:
        """A shell script run in the guest by the lab's host (lxc-attach): no SSH involved."""
        return subprocess.run(["lxc-attach", "-n", self.container(name), "--", "sh", "-c", script],
                              capture_output=True, text=True, timeout=60, check=False)

    def partilha(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The `partilha` command, as a user runs it, on this fleet."""
        return subprocess.run([PARTILHA, *args, "--fleet", str(self.fleet_file)], capture_output=True,
                              text=True, timeout=1200, check=False, cwd=ROOT)

    def ssh(self, name: str, user: str, *command: str) -> subprocess.CompletedProcess[str]:
        host = self.fleet.host(name)
        return subprocess.run(
            ["ssh", "-F", "/dev/null", "-i", str(self.fleet.ssh_key), "-o", "IdentitiesOnly=yes",
             "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={self.fleet.known_hosts}",
             "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-l", user, host.address, *command],
            capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory, realise_guests: RealiseGuests,
             ssh_key: Path) -> Iterator[Deployed]:
    work, key = tmp_path_factory.mktemp("deploy"), ssh_key
    with throwaway(work / "lab", ROOT / "inventories" / "lab", "d") as (lab, creds):
        api = ProxmoxAPI("127.0.0.1", port=lab.port, user=creds["username"], password=creds["password"],
                         verify_ssl=str(lab.cert))
        inventory, outputs = realise_guests(
            api, lambda inv: [g for g in guests(inv) if g.name in GUESTS], key)
        hosts = build_hosts(inventory, outputs, {}, "lab", lab=True)
        fleet = Fleet("lab", tuple(hosts), lab.known_hosts, key)
        fleet_file = work / "run" / "fleet.json"
        fleet.save(fleet_file)
        first = run([deploy_path("baseline")], fleet, fleet_file.parent)
        yield Deployed(lab, fleet, fleet_file, work / "reports", first)
