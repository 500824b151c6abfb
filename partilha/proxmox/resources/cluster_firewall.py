"""The datacenter firewall's options (`/cluster/firewall/options`): without `enable`, PVE enforces
no guest's firewall at all, whatever the guest's own options say.

`policy_in`/`policy_out` here are the nodes' own defaults (not the guests'), so the platform can
turn guest firewalls on without changing what reaches the nodes. The object always exists:
create and update write the declared options, delete puts PVE's defaults back (firewall off).
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource

from partilha.proxmox.client import Pve
from partilha.proxmox.resources.base import Props, put_with_digest
from partilha.proxmox.resources.normalised import NormalisedProvider

PATH = "/cluster/firewall/options"
DEFAULTS = {"enable": False, "policy_in": "DROP", "policy_out": "ACCEPT"}  # PVE's


def _options(props: Props) -> Props:
    return {"enable": bool(int(props.get("enable") or 0)),
            "policy_in": str(props.get("policy_in") or DEFAULTS["policy_in"]),
            "policy_out": str(props.get("policy_out") or DEFAULTS["policy_out"])}


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

    def __init__(self, name: str, *, enable: pulumi.Input[bool] = True,
                 policy_in: pulumi.Input[str] = "ACCEPT", policy_out: pulumi.Input[str] = "ACCEPT",
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(ClusterFirewallProvider(), name, {
            "enable": enable, "policy_in": policy_in, "policy_out": policy_out}, opts)
