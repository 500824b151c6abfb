"""Realising the applied SDN config on this machine: one bridge per VNet (its subnet gateway on the
host side), a trunk bridge per vlan zone, and the instance's nftables table that isolates VNets
from each other and from everything else and enforces the PVE firewall config. Run by the
`reloadnetworkall` task and at `lab up`; `firewall_change` re-applies the table on firewall edits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

from partilha.lab import firewall, guests, sdn
from partilha.lab.cluster import node_hosts
from partilha.lab.firewall import firewall_translate
from partilha.lab.guests import guest_apply
from partilha.lab.instance import LabInstance
from partilha.lab.machine import LabFirewall, MachineError, VNetNet, machine
from partilha.lab.sdn import outside
from partilha.lab.server.store import Store

Log = Callable[[str], None]
_REALISING = threading.Lock()  # one reload at a time per process


def lab_firewall(store: Store, instance: LabInstance, vnets: list[sdn.AppliedVNet],
                 zone_bridges: list[str]) -> LabFirewall:
    """The table for the running SDN config and the firewall config in the state."""
    with_gateway = tuple(VNetNet(v.bridge, v.gateway) for v in vnets if v.gateway)
    others = tuple(zone_bridges) + tuple(v.bridge for v in vnets if v.gateway is None)
    cluster_firewall = firewall.cluster(store)
    return LabFirewall(
        instance.nft_table, vnets=with_gateway, zone_bridges=others,
        cache_port=instance.cache_port, allow=firewall_translate.forward_rules(cluster_firewall),
        guests=firewall_translate.guest_firewalls(cluster_firewall, guests.every(store),
                                                  firewall.every_guest(store),
                                                  partial(guest_apply.container_name, instance)),
        nodes=node_hosts.firewall_net(store, instance), uplink=outside.firewall_net(store, instance),
        vnet_filters=firewall_translate.vnet_firewalls(cluster_firewall, firewall.every_vnet(store),
                                                       {v.vnet: v.bridge for v in vnets}))


def _zone_bridges(store: Store, instance: LabInstance) -> list[str]:
    zones = sdn.objects(store, "zones", running=True)
    return sorted({machine.bridge_name(instance.prefix, str(z["bridge"]))
                   for z in zones.values() if z["type"] == "vlan" and z.get("bridge")})


@contextmanager
def firewall_change(store: Store, instance: LabInstance) -> Iterator[None]:
    """A firewall config edit (one transaction) and the table re-applied before it commits, as
    pve-firewall applies within seconds: a table nft refuses leaves the state as it was."""
    with _REALISING, store.tx():
        yield
        vnets = sdn.applied_vnets(store, instance.prefix)
        machine.apply_firewall(lab_firewall(store, instance, vnets, _zone_bridges(store, instance)))


def guest_changed(store: Store, instance: LabInstance, vmid: int, destroyed: bool = False) -> None:
    """Guest rules match on the guest's net0 address: re-apply the table when a guest with a
    firewall config changed its address or was destroyed (its `.fw` goes with it, as PVE's
    `remove_vmfw_conf`)."""
    if vmid not in firewall.every_guest(store):
        return
    with firewall_change(store, instance):
        if destroyed:
            firewall.remove_guest(store, vmid)


def realise(store: Store, instance: LabInstance, log: Log) -> None:
    """Make the host's bridges and firewall match the running SDN config (idempotent)."""
    with _REALISING:
        _realise(store, instance, log)


def _realise(store: Store, instance: LabInstance, log: Log) -> None:
    vnets = sdn.applied_vnets(store, instance.prefix)
    zone_bridges = _zone_bridges(store, instance)
    clash = sorted({v.bridge for v in vnets} & set(zone_bridges))
    if clash:
        raise MachineError(f"bridge {clash[0]} would be both a VNet and a zone's trunk")
    vlan_layer = True
    for bridge in zone_bridges:
        vlan_layer = machine.ensure_zone(bridge, vlan_aware=True) and vlan_layer
    if zone_bridges and not vlan_layer:
        log("note: this kernel has no bridge VLAN filtering; each VNet stays its own segment")
    for v in vnets:
        trunk = v.zone_bridge if v.zone_bridge and v.tag is not None else None
        machine.ensure_vnet(v.bridge, gateway=v.gateway, zone=trunk,
                            tag=v.tag if trunk else None)
        where = f" gateway {v.gateway}" if v.gateway else " (no IPv4 gateway)"
        log(f"vnet {v.vnet}: bridge {v.bridge}{where}")
    nodes = node_hosts.node_network(store, instance)  # not SDN's, but of the prefix
    wanted = {v.bridge for v in vnets} | set(zone_bridges) | ({nodes.bridge} if nodes else set())
    for bridge in machine.bridges(instance.prefix):
        if bridge not in wanted:
            machine.remove_vnet(bridge)
            log(f"removed bridge {bridge}")
    machine.apply_firewall(lab_firewall(store, instance, vnets, zone_bridges))
    log(f"firewall: nftables table inet {instance.nft_table} applied")
    world = outside.outside(store, instance)
    if world is not None:
        outside.ensure(world)
        log(f"outside: namespace {world.namespace} at {world.citizen.ip} via {world.host_end}")


def teardown(instance: LabInstance) -> None:
    """Remove the instance's namespaces (its probe points and outside), bridges and nftables
    table. Idempotent."""
    machine.remove_namespaces(instance.prefix)
    machine.remove_firewall(instance.nft_table)
    machine.remove_bridges(instance.prefix)
