"""The firewall the tenant stacks build on: the datacenter firewall on (without it PVE enforces
no guest's rules), a security group per catalogue service opening exactly its declared ports, and
one for SSH from the management network, where operators and the deploy tooling come from (in the
lab also from each VNet's gateway: the lab's host, where the operator sits).

Guests get default-deny inbound in their own firewall (tenants/guest.py) and these groups as
their only rules. The datacenter's own `policy_in` stays ACCEPT: the nodes are hardened by the
hypervisor deploy, and turning the firewall on must not cut them off.

What crosses from one VNet to another is the cluster's `forward` rules (PVE's nftables firewall,
`nftables: 1` on each node, which the hypervisor deploy sets): one per declared flow (source
VNet to the service's guest on its ports, partilha.inventory.flows) and SSH from management;
routed traffic no rule accepts is dropped (`policy_forward` DROP). An `in` rule opens the nodes'
API to management.
"""

from __future__ import annotations

import pulumi

from gather import by_key
from partilha.inventory import Guest, Inventory
from partilha.inventory.flows import MANAGEMENT, PVE_API_PORT, SSH_PORT, management_prefixes, openings
from partilha.proxmox.resources.cluster_firewall import ClusterFirewall, ClusterRules
from partilha.proxmox.resources.firewall import SecurityGroup
from partilha.proxmox.security_groups import SSH_GROUP, group_name


class Firewall(pulumi.ComponentResource):
    groups: pulumi.Output[dict[str, str]]  # service -> its security group
    ssh_group: pulumi.Output[str]

    def __init__(self, name: str, inventory: Inventory, placed: list[Guest], lab: bool,
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
        ClusterRules("datacenter-rules", rules=cluster_rules(inventory, placed), opts=after)
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


def cluster_rules(inventory: Inventory, placed: list[Guest]) -> list[dict[str, str]]:
    """The datacenter's rules: per flow and guest one `forward` rule (its ports in one list),
    management's SSH to every guest, and the nodes' API from management."""
    ports: dict[tuple[str, str, str], list[int]] = {}
    for opening in openings(inventory, placed):
        if opening.source == MANAGEMENT or opening.guest.address is None:
            continue
        source = ",".join(str(p) for p in opening.prefixes)
        ports.setdefault((opening.source, source, opening.guest.name), []).append(opening.port)
    addresses = {g.name: str(g.address.ip) for g in placed if g.address is not None}
    # a flow from anywhere (the outside's, to the front door) has no source
    out = [{"type": "forward", "action": "ACCEPT", **({"source": source} if source else {}),
            "dest": addresses[guest], "proto": "tcp", "dport": ",".join(map(str, sorted(set(listed)))),
            "comment": f"flow {tenant} -> {guest}"}
           for (tenant, source, guest), listed in ports.items()]
    mgmt = ",".join(str(p) for p in management_prefixes(inventory))
    if mgmt:
        out += [{"type": "forward", "action": "ACCEPT", "source": mgmt, "proto": "tcp",
                 "dport": str(SSH_PORT), "comment": "management: SSH to every guest"},
                {"type": "in", "action": "ACCEPT", "source": mgmt, "proto": "tcp",
                 "dport": str(PVE_API_PORT), "comment": "management: the PVE API"}]
    return out
