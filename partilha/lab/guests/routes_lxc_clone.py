"""/nodes/{node}/lxc/{vmid}/template and /clone, as pve-container's API2/LXC.pm has them.

`template` (VM.Allocate) refuses a locked, running or already-template CT and returns null; the
`vztemplate` task it starts has ended when the call returns. `clone` (VM.Clone on the source,
VM.Allocate on the new vmid or its pool, Datastore.AllocateSpace on each storage, SDN.Use on
each bridge) locks the source `disk` and the new CT `create` while its `vzclone` task runs; a full
clone (the default, except of a template) of a running CT is refused; every net[n] gets a new
hwaddr.
"""

from __future__ import annotations

import re
from typing import Any

from partilha.lab.cluster import online_node, require_quorum
from partilha.lab.guests import guest_clone, lxc_config
from partilha.lab.guests.lxc_guard import check_lock, load_lxc
from partilha.lab.guests.lxc_options import check_bridge_access
from partilha.lab.guests.state import LXC, GuestRow
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError
from partilha.lab.server.params import BOOL, NODE, VMID, Param
from partilha.lab.server.router import Router

routes = Router()
CT = {"node": NODE, "vmid": VMID}
TEMPLATE_WAIT = 60.0  # seconds the call waits for its vztemplate task (PVE returns null at once)
_DISK = re.compile(r"rootfs|mp\d+")


def _disks(guest: GuestRow) -> list[str]:
    return sorted(k for k in guest.config if _DISK.fullmatch(k))


def _can_become_template(guest: GuestRow) -> None:
    check_lock(guest)
    if guest.template:
        raise PveError("you can't convert a template to a template")
    if guest.status == "running":
        raise PveError("you can't convert a CT to template if the CT is running")


@routes.route("POST", "/nodes/{node}/lxc/{vmid}/template", CT)
def template(ctx: Ctx, p: dict[str, Any]) -> Any:
    node = online_node(ctx, p["node"]).name
    vmid = int(p["vmid"])
    ctx.require(f"/vms/{vmid}", ["VM.Allocate"])
    upid = guest_clone.convert_to_template(ctx, node, vmid, LXC, "vztemplate",
                                           _can_become_template, _disks)
    ctx.tasks.wait(upid, TEMPLATE_WAIT)
    return None


def _new_config(ctx: Ctx, source: GuestRow, p: dict[str, Any], newid: int, full: bool) -> dict[str, Any]:
    """pve-container's copy of the config: disks on the new vmid, a new hwaddr per net[n], no
    template flag, hostname and description from the call."""
    storage = p.get("storage")
    config: dict[str, Any] = {}
    for key, value in source.config.items():
        if re.fullmatch(r"unused\d+", key):
            continue
        if _DISK.fullmatch(key):
            sid = storage or str(value).partition(":")[0]
            ctx.require(f"/storage/{sid}", ["Datastore.AllocateSpace"])
            if full and source.status == "running":
                raise PveError("Cannot do full clones on a running container without snapshots")
            config[key] = guest_clone.clone_volume(str(value), newid, storage)
        elif re.fullmatch(r"net\d+", key):
            net = lxc_config.parse_net(str(value))
            net["hwaddr"] = lxc_config.random_hwaddr()
            config[key] = lxc_config.print_net(net)
            check_bridge_access(ctx, config[key])
        elif key != "template":
            config[key] = value
    for key in ("hostname", "description"):
        if p.get(key):
            config[key] = p[key]
    return config


@routes.route("POST", "/nodes/{node}/lxc/{vmid}/clone", {
    **CT, "newid": VMID, "hostname": Param(format="dns-name"), "description": Param(),
    "pool": Param(format="pve-poolid"), "snapname": Param(), "storage": Param(format="pve-storage-id"),
    "full": BOOL, "target": Param(format="pve-node"), "bwlimit": Param("number", minimum=0)})
def clone(ctx: Ctx, p: dict[str, Any]) -> Any:
    node = online_node(ctx, p["node"]).name
    target = guest_clone.target_node(ctx, node, p)
    require_quorum(ctx)
    vmid, newid, pool = int(p["vmid"]), int(p["newid"]), p.get("pool")
    source = load_lxc(ctx.store, node, vmid)
    full = bool(p["full"]) if "full" in p else not source.template
    if p.get("storage") and not full:
        raise PveError("parameter 'storage' not allowed for linked clones")
    if p.get("snapname"):
        raise PveError(f"snapshot '{p['snapname']}' does not exist")
    config = _new_config(ctx, source, p, newid, full)
    guest_clone.check_target(ctx, source, target, sorted(
        {str(config[k]).partition(":")[0] for k in config if _DISK.fullmatch(k)}))
    return guest_clone.start(ctx, guest_clone.Clone(
        source, newid, config, target, pool, full, source_lock="disk", new_lock="create",
        task_type="vzclone"))
