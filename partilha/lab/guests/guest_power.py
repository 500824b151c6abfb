"""The work of the power tasks, one for both guest types (pve-container's LXC/Status.pm and
qemu-server's `vm_start`/`vm_stop`/`vm_reboot`): under the guest's config lock, refusing a
template and a locked guest in PVE's words, on the guest's real container.

What is refused before a task starts differs between the types (a CT's `already running` is
refused at once, a VM's inside the task), so that stays in the routes.
"""

from __future__ import annotations

from partilha.lab import guests
from partilha.lab.guests import guest_apply
from partilha.lab.guests.guest_guard import check_lock, load_guest
from partilha.lab.guests.state import QEMU, GuestRow
from partilha.lab.instance import LabInstance
from partilha.lab.server.errors import PveError
from partilha.lab.server.store import Store
from partilha.lab.server.tasks import TaskLog


def _unlocked(guest: GuestRow, skiplock: bool) -> GuestRow:
    if not skiplock and guest.lock != "mounted":  # `mounted`: pct mount, not a change in flight
        check_lock(guest)
    return guest


def _checked(store: Store, node: str, vmid: int, kind: str, skiplock: bool) -> GuestRow:
    return _unlocked(load_guest(store, node, vmid, kind), skiplock)


def start(store: Store, instance: LabInstance, node: str, vmid: int, kind: str, log: TaskLog,
          skiplock: bool = False) -> None:
    """`vm_start`; the guest is `running` once sshd answers with its pinned host key."""
    with guest_apply.config_lock(vmid):
        guest = load_guest(store, node, vmid, kind)
        if guest.template:
            raise PveError("you can't start a vm if it's a template" if kind == QEMU else
                           "you can't start a CT if it's a template")
        _unlocked(guest, skiplock)
        if guest.status == "running":
            raise PveError(f"{guest.kind} {vmid} already running")
        if kind == QEMU:
            log(f"VM {vmid} is realised by the LXC system container "
                f"{guest_apply.container_name(instance, vmid)} (the lab runs no QEMU)")
        seconds = guest_apply.start(store, instance, guest)
        guests.update(store, vmid, status="running")
        log(f"{guest.kind} {vmid} started; sshd answered with its pinned host key after "
            f"{seconds:.1f} s")


def stop(store: Store, instance: LabInstance, node: str, vmid: int, kind: str,
         skiplock: bool = False) -> None:
    """`vm_stop`: a hard stop; a guest that is not running is left as it is."""
    with guest_apply.config_lock(vmid):
        if _checked(store, node, vmid, kind, skiplock).status != "running":
            return
        guest_apply.stop(instance, vmid)
        guests.update(store, vmid, status="stopped")


def shutdown(store: Store, instance: LabInstance, node: str, vmid: int, kind: str, timeout: float,
             force: bool, skiplock: bool = False) -> None:
    """A clean shutdown; on timeout an error, or a hard stop with `forceStop`."""
    with guest_apply.config_lock(vmid):
        if _checked(store, node, vmid, kind, skiplock).status != "running":
            return
        guest_apply.shutdown(instance, vmid, timeout, force)
        guests.update(store, vmid, status="stopped")


def reboot(store: Store, instance: LabInstance, node: str, vmid: int, kind: str,
           timeout: float) -> None:
    """A shutdown (forced after `timeout`), then a start."""
    with guest_apply.config_lock(vmid):
        guest = _checked(store, node, vmid, kind, skiplock=False)
        guest_apply.shutdown(instance, vmid, timeout, force=True)
        guests.update(store, vmid, status="stopped")
        guest_apply.start(store, instance, guest)
        guests.update(store, vmid, status="running")
