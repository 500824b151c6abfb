"""VM config options as qemu-server's API takes them, and who may change which.

`check_modify_perm` is qemu-server's `check_vm_modify_config_perm` (its option classes: CPU,
memory, hardware type, general options, power, disk, network, cloud-init; anything else only
root may set), plus `check_bridge_access` for every net[n] and the drive permissions
(VM.Config.Disk, or VM.Config.CDROM for a CD-ROM) that qemu-server checks per drive.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from partilha.lab.guests import lxc_config, qemu_config
from partilha.lab.guests.lxc_options import check_bridge_use
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError
from partilha.lab.server.params import BOOL, Param

_DRIVE = Param(format=qemu_config.parse_drive)
QEMU_OPTIONS: dict[str, Param] = {
    "name": Param(format="dns-name"),
    "description": Param(max_length=8192),
    "tags": Param(format="pve-tag-list"),
    "onboot": BOOL, "protection": BOOL, "template": BOOL,
    "memory": Param(format=qemu_config.parse_memory),
    "balloon": Param("integer", minimum=0),
    "shares": Param("integer", minimum=0, maximum=50000),
    "cores": Param("integer", minimum=1),
    "sockets": Param("integer", minimum=1),
    "vcpus": Param("integer", minimum=1),
    "cpu": Param(),
    "cpulimit": Param("number", minimum=0, maximum=128),
    "cpuunits": Param("integer", minimum=1, maximum=262144),
    "numa": BOOL,
    "ostype": Param(enum=("other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8",
                          "win10", "win11", "l24", "l26", "solaris")),
    "agent": Param(format=qemu_config.parse_agent),
    "boot": Param(), "bootdisk": Param(),
    "scsihw": Param(enum=("lsi", "lsi53c810", "virtio-scsi-pci", "virtio-scsi-single",
                          "megasas", "pvscsi")),
    "net[n]": Param(format=qemu_config.parse_net),
    "ipconfig[n]": Param(format=qemu_config.parse_ipconfig),
    "scsi[n]": _DRIVE, "virtio[n]": _DRIVE, "sata[n]": _DRIVE, "ide[n]": _DRIVE,
    "efidisk0": _DRIVE, "tpmstate0": _DRIVE,
    "serial[n]": Param(), "vga": Param(), "machine": Param(),
    "bios": Param(enum=("seabios", "ovmf")),
    "kvm": BOOL, "acpi": BOOL, "tablet": BOOL, "localtime": BOOL, "hotplug": Param(),
    "startup": Param(), "hookscript": Param(), "smbios1": Param(max_length=512),
    "vmgenid": Param(),
    "ciuser": Param(), "cipassword": Param(), "cicustom": Param(), "ciupgrade": BOOL,
    "citype": Param(enum=("configdrive2", "nocloud", "opennebula")),
    "sshkeys": Param(), "nameserver": Param(), "searchdomain": Param(),
}
VM_CONFIG_PRIVS = ["VM.Config.Disk", "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Memory",
                   "VM.Config.Network", "VM.Config.HWType", "VM.Config.Options",
                   "VM.Config.Cloudinit"]
_CLASSES: tuple[tuple[frozenset[str], list[str]], ...] = (
    (frozenset({"cores", "cpu", "cpulimit", "cpuunits", "numa", "smp", "sockets", "vcpus"}),
     ["VM.Config.CPU"]),
    (frozenset({"memory", "balloon", "shares"}), ["VM.Config.Memory"]),
    (frozenset({"acpi", "hotplug", "kvm", "machine", "scsihw", "smbios1", "tablet", "vga",
                "watchdog", "audio0"}), ["VM.Config.HWType"]),
    (frozenset({"agent", "autostart", "bios", "description", "keyboard", "localtime", "name",
                "onboot", "ostype", "protection", "reboot", "startdate", "startup", "tdf",
                "template", "tags"}), ["VM.Config.Options"]),
    (frozenset({"freeze"}), ["VM.PowerMgmt"]),
    (frozenset({"boot", "bootdisk", "vmstatestorage"}), ["VM.Config.Disk"]),
)
_CLOUDINIT = frozenset({"cicustom", "cipassword", "citype", "ciupgrade", "ciuser", "nameserver",
                        "searchdomain", "sshkeys"})


def option_exists(name: str) -> bool:
    return name in QEMU_OPTIONS or re.fullmatch(r"(net|ipconfig|scsi|virtio|sata|ide|serial|unused)\d+",
                                              name) is not None


def stored(name: str, value: Any) -> Any:
    """A parameter's value as the config keeps it (numbers and 0/1 where PVE's JSON has them)."""
    return lxc_config.stored(name, value, qemu_config.INTEGERS)


def check_drive_perm(ctx: Ctx, vmid: int, pool: str | None, value: str) -> None:
    cdrom = qemu_config.is_cdrom(qemu_config.parse_drive(value))
    privs = ["VM.Config.CDROM"] if cdrom else ["VM.Config.Disk"]
    ctx.access.check_vm_perm(ctx.authid, vmid, pool, privs)


def check_modify_perm(ctx: Ctx, vmid: int, pool: str | None, old: Mapping[str, Any],
                      new: Mapping[str, Any], delete: Iterable[str]) -> None:
    """check_vm_modify_config_perm for the options set and deleted, bridges and drives too."""
    if ctx.authid == "root@pam":
        return
    for opt in [*new, *delete]:
        if qemu_config.DISK.fullmatch(opt):
            for value in (old.get(opt), new.get(opt)):
                if value:
                    check_drive_perm(ctx, vmid, pool, str(value))
            continue
        if re.fullmatch(r"(unused|serial|usb)\d+", opt):
            continue
        if re.fullmatch(r"(net|ipconfig)\d+", opt):
            ctx.access.check_vm_perm(ctx.authid, vmid, pool, ["VM.Config.Network"])
            if opt.startswith("net"):
                for value in (old.get(opt), new.get(opt)):
                    if value:
                        check_bridge_use(ctx, qemu_config.parse_net(str(value)))
            continue
        if opt in _CLOUDINIT:
            ctx.access.check_vm_perm(ctx.authid, vmid, pool,
                                     ["VM.Config.Cloudinit", "VM.Config.Network"], any_=True)
            continue
        privs = next((p for names, p in _CLASSES if opt in names), None)
        if privs is None:
            raise PveError(f"only root can set '{opt}' config")
        ctx.access.check_vm_perm(ctx.authid, vmid, pool, privs)
