"""/nodes/{node}/{lxc,qemu}/{vmid}/firewall: a guest's firewall index, options and rules, one
code for containers and VMs (pve-firewall's VM.pm, VMRules and CTRules).

VM.Audit on /vms/<vmid> to read, VM.Config.Network to change. Unlike PVE, which reads or writes
`<vmid>.fw` for any vmid, the lab wants the guest to exist on that node (PVE's message if not),
so no firewall config outlives or precedes its guest through the API.
"""

from __future__ import annotations

from typing import Any

from partilha.lab import firewall
from partilha.lab.cluster import online_node
from partilha.lab.firewall.firewall_options import (
    DELETE,
    DIGEST,
    LOG_LEVEL,
    POLICY,
    Check,
    change,
    guest_access,
    options_out,
    set_options,
)
from partilha.lab.firewall.rule_endpoints import RuleList, register
from partilha.lab.firewall.state import Rules
from partilha.lab.guests import LXC, QEMU
from partilha.lab.server.context import Ctx
from partilha.lab.server.lists import split_list
from partilha.lab.server.params import BOOL, NODE, VMID
from partilha.lab.server.router import Router

routes = Router()
GUEST = {"node": NODE, "vmid": VMID}
OPTIONS = {"enable": BOOL, "dhcp": BOOL, "ipfilter": BOOL, "macfilter": BOOL, "ndp": BOOL,
           "radv": BOOL, "policy_in": POLICY, "policy_out": POLICY, "log_level_in": LOG_LEVEL,
           "log_level_out": LOG_LEVEL}
RULE_ENV = {LXC: "ct", QEMU: "vm"}


def _register(kind: str) -> None:
    base = f"/nodes/{{node}}/{kind}/{{vmid}}/firewall"

    def allowed(*privs: str) -> Check:
        return guest_access(kind, *privs)

    def save_rules(ctx: Ctx, p: dict[str, Any], rules: Rules) -> None:
        conf = firewall.guest(ctx.store, int(p["vmid"]))
        conf.rules = rules
        firewall.save_guest(ctx.store, int(p["vmid"]), conf)

    @routes.route("GET", base, GUEST)
    def index(ctx: Ctx, p: dict[str, Any]) -> Any:
        online_node(ctx, p["node"])
        return [{"name": "rules"}, {"name": "options"}]

    @routes.route("GET", f"{base}/options", GUEST)
    def get_options(ctx: Ctx, p: dict[str, Any]) -> Any:
        allowed("VM.Audit")(ctx, p)
        return options_out(firewall.guest(ctx.store, int(p["vmid"])).options)

    @routes.route("PUT", f"{base}/options", {**GUEST, **OPTIONS, "delete": DELETE, "digest": DIGEST})
    def put_options(ctx: Ctx, p: dict[str, Any]) -> Any:
        allowed("VM.Config.Network")(ctx, p)
        with change(ctx):
            conf = firewall.guest(ctx.store, int(p["vmid"]))
            set_options(conf.options, OPTIONS, p, split_list(p.get("delete", "")), p.get("digest"))
            firewall.save_guest(ctx.store, int(p["vmid"]), conf)

    register(routes, f"{base}/rules", GUEST, RuleList(
        env=RULE_ENV[kind],
        read=allowed("VM.Audit"), write=allowed("VM.Config.Network"),
        load=lambda ctx, p: firewall.guest(ctx.store, int(p["vmid"])).rules,
        save=save_rules, book=lambda ctx, p: firewall.book(ctx.store, int(p["vmid"]))))


for _kind in (LXC, QEMU):
    _register(_kind)
