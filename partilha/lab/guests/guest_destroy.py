"""DELETE /nodes/{node}/{lxc|qemu}/{vmid} for both types: the checks before and inside the task
(protection, lock, HA resource without `purge`, running), lock `destroyed`, the container and
the config removed, and with `purge` the guest's HA resource too.

Ported from pve-container's and qemu-server's `destroy_vm`; where they differ (a CT checks its
lock at once and may be `force`d to stop, a VM checks it inside the task unless `skiplock`; their
words for a running guest) the caller says which.
"""

from __future__ import annotations

from partilha.lab import guests, ha
from partilha.lab.guests import guest_apply
from partilha.lab.guests.guest_guard import check_lock, load_guest
from partilha.lab.guests.state import LXC, GuestRow
from partilha.lab.sdn import sdn_apply
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError
from partilha.lab.server.tasks import TaskLog


def destroy(ctx: Ctx, node: str, vmid: int, kind: str, *, purge: bool, force: bool = False,
            skiplock: bool = False) -> str:
    """Start the `vzdestroy` / `qmdestroy` task; its UPID."""
    ctx.require(f"/vms/{vmid}", ["VM.Allocate"])
    word = "CT" if kind == LXC else "VM"
    running_error = (f"unable to destroy CT {vmid} - container is running" if kind == LXC
                     else f"VM {vmid} is running - destroy failed")
    sid = ha.sid_of(kind, vmid)
    store, instance = ctx.store, ctx.instance

    def early_checks(guest: GuestRow, in_task: bool) -> None:
        if guest.config.get("protection"):
            raise PveError(f"can't remove {word} {vmid} - protection mode enabled")
        if kind == LXC or (in_task and not skiplock):
            check_lock(guest)
        if not purge and ha.configured(store, sid):
            raise PveError(f"unable to remove {word} {vmid} - used in HA resources and purge "
                           "parameter not set.")
        if guest.status == "running" and not force:
            raise PveError(running_error)

    early_checks(load_guest(store, node, vmid, kind), in_task=False)

    def work(log: TaskLog) -> None:
        with guest_apply.config_lock(vmid):
            current = load_guest(store, node, vmid, kind)
            early_checks(current, in_task=True)
            if current.status == "running":
                log(f"forced to stop {word} {vmid} before destroying!")
            guests.update(store, vmid, lock="destroyed")
            guest_apply.destroy(instance, vmid)
            if purge:
                log(f"purging {word} {vmid} from related configurations..")
                if ha.configured(store, sid):
                    ha.delete_resource(store, sid)
                    log(f"NOTE: removed {word} {vmid} from HA resource configuration.")
            guests.remove(store, vmid, access=True)
            sdn_apply.guest_changed(store, instance, vmid, destroyed=True)

    return ctx.tasks.start(node, "vzdestroy" if kind == LXC else "qmdestroy", str(vmid),
                           ctx.authid, work)
