"""The PVE firewall: security groups (`/cluster/firewall/groups`, ordered rules a guest's rules
can name) and a guest's own firewall (`/nodes/{node}/{lxc|qemu}/{vmid}/firewall`: the options
enable / policy_in / policy_out and ordered rules).

Rules are kept in the declared order with the fewest writes PVE allows: a rule that differs is
rewritten in its place, surplus ones deleted, new ones added and moved to the bottom (PVE puts a
new rule on top). A guest's rules are written before its firewall is enabled, and it is disabled
before its rules go, so no moment has the policy without the declared openings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
from pulumi.dynamic import Resource

from partilha.errors import UserError
from partilha.proxmox.client import Pve
from partilha.proxmox.resources.base import Props, create_or_take_over, put_with_digest, unless_guest_gone
from partilha.proxmox.resources.normalised import NormalisedProvider

RULE_KEYS = ("type", "action", "macro", "proto", "dport", "sport", "source", "dest", "iface",
             "icmp-type", "log", "comment", "enable")
Rule = dict[str, Any]


def rule(props: dict[str, Any], *, enable: int) -> Rule:
    """A rule as compared and written: its RULE_KEYS only (not PVE's `pos`, `digest`,
    `ipversion`), values as PVE lists them, `enable` as given or `enable`."""
    out: Rule = {k: str(props[k]) for k in RULE_KEYS[:-1] if props.get(k) not in (None, "")}
    if out.get("log") == "nolog":  # PVE's default
        del out["log"]
    out["enable"] = int(props.get("enable", enable))
    return out


def listed_rules(pve: Pve, path: str, declared: list[Rule]) -> list[Rule]:
    """The live rules, a macro spelt as declared where PVE changed only its case ("http")."""
    live = [rule(r, enable=0) for r in pve.get(path)]  # PVE's default: disabled
    for have, want in zip(live, declared, strict=False):
        if "macro" in have and str(have["macro"]).lower() == str(want.get("macro", "")).lower():
            have["macro"] = want["macro"]
    return live


def sync_rules(pve: Pve, path: str, declared: list[Rule]) -> None:
    """Make the rule list at `path` the declared one, in order."""
    live = listed_rules(pve, path, declared)
    for pos, (have, want) in enumerate(zip(live, declared, strict=False)):
        if have != want:
            removed = sorted(set(have) - set(want))
            pve.call("PUT", f"{path}/{pos}", **want, **({"delete": ",".join(removed)} if removed else {}))
    for pos in reversed(range(len(declared), len(live))):
        pve.call("DELETE", f"{path}/{pos}")
    added = declared[len(live):]
    for want in reversed(added):  # each goes on top: reversed, they end up in order
        pve.call("POST", path, **want)
    if live:
        for _ in added:  # the top one to the bottom, as many times as rules were added
            pve.call("PUT", f"{path}/0", moveto=len(declared))


def apply_firewall(pve: Pve, path: str, rules: list[Rule], wanted: Props,
                   options: Callable[[Props], Props]) -> None:
    """A firewall's rules at `path`/rules, then its `wanted` options (as `options` reads them) at
    `path`/options: never on without its rules."""
    sync_rules(pve, f"{path}/rules", rules)

    def changes(live: Props) -> dict[str, Any]:
        have = options(live)
        return {k: int(v) if isinstance(v, bool) else v for k, v in wanted.items() if have[k] != v}

    put_with_digest(pve, f"{path}/options", changes)


def declared_rules(props: Props, where: str) -> list[Rule]:
    """The declared rules, enabled unless said; an unknown key is an error naming the rule."""
    declared = [dict(r) for r in props.get("rules") or []]
    for i, each in enumerate(declared, start=1):
        unknown = sorted(set(each) - set(RULE_KEYS))
        if unknown:
            raise UserError(f"{where}, rule {i}: unknown key {unknown[0]!r} (rules take "
                            f"{', '.join(RULE_KEYS)})")
    return [rule(each, enable=1) for each in declared]


# ---- security groups ------------------------------------------------------------------------

GROUPS = "/cluster/firewall/groups"


class SecurityGroupProvider(NormalisedProvider):
    replace_on = frozenset({"group"})

    def normalise(self, props: Props) -> Props:
        group = str(props["group"])
        return {"group": group, "comment": str(props.get("comment") or ""),
                "rules": declared_rules(props, f"security group {group}")}

    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        inputs = self.normalise(inputs)  # numbers (a rule's enable) cross the wire as floats
        group = inputs["group"]
        create_or_take_over(
            lambda: pve.call("POST", GROUPS, group=group, comment=inputs["comment"]),
            lambda: pve.call("POST", GROUPS, group=group, rename=group, comment=inputs["comment"]))
        sync_rules(pve, f"{GROUPS}/{group}", inputs["rules"])
        return group, {}

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        listed = next((g for g in pve.get(GROUPS) if g["group"] == id_), None)
        if listed is None:
            return None
        return {"group": id_, "comment": str(listed.get("comment") or ""),
                "rules": listed_rules(pve, f"{GROUPS}/{id_}", props.get("rules") or [])}

    def update_live(self, pve: Pve, id_: str, olds: Props, news: Props) -> Props:
        news = self.normalise(news)
        if olds.get("comment") != news["comment"]:
            pve.call("POST", GROUPS, group=id_, rename=id_, comment=news["comment"])
        sync_rules(pve, f"{GROUPS}/{id_}", news["rules"])
        return {}

    def delete_live(self, pve: Pve, id_: str, props: Props) -> None:
        sync_rules(pve, f"{GROUPS}/{id_}", [])  # PVE deletes only an empty group
        pve.call("DELETE", f"{GROUPS}/{id_}")


class SecurityGroup(Resource, module="proxmox", name="SecurityGroup"):
    """`rules`: [{"type": "in"|"out", "action": "ACCEPT"|"DROP"|"REJECT", "proto", "dport",
    "source", "dest", "macro", "comment", "enable": 1}], in order."""

    group: pulumi.Output[str]
    comment: pulumi.Output[str]
    rules: pulumi.Output[list[dict[str, Any]]]

    def __init__(self, name: str, *, group: pulumi.Input[str], rules: pulumi.Input[list[dict[str, Any]]],
                 comment: pulumi.Input[str] = "", opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(SecurityGroupProvider(), name,
                         {"group": group, "comment": comment, "rules": rules}, opts)


# ---- a guest's firewall ---------------------------------------------------------------------

def _options(props: Props) -> Props:
    """enable / ipfilter / policy_in / policy_out, PVE's defaults (off, off, DROP, ACCEPT) where
    unset."""
    return {"enable": bool(int(props.get("enable") or 0)),
            "ipfilter": bool(int(props.get("ipfilter") or 0)),
            "policy_in": str(props.get("policy_in") or "DROP"),
            "policy_out": str(props.get("policy_out") or "ACCEPT")}


class GuestFirewallProvider(NormalisedProvider):
    replace_on = frozenset({"kind", "vmid"})  # a node change follows the guest: an update

    def normalise(self, props: Props) -> Props:
        kind, vmid = str(props["kind"]), int(props["vmid"])
        if kind not in ("lxc", "qemu"):
            raise UserError(f"guest firewall {vmid}: kind must be 'lxc' or 'qemu', not {kind!r}")
        return {"node": str(props["node"]), "kind": kind, "vmid": vmid,
                **_options(props), "rules": declared_rules(props, f"guest firewall {kind}/{vmid}")}

    @staticmethod
    def _path(props: Props) -> str:
        return f"/nodes/{props['node']}/{props['kind']}/{int(props['vmid'])}/firewall"

    def _apply(self, pve: Pve, want: Props) -> None:
        apply_firewall(pve, self._path(want), want["rules"], _options(want), _options)

    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        inputs = self.normalise(inputs)  # numbers cross the wire as floats
        self._apply(pve, inputs)
        return f"{inputs['kind']}/{inputs['vmid']}", {}

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        path = self._path(props)
        live = unless_guest_gone(pve, int(props["vmid"]), lambda: (
            pve.get(f"{path}/options"), listed_rules(pve, f"{path}/rules", props.get("rules") or [])))
        if live is None:  # the guest is gone, and its firewall with it
            return None
        options, rules = live
        return {**_options(dict(options)), "rules": rules}

    def update_live(self, pve: Pve, id_: str, olds: Props, news: Props) -> Props:
        self._apply(pve, self.normalise(news))
        return {}

    def delete_live(self, pve: Pve, id_: str, props: Props) -> None:
        def disable() -> None:
            pve.call("PUT", f"{self._path(props)}/options", enable=0)
            sync_rules(pve, f"{self._path(props)}/rules", [])

        unless_guest_gone(pve, int(props["vmid"]), disable)  # a guest gone took its firewall


class GuestFirewall(Resource, module="proxmox", name="GuestFirewall"):
    """A guest's firewall; `rules` as SecurityGroup's, plus {"type": "group", "action": "<group>",
    "enable": 1} to apply a security group in that place. The guest's net0 needs firewall=1.
    `ipfilter`: the guest may send from its configured address only (PVE's anti-spoofing)."""

    node: pulumi.Output[str]
    vmid: pulumi.Output[int]
    kind: pulumi.Output[str]
    enable: pulumi.Output[bool]
    ipfilter: pulumi.Output[bool]
    policy_in: pulumi.Output[str]
    policy_out: pulumi.Output[str]
    rules: pulumi.Output[list[dict[str, Any]]]

    def __init__(self, name: str, *, node: pulumi.Input[str], vmid: pulumi.Input[int],
                 kind: pulumi.Input[str], enable: pulumi.Input[bool] = True,
                 ipfilter: pulumi.Input[bool] = False,
                 policy_in: pulumi.Input[str] = "DROP", policy_out: pulumi.Input[str] = "ACCEPT",
                 rules: pulumi.Input[list[dict[str, Any]]] | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(GuestFirewallProvider(), name, {
            "node": node, "vmid": vmid, "kind": kind, "enable": enable, "ipfilter": ipfilter,
            "policy_in": policy_in,
            "policy_out": policy_out, "rules": rules or []}, opts)
