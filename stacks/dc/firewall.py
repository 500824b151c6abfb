"""The firewall the tenant stacks build on: the datacenter firewall on (without it PVE enforces
no guest's rules), a security group per catalogue service opening exactly its declared ports, and
one for SSH from the management network, where operators and the deploy tooling come from (in the
lab also from each VNet's gateway: the lab's host, where the operator sits).

Guests get default-deny inbound in their own firewall (tenants/guest.py) and these groups as
their only rules. The datacenter's own `policy_in` stays ACCEPT: the nodes are hardened by the
hypervisor deploy, and turning the firewall on must not cut them off.
"""

from __future__ import annotations

import pulumi

from gather import by_key
from partilha.inventory import Inventory
from partilha.proxmox.resources.cluster_firewall import ClusterFirewall
from partilha.proxmox.resources.firewall import SecurityGroup
from partilha.proxmox.security_groups import SSH_GROUP, group_name


class Firewall(pulumi.ComponentResource):
    groups: pulumi.Output[dict[str, str]]  # service -> its security group
    ssh_group: pulumi.Output[str]

    def __init__(self, name: str, inventory: Inventory, lab: bool,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("partilha:platform:Firewall", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        datacenter = ClusterFirewall("datacenter", enable=True, opts=child)
        after = pulumi.ResourceOptions(parent=self, depends_on=[datacenter])
        mgmt = [v for v in inventory.networks.vnets if v.purpose == "management"]
        sources = [str(v.prefix) for v in mgmt] + (
            [str(v.gateway) for v in inventory.networks.vnets] if lab else [])
        ssh = SecurityGroup("group-ssh", group=SSH_GROUP, comment="partilha: SSH from management",
                            rules=[{"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "22",
                                    "source": ",".join(sources), "comment": "ssh"}], opts=after)
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
