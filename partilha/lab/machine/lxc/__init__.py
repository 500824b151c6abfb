"""The LXC backend of the lab's machine (partilha.lab.machine.Machine): privileged LXC system
containers on an overlay of a debootstrap template, Linux bridges, one nftables table per
instance, tar archives and apt-cacher-ng. It knows nothing of the lab's state or routes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from ipaddress import IPv4Interface, IPv4Network, IPv6Network
from pathlib import Path

from partilha.lab.machine.lxc import (
    aptcache,
    archive,
    containers,
    host_limits,
    known_hosts,
    network,
    nftables,
    template,
)
from partilha.lab.machine.lxc.aptcache import AptCache
from partilha.lab.machine.lxc.containers import GuestSpec
from partilha.lab.machine.lxc.known_hosts import HostKey
from partilha.lab.machine.lxc.nftables import LabFirewall


class Lxc:
    """partilha.lab.machine.Machine on this host's LXC, bridges and nftables."""

    def containers(self, prefix: str) -> list[str]:
        return containers.list_guests(prefix)

    def container_exists(self, name: str) -> bool:
        return containers.exists(name)

    def create_container(self, spec: GuestSpec, template: Path, known_hosts_file: Path, *,
                         seed: Path | None = None) -> list[HostKey]:
        return containers.create(spec, template, known_hosts_file, seed=seed)

    def create_restored(self, spec: GuestSpec, template: Path, known_hosts_file: Path,
                        fill: Callable[[Path], None]) -> list[HostKey]:
        return containers.create_restored(spec, template, known_hosts_file, fill)

    def reconfigure(self, spec: GuestSpec, known_hosts_file: Path) -> None:
        containers.reconfigure(spec, known_hosts_file)

    def host_keys(self, spec: GuestSpec) -> list[HostKey]:
        return containers.guest_host_keys(spec)

    def start(self, spec: GuestSpec, *, ssh_timeout: float = 30.0) -> float:
        return containers.start(spec, ssh_timeout=ssh_timeout)

    def is_running(self, name: str) -> bool:
        return containers.is_running(name)

    def init_pid(self, name: str) -> int:
        return containers.init_pid(name)

    def stop(self, name: str) -> None:
        containers.stop(name)

    def shutdown(self, name: str, *, timeout: float = 60.0, force: bool = False) -> None:
        containers.shutdown(name, timeout=timeout, force=force)

    def freeze(self, name: str) -> None:
        containers.freeze(name)

    def unfreeze(self, name: str) -> None:
        containers.unfreeze(name)

    def rootfs_reader(self, name: str) -> tuple[list[str], Path]:
        return containers.rootfs_reader(name)

    def exec_argv(self, name: str) -> list[str]:
        return ["lxc-attach", "-n", name, "--"]

    def destroy(self, name: str, guests_root: Path, known_hosts_file: Path) -> None:
        containers.destroy(name, guests_root, known_hosts_file)

    def pin_host_keys(self, known_hosts_file: Path, address: str, keys: Iterable[HostKey], *,
                      move: bool = True) -> None:
        known_hosts.pin(known_hosts_file, address, keys, move=move)

    def template(self) -> Path:
        return template.ensure_template()

    def template_dir(self) -> Path:
        return template.template_dir()

    def bridge_name(self, prefix: str, ident: str) -> str:
        return network.bridge_name(prefix, ident)

    def ensure_zone(self, name: str, *, vlan_aware: bool = True) -> bool:
        return network.ensure_zone(name, vlan_aware=vlan_aware)

    def ensure_vnet(self, name: str, *, gateway: IPv4Interface | None, zone: str | None = None,
                    tag: int | None = None) -> bool:
        return network.ensure_vnet(name, gateway=gateway, zone=zone, tag=tag)

    def remove_vnet(self, name: str) -> None:
        network.remove_vnet(name)

    def bridges(self, prefix: str) -> list[str]:
        return network.list_bridges(prefix)

    def remove_bridges(self, prefix: str) -> list[str]:
        return network.remove_all(prefix)

    def stop_forwarding(self, bridge: str) -> None:
        network.stop_forwarding(bridge)

    def routed_networks(self) -> list[IPv4Network | IPv6Network]:
        return network.routed_networks()

    def interfaces_in(self, subnet: IPv4Network) -> set[str]:
        return network.interfaces_in(subnet)

    def ensure_namespace(self, name: str, address: IPv4Interface, gateway: IPv4Interface,
                         bridge: str | None = None) -> list[str]:
        network.ensure_namespace(name, address, gateway, bridge)
        return ["ip", "netns", "exec", name]

    def namespace_link(self, name: str) -> str:
        return network.namespace_link(name)

    def namespaces(self, prefix: str) -> list[str]:
        return network.namespaces(prefix)

    def remove_namespaces(self, prefix: str) -> list[str]:
        found = network.namespaces(prefix)
        for name in found:
            network.remove_namespace(name)
        return found

    def apply_firewall(self, firewall: LabFirewall) -> None:
        nftables.apply(firewall)

    def remove_firewall(self, table: str) -> None:
        nftables.remove(table)

    def compressor(self, compress: str, zstd_threads: int) -> tuple[list[str], str]:
        return archive.compressor(compress, zstd_threads)

    def write_archive(self, target: Path, reader: Sequence[str], root: Path, config: str,
                      firewall: str, excludes: Sequence[str], compress_cmd: Sequence[str],
                      bwlimit_kib: int = 0) -> str:
        return archive.write(target, reader, root, config, firewall, excludes, compress_cmd,
                             bwlimit_kib)

    def archive_config(self, archive_path: Path) -> str:
        return archive.read_config(archive_path)

    def extract_archive(self, archive_path: Path, upper: Path, lower: Path) -> str:
        return archive.extract(archive_path, upper, lower)

    def ensure_host_limits(self) -> dict[str, int]:
        return host_limits.ensure()

    def start_apt_cache(self, cache: AptCache) -> None:
        aptcache.start(cache)

    def stop_apt_cache(self, cache: AptCache) -> None:
        aptcache.stop(cache)

    def free_cache_port(self) -> int:
        return aptcache.free_port()
