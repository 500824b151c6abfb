"""The probe's outside rows: what a citizen on the internet reaches. From the outside, every
guest on every probed port, and in a lab the lab's host (the PVE API and the nodes' SSH) too; the
front door's ports are expected open, everything else filtered.

Where they are tried from: in a lab env, the lab's outside namespace (partilha.lab.sdn.outside);
in production, a host outside the data centre that the operator names (`--outside HOST`, over SSH
with its key pinned in the env's known_hosts). With neither, every outside row reads "not
applicable": neither passed nor failed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from partilha.automation.envs import Env
from partilha.errors import UserError
from partilha.inventory import Inventory, PlacedGuest
from partilha.inventory.flows import OUTSIDE, SSH_PORT, openings
from partilha.lab import LabInstance, control
from partilha.probe.matrix import Pair, ports

SOURCE = OUTSIDE  # the rows' `from`
NOT_APPLICABLE = "not applicable"


@dataclass(frozen=True)
class Vantage:
    """How to run the probe program out there: the command prefix, and what it is (for errors)."""

    argv: tuple[str, ...]
    what: str
    extra: tuple[tuple[str, str, tuple[int, ...]], ...] = ()  # (name, address, ports) besides guests


def vantage(env: Env, host: str | None) -> Vantage | None:
    """The env's outside: the named host, else a lab env's namespace, else none."""
    if host is not None:
        known = env.known_hosts(os.environ)
        return Vantage(("ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                        "-o", f"UserKnownHostsFile={known}", "-o", "ConnectTimeout=10", host, "--"),
                       f"outside host {host}")
    lab = env.lab_dir(os.environ) if env.lab else None
    if lab is None:
        return None
    instance = LabInstance.load(lab)
    citizen = control.citizen(instance)
    if citizen is None:
        raise UserError(f"the lab in {lab} has no outside namespace yet (`partilha lab up`)")
    namespace, _, host_side = citizen
    return Vantage(("ip", "netns", "exec", namespace), f"the lab's outside namespace {namespace}",
                   (("lab-host", host_side, (SSH_PORT, instance.port)),))


def pairs(inventory: Inventory, placed: list[PlacedGuest], vantage: Vantage | None) -> list[Pair]:
    """Every outside row, expected as the declared flows say (the lab host: filtered)."""
    opened = {(o.guest.name, o.port) for o in openings(inventory, placed) if o.source == OUTSIDE}
    probed = ports(placed)
    rows = [Pair(SOURCE, g.name, port, "open" if (g.name, port) in opened and port in g.spec.ports
                 else "filtered") for g in placed for port in probed]
    for name, _, extra_ports in vantage.extra if vantage else ():
        rows += [Pair(SOURCE, name, port, "filtered") for port in extra_ports]
    return rows


def targets(rows: list[Pair], addresses: dict[str, str], vantage: Vantage) -> list[list[str | int]]:
    where = {**addresses, **{name: address for name, address, _ in vantage.extra}}
    return [[p.target, where[p.target], p.port] for p in rows]
