"""The inventory's PVE nodes as real hosts (opt-in: `LabInstance.node_key`).

The lab's API plays the nodes; deploys/hypervisor.py and tests/infra need hosts to SSH into. Each
node is then also the LXC system container `<prefix>node-<name>` (a guest container, built by
partilha.lab.machine.lxc.containers) with the node's name as hostname, on the instance's node network:
the bridge `<prefix>node-br` (a hyphen no SDN id has, so no VNet can take it) with the host as
gateway, node number n (its position in the inventory, from 1) at host number 10 + n of a /24
chosen at the first `lab up` among 10.216.0.0/16's free ones and kept in the state.

Like a guest it gets fresh host keys pinned in the instance's known_hosts, root's
authorized_keys from the operator's key and the lab's apt proxy; what makes it a PVE node's
host (time, repositories, cluster SSH) is deploys/hypervisor.py's job. The lab's nftables table
keeps the node network a segment of its own (partilha.lab.machine.lxc.nftables, `nodes`), and the
bridge does not forward IPv4 either.

`lab up` creates the missing hosts and starts those of online nodes, node-down/node-up stop and
start one; `lab down` and `lab reset` stop and remove them with every other container, bridge
and the table of the instance's prefix (partilha.lab.lifecycle).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv4Network

from partilha.lab import cluster
from partilha.lab.instance import LabInstance
from partilha.lab.machine import GuestSpec, MachineError, VNetNet, free_subnet, machine
from partilha.lab.server.store import Store

SUBNET_META = "node_subnet"
SUBNET_BASE = "10.216"  # tests' VNets use 10.213/10.214, the benchmarks' 10.215, the drills' 10.218
FIRST_HOST = 10
WORKERS = 4
MEMORY_MIB = 512  # room for apt runs and what the deploys add


@dataclass(frozen=True)
class NodeNetwork:
    bridge: str
    subnet: IPv4Network

    @property
    def gateway(self) -> IPv4Interface:
        return IPv4Interface(f"{self.subnet[1]}/{self.subnet.prefixlen}")

    def address(self, number: int) -> IPv4Interface:
        """Node `number` (1-based, inventory order)."""
        return IPv4Interface(f"{self.subnet[FIRST_HOST + number]}/{self.subnet.prefixlen}")


def container_name(instance: LabInstance, node: str) -> str:
    return f"{instance.prefix}node-{node}"


def _network(instance: LabInstance, subnet: str) -> NodeNetwork:
    return NodeNetwork(machine.bridge_name(instance.prefix, "node-br"), IPv4Network(subnet))


def claim_network(store: Store, instance: LabInstance) -> NodeNetwork:
    """The instance's node network, its subnet chosen now if the state has none yet."""
    subnet = store.meta(SUBNET_META)
    if subnet is None:
        subnet = str(free_subnet(SUBNET_BASE, "the lab's node network"))
        store.set_meta(SUBNET_META, subnet)
    return _network(instance, subnet)


def node_network(store: Store, instance: LabInstance) -> NodeNetwork | None:
    """The node network, or None when the instance has no node hosts (or none were made yet)."""
    subnet = store.meta(SUBNET_META)
    return _network(instance, subnet) if instance.node_hosts and subnet is not None else None


def firewall_net(store: Store, instance: LabInstance) -> VNetNet | None:
    """The node network as the lab's nftables table sees it."""
    net = node_network(store, instance)
    return VNetNet(net.bridge, net.gateway) if net else None


def addresses(store: Store, instance: LabInstance) -> dict[str, str]:
    """Node name -> its host's address (empty without node hosts)."""
    net = node_network(store, instance)
    if net is None:
        return {}
    return {n.name: str(net.address(i).ip) for i, n in enumerate(cluster.nodes(store), start=1)}


def _spec(store: Store, instance: LabInstance, net: NodeNetwork, node: str) -> GuestSpec:
    names = [n.name for n in cluster.nodes(store)]
    key = instance.node_key.read_text() if instance.node_key else ""
    return GuestSpec(
        name=container_name(instance, node), vmid=0,  # not a PVE guest: no vmid
        hostname=node, bridge=net.bridge, ip=net.address(names.index(node) + 1),
        gateway=net.gateway.ip, guests_root=instance.guests_root, ssh_public_keys=(key,),
        memory_mib=MEMORY_MIB, swap_mib=MEMORY_MIB // 2, apt_proxy_port=instance.cache_port)


def _create(store: Store, instance: LabInstance, net: NodeNetwork, node: str) -> GuestSpec:
    spec = _spec(store, instance, net, node)
    if not machine.container_exists(spec.name):
        machine.create_container(spec, machine.template(), instance.known_hosts)
    return spec


def ensure_network(net: NodeNetwork) -> None:
    # The subnet was free when this lab chose it; another lab may have taken it while this one
    # was down (a stopped lab holds no route). Two bridges on one subnet would break both.
    users = machine.interfaces_in(net.subnet) - {net.bridge}
    if users:
        raise MachineError(f"the node network {net.subnet} is in use on {', '.join(sorted(users))}; "
                           "reset this lab (`partilha lab reset`) to choose another")
    machine.ensure_vnet(net.bridge, gateway=net.gateway)
    # A segment of its own: nothing arriving on it is routed (the firewall drops it too).
    machine.stop_forwarding(net.bridge)


def bring_up(store: Store, instance: LabInstance) -> list[str]:
    """The node network, the missing node hosts, and the hosts of online nodes started; what
    failed, in words. Existing hosts are started as they are: what deploys changed stays."""
    if instance.node_key is None:
        return []
    if not instance.node_key.is_file():
        raise MachineError(f"{instance.node_key}: no such public key for the node hosts' root")
    net = claim_network(store, instance)
    ensure_network(net)

    def up(node: cluster.NodeRow) -> str | None:
        try:
            spec = _create(store, instance, net, node.name)
            if node.online:
                machine.start(spec)
        except Exception as exc:
            return f"node host {node.name} did not start: {exc}"
        return None

    with ThreadPoolExecutor(WORKERS) as pool:
        return [p for p in pool.map(up, cluster.nodes(store)) if p]


def start(store: Store, instance: LabInstance, node: str) -> None:
    """Boot one node's host (node-up); nothing without node hosts."""
    net = node_network(store, instance)
    if net is not None:
        machine.start(_create(store, instance, net, node))


def stop(instance: LabInstance, node: str) -> None:
    """Power one node's host off (node-down: killed, as the node's guests are)."""
    if instance.node_hosts:
        machine.stop(container_name(instance, node))
