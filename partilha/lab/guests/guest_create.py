"""Making a new guest, for both types and every way PVE makes one (pve-container's and
qemu-server's `create_vm`, restore, `clone_vm`): the checks on the pool and VM.Allocate, and the
task that makes the guest.

The caller reserves the new vmid before the task (partilha.lab.guests.state.reserve, with the
`create` or `clone` lock), so a second create of it fails at once. The task makes the guest's
container under its config lock, then drops the lock and puts the guest in its pool (if the pool
still exists). A failure leaves nothing behind: the container destroyed (a failure of that only
logged, as a WARN), the guest removed, and the task's error in the type's PVE words. A task that
never runs (it cannot start, or an injected fault fails it first) removes the reserved guest.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from partilha.lab import guests
from partilha.lab.access import POOL
from partilha.lab.guests import guest_apply, guest_power, lxc_config
from partilha.lab.guests.guest_guard import load_guest
from partilha.lab.guests.state import QEMU
from partilha.lab.instance import LabInstance
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError
from partilha.lab.server.store import Store
from partilha.lab.server.tasks import TaskLog


def check_ssh_keys(raw: str) -> None:
    """PVE::Tools::validate_ssh_public_keys, in its words."""
    if raw and not lxc_config.ssh_public_keys_valid(raw):
        raise PveError("SSH public key validation error")


def check_pool(ctx: Ctx, pool: str | None) -> None:
    """`check_pool_exist` of the pool the new guest is to join."""
    if pool is not None and ctx.store.get_object(POOL, pool) is None:
        raise PveError(f"pool '{pool}' does not exist")


def require_allocate(ctx: Ctx, vmid: int, pool: str | None) -> None:
    """VM.Allocate on the new vmid, or on the pool it is to join."""
    if not (ctx.allowed(f"/vms/{vmid}", ["VM.Allocate"])
            or (pool and ctx.allowed(f"/pool/{pool}", ["VM.Allocate"]))):
        raise PveError("Permission check failed", 403)


def pool_if_exists(store: Store, pool: str | None) -> str | None:
    """The pool a made guest joins: the one asked for, unless it was removed meanwhile."""
    return pool if pool and store.get_object(POOL, pool) is not None else None


def discard(store: Store, instance: LabInstance, vmid: int, word: str, log: TaskLog) -> None:
    """A half-made guest gone: its container destroyed (a failure of that only logged), the
    guest removed from the state."""
    try:
        guest_apply.destroy(instance, vmid)
    except Exception as cleanup:
        log(f"WARN: cleaning up {word} {vmid} failed: {cleanup}")
    guests.remove(store, vmid)


@contextmanager
def discarded_on_failure(store: Store, instance: LabInstance, vmid: int, word: str, log: TaskLog,
                         failed: str) -> Iterator[None]:
    """Make the guest in the block; if it fails, `discard` it and raise `<failed><reason>`."""
    try:
        yield
    except Exception as exc:
        discard(store, instance, vmid, word, log)
        raise PveError(f"{failed}{exc}") from exc


def password_hash(password: str) -> str:
    """root's /etc/shadow hash of PVE's `password` (SHA-512 crypt, as chpasswd writes it): only
    the hash goes further, never the password."""
    made = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password, capture_output=True,
                          text=True, timeout=30, check=True)
    return made.stdout.strip()


def start(ctx: Ctx, node: str, vmid: int, kind: str, task_type: str, *, pool: str | None,
          keys: tuple[str, ...], intro: str, autostart: bool, root_hash: str = "") -> str:
    """The `vzcreate` / `qmcreate` task of the guest the caller reserved: its container made from
    the template with root's `keys`, `intro` logged first; started after when `autostart`. Its
    UPID."""
    store, instance = ctx.store, ctx.instance
    word = "VM" if kind == QEMU else "CT"

    def work(log: TaskLog) -> None:
        failed = f"unable to create {word} {vmid} - "
        with (discarded_on_failure(store, instance, vmid, word, log, failed),
              guest_apply.config_lock(vmid)):
            log(intro)
            guest_apply.create(store, instance, load_guest(store, node, vmid, kind), keys, log, root_hash)
            guests.update(store, vmid, lock=None, pool=pool_if_exists(store, pool))
        if autostart:
            if kind == QEMU:
                log("Execute autostart")  # qemu-server says so; pve-container starts silently
            guest_power.start(store, instance, node, vmid, kind, log)

    return ctx.tasks.start(node, task_type, str(vmid), ctx.authid, work,
                           undo=lambda: guests.remove(store, vmid))
