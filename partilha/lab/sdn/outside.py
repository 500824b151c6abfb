"""The outside: what stands for the internet beyond the cluster's uplink, so a test can be a
citizen. A network namespace `<prefix>outside` whose one link (`uplink`) meets the host's end
`<prefix>outsideh` on a /24 of 10.217.0.0/16 chosen at the first `lab up` and kept in the state: the
host end is its gateway (host 1), the citizen is host 2.

The host routes what the citizen sends towards the VNets, and the lab's nftables table filters it
as PVE's firewall filters routed traffic (partilha.lab.machine.lxc.nftables, `uplink`): only
what a cluster `forward` rule accepts gets in, and nothing on the host itself answers. `lab up`
makes it, `lab down` and `lab reset` remove it with the lab's other namespaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv4Network

from partilha.lab.instance import LabInstance
from partilha.lab.machine import MachineError, VNetNet, free_subnet, machine
from partilha.lab.server.store import Store

SUBNET_META = "outside_subnet"
SUBNET_BASE = "10.217"  # beside the node networks' 10.216


@dataclass(frozen=True)
class Outside:
    namespace: str
    host_end: str
    subnet: IPv4Network

    @property
    def gateway(self) -> IPv4Interface:
        return IPv4Interface(f"{self.subnet[1]}/{self.subnet.prefixlen}")

    @property
    def citizen(self) -> IPv4Interface:
        return IPv4Interface(f"{self.subnet[2]}/{self.subnet.prefixlen}")


def names(instance: LabInstance) -> tuple[str, str]:
    """(namespace, host end) of the instance's outside."""
    namespace = f"{instance.prefix}outside"
    return namespace, machine.namespace_link(namespace)


def claim(store: Store, instance: LabInstance) -> Outside:
    """The instance's outside, its subnet chosen now if the state has none yet."""
    subnet = store.meta(SUBNET_META)
    if subnet is None:
        subnet = str(free_subnet(SUBNET_BASE, "the lab's outside"))
        store.set_meta(SUBNET_META, subnet)
    return Outside(*names(instance), IPv4Network(subnet))


def outside(store: Store, instance: LabInstance) -> Outside | None:
    subnet = store.meta(SUBNET_META)
    return Outside(*names(instance), IPv4Network(subnet)) if subnet else None


def firewall_net(store: Store, instance: LabInstance) -> VNetNet | None:
    """The uplink as the lab's nftables table sees it."""
    out = outside(store, instance)
    return VNetNet(out.host_end, out.gateway) if out else None


def ensure(out: Outside) -> None:
    # chosen free at the first `lab up`; another lab may have taken it while this one was down
    users = machine.interfaces_in(out.subnet) - {out.host_end}
    if users:
        raise MachineError(f"the outside's network {out.subnet} is in use on {', '.join(sorted(users))}; "
                           "reset this lab (`partilha lab reset`) to choose another")
    machine.ensure_namespace(out.namespace, out.citizen, out.gateway)
