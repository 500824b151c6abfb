"""The firewall the tenant stacks build on: the datacenter firewall on (without it PVE enforces
no guest's rules), a security group per catalogue service opening exactly its declared ports, and
one for SSH from the management network, where operators and the deploy tooling come from (in the
lab also from each VNet's gateway: the lab's host, where the operator sits).

Guests get default-deny inbound in their own firewall (tenants/guest.py) and these groups as
their only rules. The datacenter's own `policy_in` stays ACCEPT: the nodes are hardened by the
hypervisor deploy, and turning the firewall on must not cut them off.

What crosses from one VNet to another is decided by PVE's nftables firewall (`nftables: 1` on
each node, which the hypervisor deploy sets): the declared flows as IP sets, aliases, the
datacenter's `forward` rules and each VNet's firewall (platform_stack/flow_rules.py); routed traffic no rule
accepts is dropped (`policy_forward` DROP). An `in` rule opens the nodes' API to management.
"""

from __future__ import annotations

import pulumi

from keyed_outputs import by_key
from partilha.inventory import Inventory, PlacedGuest
from partilha.proxmox.resources.cluster_firewall import ClusterFirewall, ClusterRules
from partilha.proxmox.resources.firewall import SecurityGroup
from partilha.proxmox.resources.firewall_addresses import Alias, IPSet
from partilha.proxmox.resources.vnet_firewall import VNetFirewall
from partilha.proxmox.security_groups import SSH_GROUP, group_name
from platform_stack.flow_rules import flow_rules


class Firewall(pulumi.ComponentResource):
    groups: pulumi.Output[dict[str, str]]  # service -> its security group
    ssh_group: pulumi.Output[str]

    def __init__(self, name: str, inventory: Inventory, placed: list[PlacedGuest], lab: bool,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("partilha:platform:Firewall", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        datacenter = ClusterFirewall("datacenter", enable=True, policy_forward="DROP", opts=child)
        after = pulumi.ResourceOptions(parent=self, depends_on=[datacenter])
        mgmt = [v for v in inventory.networks.vnets if v.purpose == "management"]
        sources = [str(v.prefix) for v in mgmt] + (
            [str(v.gateway) for v in inventory.networks.vnets] if lab else [])
        ssh = SecurityGroup("group-ssh", group=SSH_GROUP, comment="partilha: SSH from management",
                            rules=[{"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "22",
                                    "source": ",".join(sources), "comment": "ssh"}], opts=after)
        flows = flow_rules(inventory, placed)
        named: list[pulumi.Resource] = [
            IPSet(f"ipset-{set_name}", ipset=set_name, comment=spec.comment,
                  entries=[{"cidr": cidr} for cidr in spec.cidrs], opts=after)
            for set_name, spec in flows.ipsets.items()]
        named += [Alias(f"alias-{alias}", alias=alias, cidr=address, comment=comment, opts=after)
                  for alias, (address, comment) in flows.aliases.items()]
        uses = pulumi.ResourceOptions(parent=self, depends_on=[datacenter, *named])
        ClusterRules("datacenter-rules", rules=flows.cluster, opts=uses)
        for vnet, rules in flows.vnets.items():
            VNetFirewall(f"vnet-{vnet}-firewall", vnet=vnet, rules=rules, policy_forward="DROP", opts=uses)
        groups = {}
        for service_name, service in inventory.services.items():
            group = SecurityGroup(
                f"group-{service_name}", group=group_name(service_name),
                comment=f"partilha: {service_name} ({service.exposure})",
                rules=[{"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": str(port),
                        "comment": f"{service_name} {port}"} for port in service.ports], opts=after)
            groups[service_name] = group.group
        self.groups = by_key(groups)
        self.ssh_group = ssh.group
        self.register_outputs({"groups": self.groups, "ssh_group": self.ssh_group})
