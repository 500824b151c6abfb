"""Failure drills: `node-down` is a power loss of one logical node, `node-up` its boot.

A node going down takes its running guests and its host (partilha.lab.cluster.node_hosts) with
it (their containers are killed, not shut down, and the state records the guests stopped), the
API reports the node offline and calls to it fail as PVE's proxying to a dead node does
(partilha.lab.cluster.routes_nodes.online_node). When it comes back its host boots and it starts the
guests marked `onboot`, as a booting PVE node does, and its vote counts again (expected votes
lowered with `pvecm expected` rise with it); HA recovery is not simulated (the lab keeps HA
resources as state only).
"""

from __future__ import annotations

from partilha.lab import cluster, guests
from partilha.lab.cluster import node_hosts, votequorum
from partilha.lab.guests import guest_apply
from partilha.lab.instance import LabInstance
from partilha.lab.machine import machine
from partilha.lab.server.store import Store


def power_off(store: Store, instance: LabInstance, node: str) -> list[int]:
    """Mark the node offline and kill its guests and its host; the vmids that were running."""
    cluster.set_online(store, node, False)
    node_hosts.stop(instance, node)
    killed = []
    for guest in guests.every(store):
        if guest.node != node or guest.status != "running":
            continue
        machine.stop(guest_apply.container_name(instance, guest.vmid))
        guests.update(store, guest.vmid, status="stopped")
        killed.append(guest.vmid)
    return killed


def power_on(store: Store, instance: LabInstance, node: str, realise: bool) -> list[str]:
    """Mark the node online, boot its host and start its `onboot` guests (only in the state
    when the lab's machine side is down: `lab up` starts them); what failed, in words."""
    cluster.set_online(store, node, True)
    votequorum.node_joined(store)
    problems = []
    if realise:
        try:
            node_hosts.start(store, instance, node)
        except Exception as exc:
            problems.append(f"the host of node {node} did not start: {exc}")
    for guest in guests.every(store):
        if guest.node != node or guest.status == "running" or not guest.config.get("onboot"):
            continue
        if realise:
            try:
                guest_apply.start(store, instance, guest)
            except Exception as exc:
                problems.append(f"{guest.kind} {guest.vmid} did not start: {exc}")
                continue
        guests.update(store, guest.vmid, status="running")
    return problems
