"""The machine side of the lab behind one interface: what the PVE areas ask of the machine their
guests run on (containers, bridges, the nftables table, archives, the template, the package cache),
each with a one-line contract. The only backend is LXC (partilha.lab.machine.lxc); area code uses
`machine` and the data types below, never a backend's modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from ipaddress import IPv4Interface, IPv4Network, IPv6Network
from pathlib import Path
from typing import Protocol

from partilha.lab.machine.lxc import Lxc
from partilha.lab.machine.lxc.aptcache import AptCache
from partilha.lab.machine.lxc.archive import ARCHIVE_CONFIG, ARCHIVE_FIREWALL
from partilha.lab.machine.lxc.commands import MachineError
from partilha.lab.machine.lxc.containers import GuestSpec
from partilha.lab.machine.lxc.known_hosts import HostKey
from partilha.lab.machine.lxc.nftables import (
    Action,
    Address,
    GuestFilter,
    LabFirewall,
    Policy,
    Port,
    Rule,
    VNetFilter,
    VNetNet,
)
from partilha.lab.machine.lxc.picks import pick, unused_port

__all__ = [
    "ARCHIVE_CONFIG",
    "ARCHIVE_FIREWALL",
    "Action",
    "Address",
    "AptCache",
    "GuestFilter",
    "GuestSpec",
    "HostKey",
    "LabFirewall",
    "Machine",
    "MachineError",
    "Policy",
    "Port",
    "Rule",
    "VNetFilter",
    "VNetNet",
    "free_subnet",
    "machine",
    "pick",
    "unused_port",
]


class Machine(Protocol):
    """Every method is idempotent where its contract says "ensure"; failures raise MachineError."""

    # containers: a guest is one system container named by the lab (`<prefix><vmid>`)
    def containers(self, prefix: str) -> list[str]:
        """Names of the containers, running or not, whose name starts with `prefix`."""

    def container_exists(self, name: str) -> bool:
        """Whether a container of that name exists."""

    def create_container(self, spec: GuestSpec, template: Path, known_hosts_file: Path, *,
                         seed: Path | None = None) -> list[HostKey]:
        """A stopped container from the template (or a copy of `seed`); its host keys, pinned."""

    def create_restored(self, spec: GuestSpec, template: Path, known_hosts_file: Path,
                        fill: Callable[[Path], None]) -> list[HostKey]:
        """A stopped container on `template` whose upper layer `fill` writes; its host keys,
        pinned."""

    def reconfigure(self, spec: GuestSpec, known_hosts_file: Path) -> None:
        """Make an existing container match `spec` (hostname, address, bridge, keys, limits)."""

    def host_keys(self, spec: GuestSpec) -> list[HostKey]:
        """The public host keys written into a container at creation."""

    def start(self, spec: GuestSpec, *, ssh_timeout: float = 30.0) -> float:
        """Start it and wait until sshd answers with its pinned host key; the seconds it took."""

    def is_running(self, name: str) -> bool:
        """Whether the container runs."""

    def init_pid(self, name: str) -> int:
        """The host PID of the running container's init."""

    def stop(self, name: str) -> None:
        """Kill the container at once."""

    def shutdown(self, name: str, *, timeout: float = 60.0, force: bool = False) -> None:
        """Halt it cleanly; on timeout an error, or a hard stop if `force`."""

    def freeze(self, name: str) -> None:
        """Suspend every process of the container."""

    def unfreeze(self, name: str) -> None:
        """Resume a frozen container."""

    def rootfs_reader(self, name: str) -> tuple[list[str], Path]:
        """(argv prefix, root): how a host command reads the container's whole root filesystem."""

    def exec_argv(self, name: str) -> list[str]:
        """The argv prefix running a command inside the running container, as root (`pct exec`)."""

    def destroy(self, name: str, guests_root: Path, known_hosts_file: Path) -> None:
        """Stop and remove the container, its files and its pinned host keys."""

    def pin_host_keys(self, known_hosts_file: Path, address: str, keys: Iterable[HostKey], *,
                      move: bool = True) -> None:
        """Record `keys` for `address`, replacing its earlier keys (and, if `move`, other
        addresses' lines of the same keys)."""

    # the template every container starts from
    def template(self) -> Path:
        """The template's root filesystem, built now if missing."""

    def template_dir(self) -> Path:
        """Where the template's root filesystem is (built or not)."""

    # networks: a zone or VNet is one bridge
    def bridge_name(self, prefix: str, ident: str) -> str:
        """The bridge of an SDN zone or VNet `ident` of the instance `prefix`."""

    def ensure_zone(self, name: str, *, vlan_aware: bool = True) -> bool:
        """The zone's bridge exists; whether it is VLAN-aware."""

    def ensure_vnet(self, name: str, *, gateway: IPv4Interface | None, zone: str | None = None,
                    tag: int | None = None) -> bool:
        """The VNet's bridge exists with its gateway, tagged onto `zone` when `tag` is given."""

    def remove_vnet(self, name: str) -> None:
        """The VNet's bridge is gone."""

    def bridges(self, prefix: str) -> list[str]:
        """The bridges whose name starts with `prefix`."""

    def remove_bridges(self, prefix: str) -> list[str]:
        """Every bridge of `prefix` is gone; the ones removed."""

    def stop_forwarding(self, bridge: str) -> None:
        """The host routes nothing that arrives on `bridge`."""

    def routed_networks(self) -> list[IPv4Network | IPv6Network]:
        """Every network a route of the host covers."""

    def interfaces_in(self, subnet: IPv4Network) -> set[str]:
        """The interfaces with an address in `subnet`."""

    # network namespaces: a host on one of the lab's networks (a probe point on a VNet, the outside)
    def ensure_namespace(self, name: str, address: IPv4Interface, gateway: IPv4Interface,
                         bridge: str | None = None) -> list[str]:
        """Namespace `name` at `address`, routed through `gateway`: a port of `bridge` (whose
        address `gateway` is), or without one a link the host routes, carrying `gateway`. The
        command prefix that runs a program there."""

    def namespace_link(self, name: str) -> str:
        """The host's end of namespace `name`'s link."""

    def namespaces(self, prefix: str) -> list[str]:
        """The network namespaces whose name starts with `prefix`."""

    def remove_namespaces(self, prefix: str) -> list[str]:
        """Every namespace of `prefix` and its link are gone; the ones removed."""

    # the instance's one nftables table
    def apply_firewall(self, firewall: LabFirewall) -> None:
        """Replace the instance's table atomically with `firewall`."""

    def remove_firewall(self, table: str) -> None:
        """The instance's table is gone."""

    # vzdump archives
    def compressor(self, compress: str, zstd_threads: int) -> tuple[list[str], str]:
        """vzdump's (command, extension) for `compress`; ([], "") for none."""

    def write_archive(self, target: Path, reader: Sequence[str], root: Path, config: str,
                      firewall: str, excludes: Sequence[str], compress_cmd: Sequence[str],
                      bwlimit_kib: int = 0) -> str:
        """Write the archive of `root` with the guest's config in front; tar's totals line."""

    def archive_config(self, archive: Path) -> str:
        """The guest config an archive holds."""

    def extract_archive(self, archive: Path, upper: Path, lower: Path) -> str:
        """Extract an archive onto an overlay's empty `upper` over `lower`, writing only what
        differs from `lower`; tar's totals line (of what was written)."""

    # the host
    def ensure_host_limits(self) -> dict[str, int]:
        """Kernel limits at least PVE's; the ones changed."""

    def start_apt_cache(self, cache: AptCache) -> None:
        """The instance's package cache runs and answers."""

    def stop_apt_cache(self, cache: AptCache) -> None:
        """The instance's package cache is stopped."""

    def free_cache_port(self) -> int:
        """A port a new package cache can listen on (nothing does now)."""


machine: Machine = Lxc()


def free_subnet(base: str, what: str) -> IPv4Network:
    """A random /24 of `<base>.0.0/16` (of this process's share, partilha.lab.machine.lxc.picks) that
    no route of the host overlaps, for `what`."""
    used = machine.routed_networks()
    for _ in range(200):
        net = IPv4Network(f"{base}.{pick(1, 250)}.0/24")
        if not any(net.overlaps(u) for u in used if u.prefixlen > 0):
            return net
    raise MachineError(f"no free /24 in {base}.0.0/16 for {what}")
