"""/cluster/firewall/aliases: names for addresses or networks that rules and IP set entries can
use instead (pve-firewall's Aliases.pm), kept under their lower-cased name, listed by it, with
PVE's words and digest. Sys.Audit on / to read, Sys.Modify on / to change.
"""

from __future__ import annotations

from typing import Any

from partilha.lab import firewall
from partilha.lab.firewall import firewall_addresses, firewall_schema
from partilha.lab.firewall.firewall_options import DIGEST, audit, change, modify
from partilha.lab.firewall.state import ClusterFirewallConfig
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import assert_if_modified, param_error
from partilha.lab.server.params import Param
from partilha.lab.server.router import Router

routes = Router()
BASE = "/cluster/firewall/aliases"
NAME = Param(optional=False, pattern=firewall_addresses.NAME, min_length=2, max_length=64)
CIDR = Param(optional=False, format=firewall_addresses.verify_ip_or_cidr)


def _listed(conf: ClusterFirewallConfig) -> list[dict[str, Any]]:
    """`$aliases_to_list`: by lower-cased name."""
    return [conf.aliases[key] for key in sorted(conf.aliases)]


@routes.route("GET", BASE)
def list_aliases(ctx: Ctx, p: dict[str, Any]) -> Any:
    audit(ctx, p)
    return firewall_schema.with_digest(_listed(firewall.cluster(ctx.store)))


@routes.route("POST", BASE, {"name": NAME, "cidr": CIDR, "comment": Param()})
def create_alias(ctx: Ctx, p: dict[str, Any]) -> Any:
    modify(ctx, p)
    with change(ctx):
        conf = firewall.cluster(ctx.store)
        if p["name"].lower() in conf.aliases:
            raise param_error(name=f"alias '{p['name']}' already exists")
        conf.aliases[p["name"].lower()] = firewall_addresses.alias_entry(
            p["name"], p["cidr"], p.get("comment"))
        firewall.save_cluster(ctx.store, conf)


@routes.route("GET", f"{BASE}/{{name}}", {"name": NAME})
def read_alias(ctx: Ctx, p: dict[str, Any]) -> Any:
    audit(ctx, p)
    alias = firewall.cluster(ctx.store).aliases.get(p["name"].lower())
    if alias is None:
        raise param_error(name="no such alias")
    return alias


@routes.route("PUT", f"{BASE}/{{name}}", {
    "name": NAME, "cidr": CIDR, "comment": Param(), "digest": DIGEST,
    "rename": Param(pattern=firewall_addresses.NAME, min_length=2, max_length=64)})
def update_alias(ctx: Ctx, p: dict[str, Any]) -> Any:
    modify(ctx, p)
    with change(ctx):
        conf = firewall.cluster(ctx.store)
        assert_if_modified(firewall_schema.list_digest(_listed(conf)), p.get("digest"))
        name = p["name"].lower()
        if name not in conf.aliases:
            raise param_error(name="no such alias")
        conf.aliases[name] = firewall_addresses.alias_entry(p["name"], p["cidr"], p.get("comment"))
        rename = p.get("rename")
        if rename and rename.lower() != name:
            if rename.lower() in conf.aliases:
                raise param_error(name=f"alias '{rename}' already exists")
            conf.aliases[rename.lower()] = {**conf.aliases.pop(name), "name": rename}
        firewall.save_cluster(ctx.store, conf)


@routes.route("DELETE", f"{BASE}/{{name}}", {"name": NAME, "digest": DIGEST})
def delete_alias(ctx: Ctx, p: dict[str, Any]) -> Any:
    modify(ctx, p)
    with change(ctx):
        conf = firewall.cluster(ctx.store)
        assert_if_modified(firewall_schema.list_digest(_listed(conf)), p.get("digest"))
        conf.aliases.pop(p["name"].lower(), None)
        firewall.save_cluster(ctx.store, conf)
