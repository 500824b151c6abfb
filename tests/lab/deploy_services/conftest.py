"""One throwaway lab for the service and hypervisor deploys (module scope): the lab's four node
hosts and one guest per role of the services catalogue (the front door publishing those of them
that are public), made as the tenant stacks make them, then deploys/hypervisor.py on the nodes
and deploys/services/<role>.py on the guests in one pyinfra run, timed.

The guests' VNets sit on free subnets instead of the inventory's (a user's lab may hold those):
the inventory is copied with those prefixes swapped and the host model built from that copy
with the function `partilha deploy` uses. The baseline is not part of this run (its own tests
cover it), so these hosts are reached as root.
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

from partilha.deploy import Result, run
from partilha.deploy.fleet import Fleet
from partilha.deploy.hosts import build_hosts
from partilha.deploy.plan import plan
from partilha.deploy.sources import lab_node_addresses, with_certificate
from partilha.inventory import Inventory, guests
from partilha.inventory.guests import PlacedGuest
from partilha.lab import throwaway
from partilha.lab.instance import LabInstance
from partilha.verify.report import Outcomes

ROOT = Path(__file__).resolve().parents[3]
RealiseGuests = Callable[..., tuple[Inventory, dict[str, dict[str, Any]]]]  # tests/lab/conftest.py
SUITES = ("test_hypervisor.py", "test_services.py")


@dataclass(frozen=True)
class Deployed:
    lab: LabInstance
    fleet: Fleet
    fleet_file: Path
    first_run: Result

    def deploy(self) -> Result:
        return deploy_roles(self.fleet, self.fleet_file.parent)

    def verify(self, *hosts: str) -> tuple[subprocess.CompletedProcess[str], Outcomes]:
        """tests/infra's hypervisor and service suites over the fleet (or `hosts` of it), as
        `pytest` runs them."""
        outcomes = self.fleet_file.with_name("controls.json")
        outcomes.unlink(missing_ok=True)
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", *(str(ROOT / "tests" / "infra" / s) for s in SUITES),
             "--rootdir", str(ROOT), "--fleet", str(self.fleet_file), "--controls-json", str(outcomes),
             "-p", "no:cacheprovider", "-q", *([f"--hosts={','.join(hosts)}"] if hosts else [])],
            cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
        return proc, Outcomes.load(outcomes)

    def attach(self, name: str, script: str) -> subprocess.CompletedProcess[str]:
        """A shell script run in the guest by the lab's host (lxc-attach): no SSH involved."""
        container = f"{self.lab.prefix}{self.fleet.host(name).extra['vmid']}"
        return subprocess.run(["lxc-attach", "-n", container, "--", "sh", "-c", script],
                              capture_output=True, text=True, timeout=60, check=False)


def deploy_roles(fleet: Fleet, workdir: Path) -> Result:
    """deploys/hypervisor.py on the nodes and each guest's service, all in one pyinfra run."""
    hypervisor, services = plan(fleet, "hypervisor"), plan(fleet, "services")
    return run({h.name: [*hypervisor[h.name], *services[h.name]] for h in fleet.hosts}, fleet, workdir)


def _one_guest_per_role(inventory: Inventory) -> list[PlacedGuest]:
    chosen: dict[str, PlacedGuest] = {}
    for guest in guests(inventory):
        chosen.setdefault(guest.spec.role, guest)
    return list(chosen.values())


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory, realise_guests: RealiseGuests,
             ssh_key: Path) -> Iterator[Deployed]:
    work, key = tmp_path_factory.mktemp("services"), ssh_key
    with throwaway(work / "lab", ROOT / "inventories" / "lab", "s",
                   node_key=key.with_suffix(".pub")) as (lab, creds):
        api = ProxmoxAPI("127.0.0.1", port=lab.port, user=creds["username"], password=creds["password"],
                         verify_ssl=str(lab.cert))
        inventory, outputs = realise_guests(api, _one_guest_per_role, key)
        hosts = [with_certificate(h, work / "frontdoor")  # the front door's, from a lab CA of its own
                 for h in build_hosts(inventory, outputs, lab_node_addresses(lab), "lab", lab=True)]
        fleet = Fleet("lab", tuple(hosts), lab.known_hosts, key)
        fleet_file = work / "run" / "fleet.json"
        fleet.save(fleet_file)
        yield Deployed(lab, fleet, fleet_file, deploy_roles(fleet, fleet_file.parent))
