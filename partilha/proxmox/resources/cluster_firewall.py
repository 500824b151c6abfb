"""The datacenter firewall: its options (`/cluster/firewall/options`) — without `enable`, PVE enforces
no guest's firewall at all, whatever the guest's own options say.

`policy_forward` is what happens to routed traffic no `forward` rule decides (PVE 8.2's nftables
firewall). `policy_in`/`policy_out` here are the nodes' own defaults (not the guests'), so the platform can
turn guest firewalls on without changing what reaches the nodes. The object always exists:
create and update write the declared options, delete puts PVE's defaults back (firewall off).

And its rules (`/cluster/firewall/rules`): the whole list, kept in the declared order.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource

from partilha.proxmox.client import Pve
from partilha.proxmox.resources.base import Props, put_with_digest
from partilha.proxmox.resources.firewall import declared_rules, listed_rules, sync_rules
from partilha.proxmox.resources.normalised import NormalisedProvider

PATH = "/cluster/firewall/options"
DEFAULTS = {"enable": False, "policy_in": "DROP", "policy_out": "ACCEPT", "policy_forward": "ACCEPT"}  # PVE's


def _options(props: Props) -> Props:
    return {"enable": bool(int(props.get("enable") or 0)),
            "policy_in": str(props.get("policy_in") or DEFAULTS["policy_in"]),
            "policy_out": str(props.get("policy_out") or DEFAULTS["policy_out"]),
            "policy_forward": str(props.get("policy_forward") or DEFAULTS["policy_forward"])}


def _write(pve: Pve, want: Props) -> None:
    def changes(live: Props) -> dict[str, Any]:
        have = _options(live)
        return {k: int(v) if k == "enable" else v for k, v in want.items() if have[k] != v}

    put_with_digest(pve, PATH, changes)


class ClusterFirewallProvider(NormalisedProvider):
    def normalise(self, props: Props) -> Props:
        return _options(props)

    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        _write(pve, _options(inputs))
        return "cluster", {}

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        return _options(dict(pve.get(PATH)))

    def update_live(self, pve: Pve, id_: str, olds: Props, news: Props) -> Props:
        _write(pve, _options(news))
        return {}

    def delete_live(self, pve: Pve, id_: str, props: Props) -> None:
        _write(pve, dict(DEFAULTS))


class ClusterFirewall(Resource, module="proxmox", name="ClusterFirewall"):
    """One per cluster: declare it in one stack only."""

    enable: pulumi.Output[bool]
    policy_in: pulumi.Output[str]
    policy_out: pulumi.Output[str]
    policy_forward: pulumi.Output[str]

    def __init__(self, name: str, *, enable: pulumi.Input[bool] = True,
                 policy_in: pulumi.Input[str] = "ACCEPT", policy_out: pulumi.Input[str] = "ACCEPT",
                 policy_forward: pulumi.Input[str] = "ACCEPT",
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(ClusterFirewallProvider(), name, {
            "enable": enable, "policy_in": policy_in, "policy_out": policy_out,
            "policy_forward": policy_forward}, opts)


# ---- the cluster's rules --------------------------------------------------------------------

RULES = "/cluster/firewall/rules"


class ClusterRulesProvider(NormalisedProvider):
    def normalise(self, props: Props) -> Props:
        return {"rules": declared_rules(props, "cluster firewall")}

    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        sync_rules(pve, RULES, self.normalise(inputs)["rules"])  # numbers cross the wire as floats
        return "cluster-rules", {}

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        return {"rules": listed_rules(pve, RULES, props.get("rules") or [])}

    def update_live(self, pve: Pve, id_: str, olds: Props, news: Props) -> Props:
        sync_rules(pve, RULES, self.normalise(news)["rules"])
        return {}

    def delete_live(self, pve: Pve, id_: str, props: Props) -> None:
        sync_rules(pve, RULES, [])


class ClusterRules(Resource, module="proxmox", name="ClusterRules"):
    """The datacenter's rule list (`/cluster/firewall/rules`), all of it, in order: `in`/`out`
    rules for the nodes' own traffic, `forward` rules for what is routed between VNets (PVE's
    nftables firewall). Rules as SecurityGroup's. One per cluster: declare it in one stack only."""

    rules: pulumi.Output[list[dict[str, Any]]]

    def __init__(self, name: str, *, rules: pulumi.Input[list[dict[str, Any]]],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(ClusterRulesProvider(), name, {"rules": rules}, opts)
