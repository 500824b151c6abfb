"""/nodes/{node}/qemu: list, create (a `qmcreate` task), config GET / POST (a `qmconfig` task) /
PUT (synchronous), DELETE (a `qmdestroy` task).

Ported from qemu-server's PVE/API2/Qemu.pm: the `create` lock taken before the task (the task is
partilha.lab.guests.guest_create's, shared with CTs), new MACs for NICs without one,
`<storage>:<GiB>` disks allocated, a default `boot` order, SMBIOS UUID and VM generation ID;
updates check the digest (in qemu-server's words, "checksum missmatch") before the lock.

The lab has no QEMU: a VM is realised by an LXC system container like a CT (one realisation path,
partilha.lab.guests.guest_apply), set up as cloud-init would set up the VM from `name`, `ipconfig0`,
`sshkeys` (URL-encoded, as PVE takes them) and `sockets` x `cores`/`memory` as cgroup limits.
The task logs say so; the API's answers keep PVE's schema. The lab keeps no pending section:
changes apply at once, to a running VM live (as hot-plug would).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from partilha.lab import guests
from partilha.lab.cluster import online_node, require_quorum
from partilha.lab.guests import guest_apply, guest_create, guest_destroy, qemu_config, qemu_options
from partilha.lab.guests.guest_guard import check_lock, load_guest, read_config
from partilha.lab.guests.guest_save import save_config
from partilha.lab.guests.guest_status import qemu_status_entry
from partilha.lab.guests.qemu_options import QEMU_OPTIONS, VM_CONFIG_PRIVS
from partilha.lab.guests.state import QEMU, GuestRow
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError, param_error
from partilha.lab.server.lists import split_list
from partilha.lab.server.params import BOOL, NODE, VMID, Param
from partilha.lab.server.router import Router
from partilha.lab.server.store import Store
from partilha.lab.server.tasks import TaskLog

routes = Router()
VM = {"node": NODE, "vmid": VMID}


def load_qemu(store: Store, node: str, vmid: int) -> GuestRow:
    return load_guest(store, node, vmid, QEMU)


@routes.route("GET", "/nodes/{node}/qemu", {"node": NODE, "full": BOOL})
def list_qemu(ctx: Ctx, p: dict[str, Any]) -> Any:
    online_node(ctx, p["node"])
    return [qemu_status_entry(ctx.store, g) for g in guests.on_node(ctx.store, p["node"], QEMU)
            if ctx.allowed(f"/vms/{g.vmid}", ["VM.Audit"])]


@routes.route("GET", "/nodes/{node}/qemu/{vmid}", VM)
def qemu_index(ctx: Ctx, p: dict[str, Any]) -> Any:
    online_node(ctx, p["node"])
    load_qemu(ctx.store, p["node"], int(p["vmid"]))
    return [{"subdir": s} for s in ("config", "pending", "status", "clone", "template")]


def _ssh_keys_valid(p: dict[str, Any]) -> None:
    if "sshkeys" in p:
        guest_create.check_ssh_keys(unquote(str(p["sshkeys"])))


def _only_net0(p: dict[str, Any]) -> None:
    extra = sorted(k for k in p if (m := re.fullmatch(r"(?:net|ipconfig)(\d+)", k)) and int(m[1]))
    if extra:
        raise param_error(**{extra[0]: "the lab realises one network interface (net0, ipconfig0)"})


def _options(p: dict[str, Any]) -> dict[str, Any]:
    """The options as the config keeps them; NICs without a MAC get one."""
    out = {k: qemu_options.stored(k, v) for k, v in p.items()}
    for key in [k for k in out if re.fullmatch(r"net\d+", k)]:
        out[key] = qemu_config.with_mac(str(out[key]))
    return out


def _allocate(ctx: Ctx, config: dict[str, Any], vmid: int, storage: str | None) -> None:
    """New disks of `config` allocated, with Datastore.AllocateSpace on their storages."""
    try:
        used = qemu_config.allocate_disks(config, vmid, storage)
    except ValueError as exc:
        raise PveError(str(exc)) from None
    for sid in sorted(set(used)):
        ctx.require(f"/storage/{sid}", ["Datastore.AllocateSpace"])


@routes.route("POST", "/nodes/{node}/qemu", {
    **VM, "storage": Param(format="pve-storage-id"), "pool": Param(format="pve-poolid"),
    "bwlimit": Param("integer", minimum=0), "start": Param("boolean", default=False), **QEMU_OPTIONS})
def create_qemu(ctx: Ctx, p: dict[str, Any]) -> Any:
    node = online_node(ctx, p.pop("node")).name
    vmid = int(p.pop("vmid"))
    start, storage, pool = p.pop("start"), p.pop("storage", None), p.pop("pool", None)
    p.pop("bwlimit", None)
    _ssh_keys_valid(p)
    require_quorum(ctx)
    guest_create.check_pool(ctx, pool)
    if storage is not None:
        ctx.require(f"/storage/{storage}", ["Datastore.AllocateSpace"])
    guest_create.require_allocate(ctx, vmid, pool)
    _only_net0(p)
    config = _options(p)
    _allocate(ctx, config, vmid, storage)
    qemu_options.check_modify_perm(ctx, vmid, pool, {}, {k: v for k, v in config.items()
                                                       if not qemu_config.DISK.fullmatch(k)}, [])
    config.setdefault("boot", qemu_config.default_boot(config))
    qemu_config.new_identity(config)
    holder = guests.reserve(ctx.store, GuestRow(vmid, QEMU, node, config, "create", "stopped", None))
    if holder is not None:
        raise PveError(f"unable to create VM {vmid} - {holder.kind} {vmid} already exists on node "
                       f"'{holder.node}'")
    intro = (f"the lab has no QEMU: VM {vmid} is realised by the LXC system container "
             f"{guest_apply.container_name(ctx.instance, vmid)}, set up as cloud-init would set "
             "up the VM (hostname from 'name', address from 'ipconfig0', 'sshkeys')")
    return guest_create.start(ctx, node, vmid, QEMU, "qmcreate", pool=pool,
                              keys=qemu_config.ssh_keys(config), intro=intro, autostart=start)


@routes.route("GET", "/nodes/{node}/qemu/{vmid}/config", {
    **VM, "current": BOOL, "snapshot": Param()})
def get_config(ctx: Ctx, p: dict[str, Any]) -> Any:
    online_node(ctx, p["node"])
    return read_config(ctx, p, QEMU)


def _check_lists(p: dict[str, Any], delete: list[str], revert: list[str]) -> None:
    """qemu-server's words (which differ from pve-container's in their quotes)."""
    for opt in revert:
        if not qemu_options.option_exists(opt):
            raise param_error(revert=f"unknown option '{opt}'")
        if opt in p:
            raise param_error(revert=f"you can't use '-{opt}' and '-revert {opt}' at the same time")
    for opt in delete:
        if opt in p:
            raise param_error(delete=f"you can't use '-{opt}' and -delete {opt}' at the same time")
        if opt in revert:
            raise param_error(revert=f"you can't use '-delete {opt}' and -revert {opt}' at the same time")
        if not qemu_options.option_exists(opt):
            raise param_error(delete=f"unknown option '{opt}'")


def _unused_key(config: dict[str, Any]) -> str:
    return next(f"unused{n}" for n in range(256) if f"unused{n}" not in config)


def _changed(guest: GuestRow, options: dict[str, Any], delete: list[str]) -> dict[str, Any]:
    """The config after the update; a deleted disk stays as `unused<n>` (its volume kept)."""
    config = dict(guest.config)
    for opt in delete:
        value = config.pop(opt, None)
        if value and qemu_config.DISK.fullmatch(opt):
            drive = qemu_config.parse_drive(str(value))
            if not qemu_config.is_cdrom(drive):
                config[_unused_key(config)] = drive["file"]
    config.update(options)
    return config


def _update(ctx: Ctx, p: dict[str, Any], sync: bool) -> Any:
    node = online_node(ctx, p.pop("node")).name
    vmid = int(p.pop("vmid"))
    ctx.require(f"/vms/{vmid}", VM_CONFIG_PRIVS, any_=True)
    digest, skiplock = p.pop("digest", None), bool(p.pop("skiplock", False))
    p.pop("force", None)
    p.pop("background_delay", None)
    if skiplock and ctx.authid != "root@pam":
        raise param_error(skiplock="Only root may use this option.")
    delete, revert = split_list(p.pop("delete", "")), split_list(p.pop("revert", ""))
    if not p and not delete and not revert:
        raise PveError("no options specified")
    _ssh_keys_valid(p)
    _check_lists(p, delete, revert)
    _only_net0(p)
    options = _options(p)
    _allocate(ctx, options, vmid, None)
    qemu_options.check_modify_perm(ctx, vmid, None, load_qemu(ctx.store, node, vmid).config, options, delete)
    described = " ".join(f"-{k} {v}" for k, v in p.items())
    if delete:
        described = f"{described} -delete {','.join(delete)}".strip()
    store, instance = ctx.store, ctx.instance

    def apply(guest: GuestRow) -> None:
        save_config(store, instance, guest, _changed(guest, options, delete))

    with guest_apply.config_lock(vmid):
        guest = load_qemu(ctx.store, node, vmid)
        if digest and digest != guest.digest:
            raise PveError(qemu_config.CHECKSUM_MISMATCH)
        if not skiplock:
            check_lock(guest)
        if sync:
            apply(guest)
            return None

    def work(log: TaskLog) -> None:
        log(f"update VM {vmid}: {described}")
        with guest_apply.config_lock(vmid):
            apply(load_qemu(store, node, vmid))

    return ctx.tasks.start(node, "qmconfig", str(vmid), ctx.authid, work)


_UPDATE_SCHEMA = {**VM, "delete": Param(format="pve-configid-list"),
                  "revert": Param(format="pve-configid-list"), "digest": Param(max_length=40),
                  "skiplock": BOOL, "force": BOOL, **QEMU_OPTIONS}


@routes.route("POST", "/nodes/{node}/qemu/{vmid}/config", {
    **_UPDATE_SCHEMA, "background_delay": Param("integer", minimum=1, maximum=30)})
def update_qemu_async(ctx: Ctx, p: dict[str, Any]) -> Any:
    """Asynchronous: the checks answer at once, the change runs in a `qmconfig` task."""
    return _update(ctx, p, sync=False)


@routes.route("PUT", "/nodes/{node}/qemu/{vmid}/config", _UPDATE_SCHEMA)
def update_qemu(ctx: Ctx, p: dict[str, Any]) -> Any:
    return _update(ctx, p, sync=True)


@routes.route("DELETE", "/nodes/{node}/qemu/{vmid}", {
    **VM, "skiplock": BOOL, "purge": BOOL, "destroy-unreferenced-disks": BOOL})
def destroy_qemu(ctx: Ctx, p: dict[str, Any]) -> Any:
    node = online_node(ctx, p["node"]).name
    if p.get("skiplock") and ctx.authid != "root@pam":
        raise param_error(skiplock="Only root may use this option.")
    return guest_destroy.destroy(ctx, node, int(p["vmid"]), QEMU, purge=bool(p.get("purge")),
                                 skiplock=bool(p.get("skiplock")))
