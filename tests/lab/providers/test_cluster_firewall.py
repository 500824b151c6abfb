"""ClusterFirewall: create, no-op, update in place, drift, delete — on the real engine and lab.
(It has no id to change: the datacenter's options always exist, so no replace.)"""

from __future__ import annotations

from proxmoxer import ProxmoxAPI

from partilha.proxmox.resources.cluster_firewall import ClusterFirewall

from .conftest import LabStack


def options(api: ProxmoxAPI) -> tuple[int, str, str]:
    live = api.cluster.firewall.options.get()
    return int(live.get("enable", 0)), live.get("policy_in", "DROP"), live.get("policy_out", "ACCEPT")


def test_cluster_firewall_lifecycle(stack: LabStack, admin_token: ProxmoxAPI) -> None:
    assert stack.up(lambda: ClusterFirewall("fw")) == {"create": 1}
    assert options(admin_token) == (1, "ACCEPT", "ACCEPT")
    assert stack.writes() == ["PUT /cluster/firewall/options"]

    assert stack.up() == {"same": 1}
    assert stack.writes() == []

    assert stack.up(lambda: ClusterFirewall("fw", policy_out="DROP")) == {"update": 1}
    assert options(admin_token) == (1, "ACCEPT", "DROP")

    admin_token.cluster.firewall.options.put(enable=0)
    assert stack.refresh() == {"fw": ["enable"]}
    assert stack.up() == {"update": 1}  # put back as declared
    assert options(admin_token)[0] == 1

    stack.destroy()
    assert options(admin_token) == (0, "DROP", "ACCEPT")
