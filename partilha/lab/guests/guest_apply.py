"""From a guest's PVE config in the state to its real container (partilha.lab.machine.lxc.containers).

One path for both guest types: a CT `<vmid>` and a VM `<vmid>` are both the container
`<instance prefix><vmid>` (the lab has no QEMU; a VM's container is set up as cloud-init would set
up the VM, see partilha.lab.guests.qemu_config). Its `net0` bridge must be an applied SDN VNet (it becomes
the VNet's host bridge); to start, it needs a static address (CT: net0 `ip=`, VM: ipconfig0
`ip=`; the lab has no DHCP); `gw=` defaults to the VNet's subnet gateway. `config_lock`
serialises the changes to one guest, as PVE's per-guest config lock does.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

from partilha.lab import cluster, sdn
from partilha.lab.guests import qemu_config
from partilha.lab.guests.state import QEMU, GuestRow
from partilha.lab.instance import LabInstance
from partilha.lab.machine import GuestSpec, HostKey, MachineError, machine
from partilha.lab.server.store import Store

Log = Callable[[str], None]
LOCK_TIMEOUT = 10.0
_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


class GuestSetupError(ValueError):
    """The guest's config asks for something the lab cannot realise; the message says what."""


@contextmanager
def config_lock(vmid: int, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """PVE's `lock_config`: one change of a guest at a time; PVE's words on a timeout."""
    with _locks_guard:
        lock = _locks.setdefault(vmid, threading.Lock())
    if not lock.acquire(timeout=timeout):
        raise TimeoutError(f"can't lock file '/run/lock/lxc/pve-config-{vmid}.lock' - got timeout")
    try:
        yield
    finally:
        lock.release()


def container_name(instance: LabInstance, vmid: int) -> str:
    return f"{instance.prefix}{vmid}"


def _address_option(guest: GuestRow) -> str:
    """Where the guest's address is configured: a CT's net0, a VM's ipconfig0 (cloud-init)."""
    return "ipconfig0" if guest.type == QEMU else "net0"


def spec_for(store: Store, instance: LabInstance, guest: GuestRow,
             keys: tuple[str, ...] = (), password_hash: str = "") -> GuestSpec:
    """The container the guest's config describes (a VM's as cloud-init would set it up)."""
    try:
        shape = guest.shape
    except ValueError as exc:
        raise GuestSetupError(str(exc)) from None
    if shape.bridge is None:
        raise GuestSetupError(f"the lab realises a {guest.kind} with a net0 on an SDN VNet")
    vnet = sdn.applied_vnet(store, instance.prefix, shape.bridge)
    if vnet is None:
        raise GuestSetupError(f"bridge '{shape.bridge}' does not exist")
    if shape.vlan:
        raise GuestSetupError(f"vm vlans are not allowed on vnet {shape.bridge}")
    gateway = shape.gateway or (str(vnet.gateway.ip) if vnet.gateway else None)
    if shape.ip is not None and gateway is None:
        raise GuestSetupError(f"{_address_option(guest)}: give gw=<address>; vnet {shape.bridge} "
                              "has no subnet gateway")
    node = cluster.node(store, guest.node)
    try:
        return GuestSpec(
            name=container_name(instance, guest.vmid), vmid=guest.vmid, hostname=shape.hostname,
            bridge=vnet.bridge, ip=IPv4Interface(shape.ip) if shape.ip else None,
            gateway=IPv4Address(gateway) if shape.ip and gateway else None,
            guests_root=instance.guests_root, ssh_public_keys=keys,
            cores=shape.cores or (node.cpus if node else 1), memory_mib=shape.memory_mib,
            swap_mib=shape.swap_mib, apt_proxy_port=instance.cache_port, hwaddr=shape.hwaddr,
            root_password_hash=password_hash)
    except ValueError as exc:
        raise GuestSetupError(str(exc)) from None


def _pinned(spec: GuestSpec, keys: list[HostKey], log: Log) -> None:
    for key in keys:
        where = f"pinned for {spec.ip.ip}" if spec.ip else "made (pinned once it has an address)"
        log(f"SSH host key {key.type} {where}")


def create(store: Store, instance: LabInstance, guest: GuestRow, keys: tuple[str, ...],
           log: Log, password_hash: str = "") -> None:
    """The stopped container (root's password hash set if given), its host keys pinned in the
    instance's known_hosts."""
    spec = spec_for(store, instance, guest, keys, password_hash)
    template = machine.template()
    log(f"overlaying the Debian 12 template {template}")
    _pinned(spec, machine.create_container(spec, template, instance.known_hosts), log)


def clone(store: Store, instance: LabInstance, source_vmid: int, guest: GuestRow, log: Log) -> None:
    """The clone's container: a copy of the source's files with its own machine-id and host
    keys; a VM clone also gets the `sshkeys` of its config, as cloud-init would add them."""
    spec = spec_for(store, instance, guest, _keys(instance, guest, source_vmid))
    source = instance.guests_root / container_name(instance, source_vmid) / "upper"
    log(f"copying the files of {guest.kind} {source_vmid} ({source})")
    _pinned(spec, machine.create_container(spec, machine.template(), instance.known_hosts, seed=source), log)


def start(store: Store, instance: LabInstance, guest: GuestRow) -> float:
    """Start the container; seconds until sshd answered with the pinned host key. The pin is
    renewed first: a clone created with its source's address took that address's pin."""
    spec = spec_for(store, instance, guest)
    if spec.ip is None:
        raise GuestSetupError(f"{_address_option(guest)}: the lab has no DHCP; "
                              "give ip=<address>/<prefix length>")
    # move=False: a guest restored from another's backup shares its keys, and both stay pinned
    machine.pin_host_keys(instance.known_hosts, str(spec.ip.ip), machine.host_keys(spec),
                    move=False)
    try:
        return machine.start(spec)
    except Exception:
        machine.stop(spec.name)
        raise


def authorized_keys(instance: LabInstance, vmid: int) -> tuple[str, ...]:
    """The keys root's authorized_keys holds now (so a reconfigure keeps what deploys added)."""
    name = container_name(instance, vmid)
    if machine.is_running(name):
        root = Path(f"/proc/{machine.init_pid(name)}/root")
    else:
        root = instance.guests_root / name / "upper"
    path = root / "root/.ssh/authorized_keys"
    return tuple(line for line in path.read_text().splitlines() if line.strip()) if path.is_file() else ()


def _keys(instance: LabInstance, guest: GuestRow, files_of: int) -> tuple[str, ...]:
    """root's keys: those in the files of guest `files_of`, plus a VM's `sshkeys` (cloud-init
    adds them, it never removes keys)."""
    keys = authorized_keys(instance, files_of)
    cloud = qemu_config.ssh_keys(guest.config) if guest.type == QEMU else ()
    return tuple(dict.fromkeys(keys + cloud))


def realised_changed(old: GuestRow, new: GuestRow) -> bool:
    """Whether the container must follow a config change (identity, network, limits, keys)."""
    return (old.shape, qemu_config.ssh_keys(old.config)) != (new.shape, qemu_config.ssh_keys(new.config))


def reconfigure(store: Store, instance: LabInstance, guest: GuestRow) -> None:
    """Apply hostname, net0, cores, memory and swap (and a VM's keys) to the container, live when
    it runs."""
    spec = spec_for(store, instance, guest, _keys(instance, guest, guest.vmid))
    machine.reconfigure(spec, instance.known_hosts)


def destroy(instance: LabInstance, vmid: int) -> None:
    machine.destroy(container_name(instance, vmid), instance.guests_root, instance.known_hosts)


def stop(instance: LabInstance, vmid: int) -> None:
    """Hard stop (PVE's `status/stop`)."""
    machine.stop(container_name(instance, vmid))


def shutdown(instance: LabInstance, vmid: int, timeout: float, force: bool) -> None:
    """Clean shutdown; on timeout an error, or a hard stop when `force`."""
    machine.shutdown(container_name(instance, vmid), timeout=timeout, force=force)


def runtime(instance: LabInstance, vmid: int) -> dict[str, int]:
    """pid, uptime (s) and memory in use (bytes) of a running container, as far as known."""
    name = container_name(instance, vmid)
    try:
        pid = machine.init_pid(name)
        started = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot_seconds = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError, MachineError):
        return {}
    out = {"pid": pid, "uptime": max(0, int(boot_seconds - started / os.sysconf("SC_CLK_TCK")))}
    for usage in (Path(f"/sys/fs/cgroup/memory/lxc.payload.{name}/memory.usage_in_bytes"),
                  Path(f"/sys/fs/cgroup/lxc.payload.{name}/memory.current")):
        if usage.is_file():
            out["mem"] = int(usage.read_text())
            break
    return out
