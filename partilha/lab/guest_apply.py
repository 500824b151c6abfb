"""From a guest's PVE config in the state to its real container (partilha.lab.realize.guests).

A guest `<vmid>` is the container `<instance prefix><vmid>`; its `net0` bridge must be an applied
SDN VNet (it becomes the VNet's host bridge) with a static `ip=` (the lab has no DHCP); `gw=`
defaults to the VNet's subnet gateway. `config_lock` serialises the changes to one guest, as PVE's
per-guest config lock does.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

from partilha.lab.guest_config import parse_net
from partilha.lab.instance import LabInstance
from partilha.lab.realize import guests as containers
from partilha.lab.realize._cmd import RealizeError
from partilha.lab.realize.template import ensure_template
from partilha.lab.state import cluster, sdn
from partilha.lab.state.db import Store
from partilha.lab.state.guests import Guest

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


def spec_for(store: Store, instance: LabInstance, guest: Guest,
             keys: tuple[str, ...] = ()) -> containers.GuestSpec:
    """The container the guest's config describes."""
    if not guest.config.get("net0"):
        raise GuestSetupError("the lab realises a container with a net0 on an SDN VNet")
    net = parse_net(str(guest.config["net0"]))
    bridge = net.get("bridge", "")
    vnet = sdn.applied_vnet(store, instance.prefix, bridge)
    if vnet is None:
        raise GuestSetupError(f"bridge '{bridge}' does not exist")
    if net.get("tag") or net.get("trunks"):
        raise GuestSetupError(f"vm vlans are not allowed on vnet {bridge}")
    if "/" not in net.get("ip", ""):
        raise GuestSetupError("net0: the lab has no DHCP; give ip=<address>/<prefix length>")
    gateway = net.get("gw") or (str(vnet.gateway.ip) if vnet.gateway else None)
    if gateway is None:
        raise GuestSetupError(f"net0: give gw=<address>; vnet {bridge} has no subnet gateway")
    node = cluster.node(store, guest.node)
    cores = int(guest.config.get("cores") or (node.cpus if node else 1))
    try:
        return containers.GuestSpec(
            name=container_name(instance, guest.vmid), vmid=guest.vmid,
            hostname=str(guest.config.get("hostname") or f"CT{guest.vmid}"), bridge=vnet.bridge,
            ip=IPv4Interface(net["ip"]), gateway=IPv4Address(gateway),
            guests_root=instance.guests_root, ssh_public_keys=keys, cores=cores,
            memory_mib=int(guest.config.get("memory", 512)),
            swap_mib=int(guest.config.get("swap", 512)), apt_proxy_port=instance.cache_port,
            hwaddr=net.get("hwaddr", "").lower())
    except ValueError as exc:
        raise GuestSetupError(str(exc)) from None


def create(store: Store, instance: LabInstance, guest: Guest, keys: tuple[str, ...],
           log: Log) -> None:
    """The stopped container, its host keys pinned in the instance's known_hosts."""
    spec = spec_for(store, instance, guest, keys)
    template = ensure_template()
    log(f"overlaying the Debian 12 template {template}")
    for key in containers.create(spec, template, instance.known_hosts):
        log(f"SSH host key {key.type} pinned for {spec.ip.ip}")


def start(store: Store, instance: LabInstance, guest: Guest) -> float:
    """Start the container; seconds until sshd answered with the pinned host key."""
    spec = spec_for(store, instance, guest)
    try:
        return containers.start(spec)
    except Exception:
        containers.stop(spec.name)
        raise


def authorized_keys(instance: LabInstance, vmid: int) -> tuple[str, ...]:
    """The keys root's authorized_keys holds now (so a reconfigure keeps what deploys added)."""
    name = container_name(instance, vmid)
    if containers.is_running(name):
        root = Path(f"/proc/{containers.init_pid(name)}/root")
    else:
        root = instance.guests_root / name / "upper"
    path = root / "root/.ssh/authorized_keys"
    return tuple(line for line in path.read_text().splitlines() if line.strip()) if path.is_file() else ()


def reconfigure(store: Store, instance: LabInstance, guest: Guest) -> None:
    """Apply hostname, net0, cores, memory and swap to the container (live when running)."""
    spec = spec_for(store, instance, guest, authorized_keys(instance, guest.vmid))
    containers.reconfigure(spec, instance.known_hosts)


def destroy(instance: LabInstance, vmid: int) -> None:
    containers.destroy(container_name(instance, vmid), instance.guests_root, instance.known_hosts)


def stop(instance: LabInstance, vmid: int) -> None:
    """Hard stop (PVE's `status/stop`)."""
    containers.stop(container_name(instance, vmid))


def shutdown(instance: LabInstance, vmid: int, timeout: float, force: bool) -> None:
    """Clean shutdown; on timeout an error, or a hard stop when `force`."""
    containers.shutdown(container_name(instance, vmid), timeout=timeout, force=force)


def runtime(instance: LabInstance, vmid: int) -> dict[str, int]:
    """pid, uptime (s) and memory in use (bytes) of a running container, as far as known."""
    name = container_name(instance, vmid)
    try:
        pid = containers.init_pid(name)
        started = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot_seconds = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError, RealizeError):
        return {}
    out = {"pid": pid, "uptime": max(0, int(boot_seconds - started / os.sysconf("SC_CLK_TCK")))}
    for usage in (Path(f"/sys/fs/cgroup/memory/lxc.payload.{name}/memory.usage_in_bytes"),
                  Path(f"/sys/fs/cgroup/lxc.payload.{name}/memory.current")):
        if usage.is_file():
            out["mem"] = int(usage.read_text())
            break
    return out
