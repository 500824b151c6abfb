"""What the lab realises of a guest, whatever its type: one shape for containers and VMs.

A CT's shape comes from its `hostname`, `net0` (`ip=`/`gw=` on the interface), `cores`, `memory`
and `rootfs` (partilha.lab.guests.lxc_config.lxc_shape); a VM's from `name`, `net0` with `ipconfig0`
(as cloud-init would configure it), `sockets` x `cores`, `memory` and its boot disk
(partilha.lab.guests.qemu_config.qemu_shape). Both are realised by the same container code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shape:
    hostname: str
    bridge: str | None  # None: the guest has no net0
    ip: str | None  # "<address>/<prefix length>"; None: no static IPv4 (dhcp, or none given)
    gateway: str | None
    vlan: bool  # net0 carries a VLAN tag or trunks
    hwaddr: str
    cores: int | None  # None: all of the node's CPUs, as PVE gives a guest without a limit
    memory_mib: int
    swap_mib: int
    disk_bytes: int  # the root (CT) or boot (VM) disk's size
