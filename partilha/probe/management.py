"""Where the probe stands on the management network: in a lab env a probe point the lab makes
on the management VNet (a host at the network's last address, routed through its gateway as a
management workstation would be); elsewhere this host, which is on the management network
already (the only place the guests' SSH, which the probe logs in with, is open from)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import IPv4Interface

from partilha.automation.envs import Env
from partilha.lab import LabInstance, control

PROBE_POINT = "mgmt"  # the lab's namespace: <lab prefix>mgmt


@contextmanager
def vantage_point(env: Env) -> Iterator[list[str]]:
    """The command prefix that runs a program on the management network."""
    lab = env.lab_dir(os.environ)
    vnet = next((v for v in env.inventory.networks.vnets if v.purpose == "management"), None)
    if lab is None or vnet is None:
        yield []
        return
    address = IPv4Interface(f"{vnet.prefix[-2]}/{vnet.prefix.prefixlen}")
    with control.probe_point(LabInstance.load(lab), PROBE_POINT, vnet.id, address) as command:
        yield command
