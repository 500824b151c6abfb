"""/nodes/{node}/lxc: create (a `vzcreate` task), list, config GET/PUT, DELETE (a `vzdestroy` task).

Ported from pve-container's PVE/API2/LXC.pm and LXC/Config.pm: the order of the checks, the
`create` lock taken before the task starts (so a second create of the vmid fails at once), the
`digest` of the config text, `CT is locked (<lock>)`, and a failed create leaving nothing behind
(the `vzcreate` task is partilha.lab.guests.guest_create's, shared with VMs).
"""

from __future__ import annotations

import re
from typing import Any

from partilha.lab import guests
from partilha.lab.cluster import online_node, require_quorum
from partilha.lab.guests import guest_apply, guest_create, guest_destroy, lxc_config, lxc_options
from partilha.lab.guests.guest_guard import read_config
from partilha.lab.guests.guest_save import save_config
from partilha.lab.guests.guest_status import lxc_status_entry
from partilha.lab.guests.lxc_guard import check_lock, load_lxc
from partilha.lab.guests.lxc_options import LXC_OPTIONS, VM_CONFIG_PRIVS
from partilha.lab.guests.lxc_restore import restore_lxc
from partilha.lab.guests.state import LXC, GuestRow
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError, assert_if_modified, param_error
from partilha.lab.server.lists import split_list
from partilha.lab.server.params import BOOL, NODE, VMID, Param
from partilha.lab.server.router import Router

routes = Router()
CT = {"node": NODE, "vmid": VMID}
_UNDELETABLE = ("memory", "rootfs", "unprivileged", "arch", "ostype")


@routes.route("GET", "/nodes/{node}/lxc", {"node": NODE})
def list_lxc(ctx: Ctx, p: dict[str, Any]) -> Any:
    online_node(ctx, p["node"])
    return [lxc_status_entry(ctx.store, g) for g in guests.on_node(ctx.store, p["node"], LXC)
            if ctx.allowed(f"/vms/{g.vmid}", ["VM.Audit"])]


@routes.route("GET", "/nodes/{node}/lxc/{vmid}", CT)
def lxc_index(ctx: Ctx, p: dict[str, Any]) -> Any:
    online_node(ctx, p["node"])
    load_lxc(ctx.store, p["node"], int(p["vmid"]))
    return [{"subdir": "config"}, {"subdir": "status"}]


def _template_storage(ctx: Ctx, ostemplate: str) -> None:
    """Any `<storage>:vztmpl/...` becomes the lab's Debian 12 template (read access needed)."""
    match = re.fullmatch(r"([a-z][a-z0-9\-_.]*[a-z0-9]):vztmpl/(.+)", ostemplate)
    if match is None:
        raise param_error(ostemplate="the lab creates containers from '<storage>:vztmpl/<file>' "
                                     "templates (its Debian 12 template)")
    ctx.require(f"/storage/{match.group(1)}", ["Datastore.AllocateSpace", "Datastore.Audit"],
                any_=True)


def _only_net0(p: dict[str, Any]) -> None:
    extra = sorted(k for k in p if re.fullmatch(r"net\d+", k) and k != "net0")
    if extra:
        raise param_error(**{extra[0]: "the lab realises one network interface (net0)"})


def _new_config(vmid: int, p: dict[str, Any], storage: str) -> tuple[str, dict[str, Any]]:
    """The config PVE writes for a new container; (rootfs storage, config)."""
    rootfs = lxc_config.new_rootfs(str(p.pop("rootfs", f"{storage}:4")), storage, vmid)
    if rootfs is None:
        raise param_error(rootfs="the lab creates a new root disk: '<storage>:<size in GiB>'")
    _only_net0(p)
    if "net0" not in p:
        raise param_error(net0="the lab realises containers with a net0 on an SDN VNet")
    config: dict[str, Any] = {"arch": "amd64", "ostype": "debian", "hostname": f"CT{vmid}",
                              "memory": 512, "swap": 512, "rootfs": rootfs[1]}
    for key, value in p.items():
        config[key] = lxc_options.stored(key, value)
    net = lxc_config.parse_net(str(config["net0"]))
    net.setdefault("hwaddr", lxc_config.random_hwaddr())
    net.setdefault("type", "veth")
    config["net0"] = lxc_config.print_net(net)
    return rootfs[0], config


@routes.route("POST", "/nodes/{node}/lxc", {
    **CT, "ostemplate": Param(optional=False, max_length=255),
    "storage": Param(format="pve-storage-id", default="local"), "pool": Param(format="pve-poolid"),
    "ssh-public-keys": Param(), "password": Param(min_length=5), "start": Param("boolean", default=False),
    "restore": BOOL, "force": BOOL, "unique": BOOL, **LXC_OPTIONS})
def create_lxc(ctx: Ctx, p: dict[str, Any]) -> Any:
    password = p.pop("password", None)
    if p.pop("restore", False):
        if password is not None:
            raise param_error(**{"password": "the lab sets root's password only in a container "
                                            "it makes from a template, not in a restored one"})
        return restore_lxc(ctx, p, p.pop("node"), int(p.pop("vmid")))
    p.pop("force", None)
    p.pop("unique", None)
    node = online_node(ctx, p.pop("node")).name
    vmid = int(p.pop("vmid"))
    require_quorum(ctx)
    start, unprivileged = p.pop("start"), p.pop("unprivileged", True)
    if not unprivileged:
        ctx.require("/", ["Sys.Modify"])
    holder = guests.get(ctx.store, vmid)
    if holder is not None:
        raise PveError(f"{holder.kind} {vmid} already exists on node '{holder.node}'")
    keys = str(p.pop("ssh-public-keys", ""))
    guest_create.check_ssh_keys(keys)
    pool = p.pop("pool", None)
    guest_create.check_pool(ctx, pool)
    guest_create.require_allocate(ctx, vmid, pool)
    ostemplate, storage = p.pop("ostemplate"), p.pop("storage")
    lxc_options.check_modify_perm(ctx, vmid, pool, {}, p, [])
    _template_storage(ctx, ostemplate)
    rootfs_storage, config = _new_config(vmid, p, storage)
    ctx.require(f"/storage/{rootfs_storage}", ["Datastore.AllocateSpace"])
    if unprivileged:
        config["unprivileged"] = 1
    holder = guests.reserve(ctx.store, GuestRow(vmid, LXC, node, config, "create", "stopped", None))
    if holder is not None:
        raise PveError(f"unable to create CT {vmid} - {holder.kind} {vmid} already exists on node "
                       f"'{holder.node}'")
    return guest_create.start(
        ctx, node, vmid, LXC, "vzcreate", pool=pool,
        keys=tuple(line for line in keys.split("\n") if line.strip()),
        intro=f"extracting archive '{ostemplate}' (the lab's Debian 12 template)", autostart=start,
        root_hash=guest_create.password_hash(password) if password else "")


@routes.route("GET", "/nodes/{node}/lxc/{vmid}/config", {
    **CT, "current": BOOL, "snapshot": Param()})
def get_config(ctx: Ctx, p: dict[str, Any]) -> Any:
    online_node(ctx, p["node"])
    return read_config(ctx, p, LXC)


def _check_lists(p: dict[str, Any], delete: list[str], revert: list[str]) -> None:
    for opt in revert:
        if not lxc_options.option_exists(opt):
            raise param_error(revert=f"unknown option '{opt}'")
        if opt in p:
            raise param_error(revert=f"you can't use '-{opt}' and '-revert {opt}' at the same time")
    for opt in delete:
        if not lxc_options.option_exists(opt):
            raise param_error(delete=f"unknown option '{opt}'")
        if opt in p:
            raise param_error(delete=f"you can't use '-{opt}' and -delete {opt}' at the same time")
        if opt in revert:
            raise param_error(delete=f"you can't use '-delete {opt}' and '-revert {opt}' at the same time")


def _changed(guest: GuestRow, p: dict[str, Any], delete: list[str]) -> dict[str, Any]:
    """The config after the update (pve-container's update_pct_config, all or nothing)."""
    config = dict(guest.config)
    _only_net0(p)
    errors = {opt: f"unable to delete required option '{opt}'" for opt in delete if opt in _UNDELETABLE}
    if "unprivileged" in p:
        errors["unprivileged"] = "unable to modify read-only option: 'unprivileged'"
    if "rootfs" in p:
        p["rootfs"] = _same_rootfs(str(config["rootfs"]), str(p["rootfs"]), errors)
    if errors:
        raise param_error(**errors)
    for opt in delete:
        config.pop(opt, None)
    for key, value in p.items():
        config[key] = lxc_options.stored(key, value)
        if re.fullmatch(r"net\d+", key):
            net = lxc_config.parse_net(str(value))
            old = lxc_config.parse_net(str(guest.config[key])) if guest.config.get(key) else {}
            net.setdefault("hwaddr", old.get("hwaddr") or lxc_config.random_hwaddr())
            net.setdefault("type", "veth")
            config[key] = lxc_config.print_net(net)
    return config


def _same_rootfs(have: str, given: str, errors: dict[str, str]) -> str:
    """A rootfs update of the container's own volume (new mount options, acl, quota, ...), as PVE
    takes it; its size stays the volume's (a resize is `PUT .../resize`). The lab does not swap
    a container's root volume for another: that is an error naming both."""
    old, new = lxc_config.parse_rootfs(have), lxc_config.parse_rootfs(given)
    if new["volume"] != old["volume"]:
        errors["rootfs"] = (f"the lab updates a container's rootfs on its own volume only: "
                            f"'{new['volume']}' is not '{old['volume']}'")
        return have
    options = {k: v for k, v in new.items() if k not in ("volume", "size")}
    if "size" in old:
        options["size"] = old["size"]
    return ",".join([old["volume"], *(f"{k}={v}" for k, v in sorted(options.items()))])


@routes.route("PUT", "/nodes/{node}/lxc/{vmid}/config", {
    **CT, "delete": Param(format="pve-configid-list"), "revert": Param(format="pve-configid-list"),
    "digest": Param(max_length=40), **LXC_OPTIONS})
def update_config(ctx: Ctx, p: dict[str, Any]) -> Any:
    """Synchronous, as PVE's: changes to a running container are applied to it live."""
    node = online_node(ctx, p.pop("node")).name
    vmid = int(p.pop("vmid"))
    ctx.require(f"/vms/{vmid}", VM_CONFIG_PRIVS, any_=True)
    digest = p.pop("digest", None)
    if not p:
        raise PveError("no options specified")
    delete, revert = split_list(p.pop("delete", "")), split_list(p.pop("revert", ""))
    _check_lists(p, delete, revert)
    lxc_options.check_modify_perm(ctx, vmid, None, load_lxc(ctx.store, node, vmid).config, p, delete)
    with guest_apply.config_lock(vmid):
        guest = load_lxc(ctx.store, node, vmid)
        check_lock(guest)
        assert_if_modified(guest.digest, digest)
        save_config(ctx.store, ctx.instance, guest, _changed(guest, p, delete))
    return None


@routes.route("DELETE", "/nodes/{node}/lxc/{vmid}", {
    **CT, "force": BOOL, "purge": BOOL, "destroy-unreferenced-disks": BOOL})
def destroy_lxc(ctx: Ctx, p: dict[str, Any]) -> Any:
    node = online_node(ctx, p["node"]).name
    return guest_destroy.destroy(ctx, node, int(p["vmid"]), LXC, purge=bool(p.get("purge")),
                                 force=bool(p.get("force")))
