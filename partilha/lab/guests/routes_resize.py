"""PUT /nodes/{node}/{lxc|qemu}/{vmid}/resize: grow a guest's disk, as pve-container's and
qemu-server's `resize_vm` do in PVE 8: VM.Config.Disk, the digest and lock checked under the
config lock, `+<size>` relative to the current size, a refused shrink in the type's words,
nothing to do (no task, `null`) when the size is already that, else a `resize` task that writes
the new `size=` into the disk's config entry.

The lab's containers have no sized disk images, so the new size is only recorded (it shows in
the config, `maxdisk` and backups), as a real resize records it after growing the volume.
"""

from __future__ import annotations

from typing import Any

from partilha.lab import guests
from partilha.lab.cluster import online_node
from partilha.lab.guests import guest_apply, lxc_config, qemu_config
from partilha.lab.guests.guest_guard import check_lock, load_guest
from partilha.lab.guests.state import LXC, QEMU, GuestRow
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import MODIFIED, PveError, param_error
from partilha.lab.server.params import NODE, VMID, Param
from partilha.lab.server.router import Router
from partilha.lab.server.tasks import TaskLog

routes = Router()
SIZE = Param(optional=False, pattern=r"\+?\d+(\.\d+)?[KMGT]?")
DISK = {LXC: Param(optional=False, enum=("rootfs", *(f"mp{n}" for n in range(256)))),
        QEMU: Param(optional=False, pattern=qemu_config.DISK.pattern)}
SHRINK = {LXC: "unable to shrink disk size", QEMU: "shrinking disks is not supported"}


def _size_of(value: str) -> int:
    """The `size=` of a disk entry (rootfs / mp[n] / a VM drive), in bytes."""
    parts = dict(p.partition("=")[::2] for p in value.split(",")[1:])
    return lxc_config.parse_size(parts.get("size", "0"))


def _with_size(value: str, size: int) -> str:
    kept = [p for p in value.split(",") if not p.startswith("size=")]
    return ",".join([*kept, f"size={lxc_config.format_size(size)}"])


def _register(kind: str) -> None:
    @routes.route("PUT", f"/nodes/{{node}}/{kind}/{{vmid}}/resize", {
        "node": NODE, "vmid": VMID, "disk": DISK[kind], "size": SIZE,
        "digest": Param(max_length=40), "skiplock": Param("boolean")})
    def resize(ctx: Ctx, p: dict[str, Any]) -> Any:
        node = online_node(ctx, p["node"]).name
        vmid, disk, text = int(p["vmid"]), p["disk"], str(p["size"])
        ctx.require(f"/vms/{vmid}", ["VM.Config.Disk"])
        if p.get("skiplock") and ctx.authid != "root@pam":
            raise param_error(skiplock="Only root may use this option.")
        with guest_apply.config_lock(vmid):
            guest = load_guest(ctx.store, node, vmid, kind)
            if not p.get("skiplock"):
                check_lock(guest)
            if p.get("digest") and p["digest"] != guest.digest:
                raise PveError(qemu_config.CHECKSUM_MISMATCH if kind == QEMU else MODIFIED)
            if not guest.config.get(disk):
                raise PveError(f"disk '{disk}' does not exist")
            current = _size_of(str(guest.config[disk]))
            wanted = lxc_config.parse_size(text.lstrip("+")) + (current if text.startswith("+") else 0)
            if wanted < current:
                raise PveError(SHRINK[kind])
            if wanted == current:
                return None
        store = ctx.store

        def work(log: TaskLog) -> None:
            with guest_apply.config_lock(vmid):
                now: GuestRow = load_guest(store, node, vmid, kind)
                config = dict(now.config, **{disk: _with_size(str(now.config[disk]), wanted)})
                guests.update(store, vmid, config=config)
            log(f"{disk}: resized to {lxc_config.format_size(wanted)} (the lab records the size)")

        return ctx.tasks.start(node, "resize", str(vmid), ctx.authid, work)


for _kind in (LXC, QEMU):
    _register(_kind)
