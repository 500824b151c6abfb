"""Named addresses of the datacenter firewall, which rules name instead of writing addresses out:
IP sets (`/cluster/firewall/ipset/{name}`: entries, each an address, a network or an alias,
`nomatch` to carve one out) and aliases (`/cluster/firewall/aliases/{name}`: one address or
network). A rule names an IP set as `+name` and an alias by its name.

An IP set's entries are kept as declared, whatever their order (a set has none): a missing one
is added, a changed one updated, a surplus one removed. Entries are compared as PVE keeps them
(host bits cleared, a /32 without its length); a name or an address PVE refuses is PVE's error.
"""

from __future__ import annotations

import re
from ipaddress import ip_network
from typing import Any
from urllib.parse import quote

import pulumi
from pulumi.dynamic import Resource

from partilha.proxmox.client import Pve
from partilha.proxmox.resources.base import Props, create_or_take_over, unless_gone
from partilha.proxmox.resources.normalised import NormalisedProvider

IPSETS = "/cluster/firewall/ipset"
ALIASES = "/cluster/firewall/aliases"
_ALIAS = re.compile(r"(dc/|guest/)?[A-Za-z][A-Za-z0-9\-_]+")


def _address(text: str, *, clean: bool) -> str:
    """`text` as PVE keeps it (`clean`: host bits cleared, as in an IP set); as given when it is
    an alias or not an address at all (PVE's own error will say so)."""
    if _ALIAS.fullmatch(text) or "/" not in text:
        return text
    try:
        network = ip_network(text, strict=False)
    except ValueError:
        return text
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network) if clean else text


def _entry(props: dict[str, Any]) -> dict[str, Any]:
    return {"cidr": _address(str(props["cidr"]), clean=True), "nomatch": bool(int(props.get("nomatch") or 0)),
            "comment": str(props.get("comment") or "")}


def _entries(listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((_entry(e) for e in listed), key=lambda e: e["cidr"])


def _sync_entries(pve: Pve, name: str, declared: list[dict[str, Any]]) -> None:
    path = f"{IPSETS}/{name}"
    live = {e["cidr"]: e for e in _entries(pve.get(path))}
    wanted = {e["cidr"]: e for e in declared}
    for cidr in sorted(set(live) - set(wanted)):
        pve.call("DELETE", f"{path}/{quote(cidr, safe='')}")
    for cidr, want in wanted.items():
        params = {"nomatch": int(want["nomatch"]),
                  **({"comment": want["comment"]} if want["comment"] else {})}
        if cidr not in live:
            pve.call("POST", path, cidr=cidr, **params)
        elif live[cidr] != want:
            pve.call("PUT", f"{path}/{quote(cidr, safe='')}", **params)


class IPSetProvider(NormalisedProvider):
    replace_on = frozenset({"ipset"})

    def normalise(self, props: Props) -> Props:
        return {"ipset": str(props["ipset"]), "comment": str(props.get("comment") or ""),
                "entries": _entries(list(props.get("entries") or []))}

    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        inputs = self.normalise(inputs)
        name = inputs["ipset"]
        create_or_take_over(
            lambda: pve.call("POST", IPSETS, name=name, comment=inputs["comment"]),
            lambda: pve.call("POST", IPSETS, name=name, rename=name, comment=inputs["comment"]))
        _sync_entries(pve, name, inputs["entries"])
        return name, {}

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        listed = next((s for s in pve.get(IPSETS) if s["name"] == id_), None)
        entries = unless_gone(lambda: pve.get(f"{IPSETS}/{id_}"))
        if listed is None or entries is None:
            return None
        return {"ipset": id_, "comment": str(listed.get("comment") or ""), "entries": _entries(entries)}

    def update_live(self, pve: Pve, id_: str, olds: Props, news: Props) -> Props:
        news = self.normalise(news)
        if olds.get("comment") != news["comment"]:
            pve.call("POST", IPSETS, name=id_, rename=id_, comment=news["comment"])
        _sync_entries(pve, id_, news["entries"])
        return {}

    def delete_live(self, pve: Pve, id_: str, props: Props) -> None:
        pve.call("DELETE", f"{IPSETS}/{id_}", force=1)


class IPSet(Resource, module="proxmox", name="IPSet"):
    """A datacenter IP set; `entries`: [{"cidr": "10.101.0.0/24" (or an alias), "nomatch": False,
    "comment": ""}]. Rules name it `+<ipset>`."""

    ipset: pulumi.Output[str]
    comment: pulumi.Output[str]
    entries: pulumi.Output[list[dict[str, Any]]]

    def __init__(self, name: str, *, ipset: pulumi.Input[str],
                 entries: pulumi.Input[list[dict[str, Any]]], comment: pulumi.Input[str] = "",
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(IPSetProvider(), name,
                         {"ipset": ipset, "comment": comment, "entries": entries}, opts)


class AliasProvider(NormalisedProvider):
    replace_on = frozenset({"alias"})

    def normalise(self, props: Props) -> Props:
        return {"alias": str(props["alias"]), "cidr": _address(str(props["cidr"]), clean=False),
                "comment": str(props.get("comment") or "")}

    def _params(self, inputs: Props) -> Props:
        return {"cidr": inputs["cidr"], **({"comment": inputs["comment"]} if inputs["comment"] else {})}

    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        inputs = self.normalise(inputs)
        create_or_take_over(
            lambda: pve.call("POST", ALIASES, name=inputs["alias"], **self._params(inputs)),
            lambda: pve.call("PUT", f"{ALIASES}/{inputs['alias']}", **self._params(inputs)))
        return inputs["alias"], {}

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        live = unless_gone(lambda: pve.get(f"{ALIASES}/{id_}"))
        if live is None:
            return None
        return {"alias": id_, "cidr": str(live["cidr"]), "comment": str(live.get("comment") or "")}

    def update_live(self, pve: Pve, id_: str, olds: Props, news: Props) -> Props:
        pve.call("PUT", f"{ALIASES}/{id_}", **self._params(self.normalise(news)))
        return {}

    def delete_live(self, pve: Pve, id_: str, props: Props) -> None:
        pve.call("DELETE", f"{ALIASES}/{id_}")


class Alias(Resource, module="proxmox", name="Alias"):
    """A datacenter alias: a name rules (and IP set entries) use for one address or network."""

    alias: pulumi.Output[str]
    cidr: pulumi.Output[str]
    comment: pulumi.Output[str]

    def __init__(self, name: str, *, alias: pulumi.Input[str], cidr: pulumi.Input[str],
                 comment: pulumi.Input[str] = "", opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(AliasProvider(), name, {"alias": alias, "cidr": cidr, "comment": comment}, opts)
