"""/nodes/{node}/qemu/{vmid}/template and /clone, as qemu-server's API2/Qemu.pm has them.

`template` (VM.Allocate) refuses a locked, running or already-template VM and returns the UPID of
its `qmtemplate` task. `clone` (VM.Clone on the source, VM.Allocate on the new vmid or its pool,
Datastore.AllocateSpace on each storage) gives the new VM lock `clone` while its `qmclone` task
runs (the source keeps no lock), a new MAC per NIC, a new SMBIOS UUID (and VM generation ID if
set), and the name `Copy-of-VM-<name>` unless one is given. Cloning a template VM and then
setting `ipconfig0` and `sshkeys` is how VMs are made from cloud images on PVE; in the lab the
new container starts from a copy of the template's files.
"""

from __future__ import annotations

import re
from typing import Any

from partilha.lab.cluster import online_node, require_quorum
from partilha.lab.guests import guest_clone, qemu_config
from partilha.lab.guests.guest_guard import check_lock, load_guest
from partilha.lab.guests.state import QEMU, GuestRow
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError
from partilha.lab.server.params import BOOL, NODE, VMID, Param
from partilha.lab.server.router import Router

routes = Router()
VM = {"node": NODE, "vmid": VMID}
_SNAPSHOT_KEYS = ("snapshots", "parent", "snaptime", "vmstate", "snapstate", "pending")


def _disks(guest: GuestRow) -> list[str]:
    return qemu_config.disks(guest.config)


@routes.route("POST", "/nodes/{node}/qemu/{vmid}/template", {
    **VM, "disk": Param(pattern=qemu_config.DISK.pattern)})
def template(ctx: Ctx, p: dict[str, Any]) -> Any:
    node = online_node(ctx, p["node"]).name
    vmid, disk = int(p["vmid"]), p.get("disk")
    ctx.require(f"/vms/{vmid}", ["VM.Allocate"])

    def check(guest: GuestRow) -> None:
        check_lock(guest)
        if guest.template and not disk:
            raise PveError("you can't convert a template to a template")
        if guest.status == "running":
            raise PveError("you can't convert a VM to template if VM is running")

    return guest_clone.convert_to_template(
        ctx, node, vmid, QEMU, "qmtemplate", check,
        lambda guest: [disk] if disk else _disks(guest))


def _new_config(ctx: Ctx, source: GuestRow, p: dict[str, Any], newid: int, full: bool) -> dict[str, Any]:
    """qemu-server's copy: disks on the new vmid (CD-ROMs as they are, a cloud-init drive
    anew), a new MAC per NIC, a new SMBIOS UUID and VM generation ID, no template flag."""
    storage = p.get("storage")
    config: dict[str, Any] = {}
    for key, value in source.config.items():
        if key in _SNAPSHOT_KEYS or re.fullmatch(r"unused\d+", key) or key == "template":
            continue
        if re.fullmatch(r"net\d+", key):
            net = qemu_config.parse_net(str(value))
            net.pop("macaddr", None)
            config[key] = qemu_config.with_mac(qemu_config.print_net(net))
        elif qemu_config.DISK.fullmatch(key):
            drive = qemu_config.parse_drive(str(value))
            cloudinit = "cloudinit" in drive["file"]
            if qemu_config.is_cdrom(drive) and not cloudinit:
                config[key] = value
                continue
            sid = (storage if full or cloudinit else None) or drive["file"].partition(":")[0]
            ctx.require(f"/storage/{sid}", ["Datastore.AllocateSpace"])
            config[key] = guest_clone.clone_volume(str(value), newid, sid)
        else:
            config[key] = value
    vmgenid = bool(config.get("vmgenid"))
    qemu_config.new_identity(config)
    if not vmgenid:
        config.pop("vmgenid")
    config["name"] = p.get("name") or f"Copy-of-VM-{source.config.get('name') or source.vmid}"
    if p.get("description"):
        config["description"] = p["description"]
    return config


@routes.route("POST", "/nodes/{node}/qemu/{vmid}/clone", {
    **VM, "newid": VMID, "name": Param(format="dns-name"), "description": Param(),
    "pool": Param(format="pve-poolid"), "snapname": Param(), "storage": Param(format="pve-storage-id"),
    "format": Param(enum=("raw", "qcow2", "vmdk")), "full": BOOL, "target": Param(format="pve-node"),
    "bwlimit": Param("integer", minimum=0)})
def clone(ctx: Ctx, p: dict[str, Any]) -> Any:
    node = online_node(ctx, p["node"]).name
    target = guest_clone.target_node(ctx, node, p)
    require_quorum(ctx)
    vmid, newid, pool = int(p["vmid"]), int(p["newid"]), p.get("pool")
    source = load_guest(ctx.store, node, vmid, QEMU)
    check_lock(source)
    if p.get("snapname"):
        raise PveError(f"snapshot '{p['snapname']}' does not exist")
    full = bool(p["full"]) if "full" in p else not source.template
    for option in ("storage", "format"):
        if p.get(option) and not full:
            raise PveError(f"parameter '{option}' not allowed for linked clones")
    config = _new_config(ctx, source, p, newid, full)
    guest_clone.check_target(ctx, source, target, sorted(
        {qemu_config.parse_drive(str(config[k]))["file"].partition(":")[0] for k in _disks(source)
         if not qemu_config.is_cdrom(qemu_config.parse_drive(str(config[k])))}))
    return guest_clone.start(ctx, guest_clone.Clone(
        source, newid, config, target, pool, full, source_lock=None, new_lock="clone",
        task_type="qmclone"))
