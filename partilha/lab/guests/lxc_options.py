"""Container config options as PVE's API takes them, and who may change which.

`check_modify_perm` is pve-container's `check_ct_modify_config_perm` (VM.Config.CPU / Disk /
Memory / Network / Options, on /vms/<vmid> or, when creating into a pool, /pool/<pool>), with
`check_bridge_access` for every net[n]: SDN.Use on /sdn/zones/<zone>/<vnet>[/<tag>], the zone
taken from the applied SDN config (`localnetwork` for a bridge that is no VNet).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from partilha.lab import sdn
from partilha.lab.guests import lxc_config
from partilha.lab.server.context import Ctx
from partilha.lab.server.params import BOOL, Param

LXC_OPTIONS: dict[str, Param] = {
    "hostname": Param(format="dns-name", max_length=255),
    "description": Param(max_length=8192),
    "tags": Param(format="pve-tag-list"),
    "onboot": BOOL,
    "protection": BOOL,
    "cores": Param("integer", minimum=1, maximum=8192),
    "cpulimit": Param("number", minimum=0, maximum=8192),
    "cpuunits": Param("integer", minimum=0, maximum=500000),
    "memory": Param("integer", minimum=16),
    "swap": Param("integer", minimum=0),
    "net[n]": Param(format=lxc_config.parse_net),
    "rootfs": Param(format=lxc_config.parse_rootfs),
    "arch": Param(enum=("amd64", "i386", "arm64", "armhf", "riscv32", "riscv64")),
    "ostype": Param(enum=("debian", "devuan", "ubuntu", "centos", "fedora", "opensuse",
                          "archlinux", "alpine", "gentoo", "nixos", "unmanaged")),
    "nameserver": Param(),
    "searchdomain": Param(),
    "timezone": Param(),
    "startup": Param(),
    "console": BOOL,
    "tty": Param("integer", minimum=0, maximum=6),
    "cmode": Param(enum=("shell", "console", "tty")),
    "unprivileged": BOOL,
}
VM_CONFIG_PRIVS = ["VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network",
                   "VM.Config.Options"]


def option_exists(name: str) -> bool:
    return name in LXC_OPTIONS or re.fullmatch(r"net\d+", name) is not None


def stored(name: str, value: Any) -> Any:
    """A parameter's value as the config keeps it (numbers and 0/1 for integers and booleans)."""
    return lxc_config.stored(name, value, lxc_config.INTEGERS)


def _check_vm_perm(ctx: Ctx, vmid: int, pool: str | None, privs: list[str]) -> None:
    ctx.access.check_vm_perm(ctx.authid, vmid, pool, privs)


def check_bridge_access(ctx: Ctx, raw: str) -> None:
    """SDN.Use on the VNet the net[n] value names (on its VLAN when it carries a tag)."""
    check_bridge_use(ctx, lxc_config.parse_net(raw))


def check_bridge_use(ctx: Ctx, net: Mapping[str, str]) -> None:
    """`check_bridge_access` of a parsed net[n] (CT or VM: both name `bridge`, `tag`, `trunks`)."""
    if ctx.authid == "root@pam":
        return
    bridge = net.get("bridge", "")
    zone = sdn.running_zone_of(ctx.store, bridge) or "localnetwork"
    if net.get("tag"):
        ctx.require(f"/sdn/zones/{zone}/{bridge}/{net['tag']}", ["SDN.Use"])
    elif net.get("trunks"):
        for tag in net["trunks"].split(";"):
            ctx.require(f"/sdn/zones/{zone}/{bridge}/{tag}", ["SDN.Use"])
    else:
        ctx.require(f"/sdn/zones/{zone}/{bridge}", ["SDN.Use"])


def check_modify_perm(ctx: Ctx, vmid: int, pool: str | None, old: Mapping[str, Any],
                      new: Mapping[str, Any], delete: Iterable[str]) -> None:
    """check_ct_modify_config_perm for the options set (`new`) and deleted."""
    if ctx.authid == "root@pam":
        return
    for opt, deleting in [*((o, False) for o in new), *((o, True) for o in delete)]:
        if opt in ("cores", "cpuunits", "cpulimit"):
            _check_vm_perm(ctx, vmid, pool, ["VM.Config.CPU"])
        elif opt == "rootfs" or re.fullmatch(r"mp\d+", opt):
            _check_vm_perm(ctx, vmid, pool, ["VM.Config.Disk"])
            disk = None if deleting else lxc_config.new_rootfs(str(new[opt]), "local", vmid)
            if disk is not None:
                ctx.require(f"/storage/{disk[0]}", ["Datastore.AllocateSpace"])
        elif opt in ("memory", "swap"):
            _check_vm_perm(ctx, vmid, pool, ["VM.Config.Memory"])
        elif re.fullmatch(r"net\d+", opt):
            _check_vm_perm(ctx, vmid, pool, ["VM.Config.Network"])
            if old.get(opt):
                check_bridge_access(ctx, str(old[opt]))
            if not deleting and new.get(opt):
                check_bridge_access(ctx, str(new[opt]))
        elif opt in ("nameserver", "searchdomain", "hostname"):
            _check_vm_perm(ctx, vmid, pool, ["VM.Config.Network"])
        else:
            _check_vm_perm(ctx, vmid, pool, ["VM.Config.Options"])
