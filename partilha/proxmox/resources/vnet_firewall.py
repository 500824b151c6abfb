"""A VNet's firewall (PVE 8.3, `/cluster/sdn/vnets/{vnet}/firewall`): its options `enable` and
`policy_forward` and its `forward` rules, which decide what is forwarded into or out of the
VNet's bridge, between its own guests too (PVE's nftables firewall). Written rules first, then
the options; deleting it turns it off and empties its rules.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource

from partilha.proxmox.client import Pve
from partilha.proxmox.resources.base import Props, unless_gone
from partilha.proxmox.resources.firewall import apply_firewall, declared_rules, listed_rules, sync_rules
from partilha.proxmox.resources.normalised import NormalisedProvider


def _path(vnet: str) -> str:
    return f"/cluster/sdn/vnets/{vnet}/firewall"


def _options(props: Props) -> Props:
    """enable / policy_forward, PVE's defaults (off, ACCEPT) where unset."""
    return {"enable": bool(int(props.get("enable") or 0)),
            "policy_forward": str(props.get("policy_forward") or "ACCEPT")}


class VNetFirewallProvider(NormalisedProvider):
    replace_on = frozenset({"vnet"})

    def normalise(self, props: Props) -> Props:
        vnet = str(props["vnet"])
        return {"vnet": vnet, **_options(props), "rules": declared_rules(props, f"VNet {vnet} firewall")}

    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        inputs = self.normalise(inputs)  # numbers cross the wire as floats
        apply_firewall(pve, _path(inputs["vnet"]), inputs["rules"], _options(inputs), _options)
        return inputs["vnet"], {}

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        live = unless_gone(lambda: (pve.get(f"{_path(id_)}/options"),
                                    listed_rules(pve, f"{_path(id_)}/rules", props.get("rules") or [])))
        if live is None:  # the VNet is gone, and its firewall with it
            return None
        options, rules = live
        return {"vnet": id_, **_options(dict(options)), "rules": rules}

    def update_live(self, pve: Pve, id_: str, olds: Props, news: Props) -> Props:
        news = self.normalise(news)
        apply_firewall(pve, _path(id_), news["rules"], _options(news), _options)
        return {}

    def delete_live(self, pve: Pve, id_: str, props: Props) -> None:
        def disable() -> None:
            pve.call("PUT", f"{_path(id_)}/options", enable=0)
            sync_rules(pve, f"{_path(id_)}/rules", [])

        unless_gone(disable)  # a VNet gone took its firewall


class VNetFirewall(Resource, module="proxmox", name="VNetFirewall"):
    """`rules`: `forward` rules as SecurityGroup's (or `group` rules naming a security group)."""

    vnet: pulumi.Output[str]
    enable: pulumi.Output[bool]
    policy_forward: pulumi.Output[str]
    rules: pulumi.Output[list[dict[str, Any]]]

    def __init__(self, name: str, *, vnet: pulumi.Input[str], rules: pulumi.Input[list[dict[str, Any]]],
                 enable: pulumi.Input[bool] = True, policy_forward: pulumi.Input[str] = "DROP",
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(VNetFirewallProvider(), name, {
            "vnet": vnet, "enable": enable, "policy_forward": policy_forward, "rules": rules}, opts)
