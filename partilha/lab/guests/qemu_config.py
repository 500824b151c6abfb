"""PVE's VM config (qemu-server): the property strings the lab reads and writes.

`net[n]` (`virtio=<MAC>,bridge=<bridge>,...`), `ipconfig[n]` (`ip=<CIDR>|dhcp,gw=<IPv4>`),
disks (`scsi0: <storage>:<GiB>` becomes `<storage>:<vmid>/vm-<vmid>-disk-<n>.raw,size=<n>G`),
`memory` (`[current=]<MiB>`), `agent`, `sshkeys` (URL-encoded, as the API takes them) and the
default `boot` order, ported from qemu-server's PVE/QemuServer.pm, Drive.pm and Cloudinit.pm.

The lab has no QEMU (hardware virtualisation is not available to it): a VM is realised by the
same LXC system container as a CT. `qemu_shape` reads what that container gets from the config as
cloud-init would apply it inside a VM: hostname from `name`, the address from `ipconfig0` on
`net0`'s bridge, `sockets` x `cores` CPUs and `memory`.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from partilha.lab.guests import lxc_config
from partilha.lab.guests.shape import Shape
from partilha.lab.server import property_string
from partilha.lab.server.property_string import Check, anything, boolean, enum, integer

NIC_MODELS = ("e1000", "e1000-82540em", "e1000-82544gc", "e1000-82545em", "e1000e", "i82551",
              "i82557b", "i82559er", "ne2k_isa", "ne2k_pci", "pcnet", "rtl8139", "virtio",
              "vmxnet3")
_LXC_NET = lxc_config.NET_KEYS  # the keys both NIC formats share are checked alike
NET_KEYS: dict[str, Check] = {
    "model": enum(*NIC_MODELS),
    "macaddr": _LXC_NET["hwaddr"],
    "mtu": integer(1, 65520),
    "queues": integer(0, 64),
    **{k: _LXC_NET[k] for k in ("bridge", "firewall", "link_down", "rate", "tag", "trunks")},
}


def _ipv4_config(value: str) -> str | None:
    """pve-ipv4-config of a VM: `dhcp` or an address with its prefix length (no `manual`)."""
    return lxc_config.ipv4_config("" if value == "manual" else value)


IPCONFIG_KEYS: dict[str, Check] = {
    "ip": _ipv4_config,
    **{k: _LXC_NET[k] for k in ("gw", "ip6", "gw6")},
}
DRIVE_KEYS: dict[str, Check] = {
    "file": anything, "media": enum("cdrom", "disk"), "size": anything,
    "format": enum("raw", "cow", "qcow", "qed", "qcow2", "vmdk", "cloop"),
    "cache": enum("none", "writethrough", "writeback", "unsafe", "directsync"),
    "discard": enum("ignore", "on"), "aio": enum("native", "threads", "io_uring"),
    "ssd": boolean, "iothread": boolean, "backup": boolean, "replicate": boolean,
    "ro": boolean, "shared": boolean, "snapshot": boolean, "serial": anything,
    "efitype": enum("2m", "4m"), "pre-enrolled-keys": boolean, "version": enum("v1.2", "v2.0"),
}
DISK = re.compile(r"(ide[0-3]|sata[0-5]|scsi(?:[12]?\d|30)|virtio(?:1[0-5]|\d)|efidisk0|tpmstate0)")
_DISK_ORDER = ("ide", "sata", "scsi", "virtio")
# Config options whose values are numbers in PVE's JSON (`memory` is a property string).
INTEGERS = frozenset({"cores", "sockets", "vcpus", "balloon", "cpuunits", "onboot", "protection",
                      "template", "numa", "kvm", "acpi", "tablet", "localtime", "reboot", "shares",
                      "ciupgrade", "freeze"})


def parse_net(value: str) -> dict[str, str]:
    """pve-qm-net: `[model=]<model>` or `<model>=<MAC>`, then `key=value`s."""
    return property_string.parse(
        value, NET_KEYS, required=("model",), default_key="model",
        aliases={m: ("model", "macaddr") for m in NIC_MODELS}, booleans=("firewall", "link_down"))


def print_net(net: Mapping[str, str]) -> str:
    """`print_net`: `<model>=<MAC>` first, then the other keys sorted."""
    rest = {k: v for k, v in net.items() if k not in ("model", "macaddr")}
    head = f"{net['model']}={net['macaddr']}" if net.get("macaddr") else f"model={net['model']}"
    return ",".join([head, property_string.to_text(rest)]) if rest else head


def with_mac(value: str) -> str:
    """`parse_net` + `print_net` as create and update run them: a missing MAC is generated."""
    net = parse_net(value)
    net.setdefault("macaddr", lxc_config.random_hwaddr())
    return print_net(net)


def parse_ipconfig(value: str) -> dict[str, str]:
    """pve-qm-ipconfig: `ip=<CIDR>|dhcp`, `gw=`, `ip6=<CIDR>|auto|dhcp`, `gw6=`."""
    return property_string.parse(value, IPCONFIG_KEYS)


def parse_drive(value: str) -> dict[str, str]:
    """A disk or CD-ROM drive: `[file=]<volume>[,media=cdrom][,size=...][,...]`."""
    return property_string.parse(value, DRIVE_KEYS, required=("file",), default_key="file")


def print_drive(drive: Mapping[str, str]) -> str:
    rest = {k: v for k, v in drive.items() if k != "file"}
    return ",".join([drive["file"], property_string.to_text(rest)]) if rest else drive["file"]


def parse_memory(value: str) -> dict[str, str]:
    """pve-qm-memory (PVE 8): `[current=]<MiB>`, at least 16."""
    return property_string.parse(value, {"current": integer(16, 8 * 1024 * 1024)},
                                 required=("current",), default_key="current")


def memory_mib(conf: Mapping[str, Any]) -> int:
    return int(parse_memory(str(conf.get("memory", "512")))["current"])


def parse_agent(value: str) -> dict[str, str]:
    """pve-qga: `[enabled=]<1|0>[,fstrim_cloned_disks=<1|0>][,type=<virtio|isa>]`."""
    return property_string.parse(
        value, {"enabled": boolean, "fstrim_cloned_disks": boolean,
                "freeze-fs-on-backup": boolean, "type": enum("virtio", "isa")},
        required=("enabled",), default_key="enabled",
        booleans=("enabled", "fstrim_cloned_disks", "freeze-fs-on-backup"))


def ssh_keys(conf: Mapping[str, Any]) -> tuple[str, ...]:
    """The `sshkeys` option, URL-decoded as qemu-server does, one key per non-blank line."""
    raw = unquote(str(conf.get("sshkeys", "")))
    return tuple(line.strip() for line in raw.split("\n") if line.strip())


def is_cdrom(drive: Mapping[str, str]) -> bool:
    return drive.get("media") == "cdrom"


def _disk_rank(key: str) -> tuple[int, int]:
    match = re.fullmatch(r"([a-z]+)(\d+)", key)
    prefix, n = (match.group(1), int(match.group(2))) if match else (key, 0)
    return (_DISK_ORDER.index(prefix) if prefix in _DISK_ORDER else len(_DISK_ORDER), n)


def disks(conf: Mapping[str, Any]) -> list[str]:
    """The drive keys of a config, in qemu-server's order (ide, sata, scsi, virtio, ...)."""
    return sorted((k for k in conf if DISK.fullmatch(k)), key=_disk_rank)


def default_boot(conf: Mapping[str, Any]) -> str:
    """`get_default_bootdevices`: the first disk, every CD-ROM, then the first NIC."""
    keys = disks(conf)
    drives = {k: parse_drive(str(conf[k])) for k in keys}
    first = [k for k in keys if not is_cdrom(drives[k])][:1]
    cdroms = [k for k in keys if is_cdrom(drives[k])]
    nets = sorted((k for k in conf if re.fullmatch(r"net\d+", k)), key=lambda k: int(k[3:]))[:1]
    return "order=" + ";".join(first + cdroms + nets)


def allocate_disks(conf: dict[str, Any], vmid: int, default_storage: str | None) -> list[str]:
    """`create_disks`: `<storage>:<GiB>` and `<storage>:cloudinit` become volumes of the VM
    (in `conf`); the storages used, for the permission check. ValueError in PVE's words."""
    used: list[str] = []
    taken = 0
    for key in disks(conf):
        drive = parse_drive(str(conf[key]))
        volume = drive["file"]
        new = lxc_config.NEW_DISK.fullmatch(volume)
        cloudinit = re.fullmatch(r"([^/:\s]+):cloudinit", volume)
        if volume in ("none", "cdrom") or (is_cdrom(drive) and cloudinit is None):
            continue
        if cloudinit is not None:
            storage = cloudinit.group(1)
            drive.update(file=f"{storage}:{vmid}/vm-{vmid}-cloudinit.qcow2", media="cdrom")
        elif new is not None:
            storage = new.group(1) or default_storage or ""
            if not storage:
                raise ValueError("no storage ID specified (and no default storage)")
            drive["file"] = f"{storage}:{vmid}/vm-{vmid}-disk-{taken}.raw"
            drive["size"] = lxc_config.format_size(int(float(new.group(2)) * 1024**3))
            drive.pop("format", None)
            taken += 1
        else:
            raise ValueError(f"volume '{volume}' does not exist")
        used.append(storage)
        conf[key] = print_drive(drive)
    return used


def new_identity(conf: dict[str, Any]) -> None:
    """What create and clone give every new VM: an SMBIOS UUID, a VM generation ID, a ctime."""
    smbios = property_string.parse(str(conf["smbios1"]), {k: anything for k in (
        "uuid", "base64", "family", "manufacturer", "product", "serial", "sku", "version")}
    ) if conf.get("smbios1") else {}
    smbios["uuid"] = str(uuid.uuid4())
    conf["smbios1"] = property_string.to_text(smbios, first=("uuid",))
    conf["vmgenid"] = str(uuid.uuid4())
    conf["meta"] = f"ctime={int(time.time())}"


def boot_disk_bytes(conf: Mapping[str, Any]) -> int:
    """`bootdisk_size`: the size of the first disk in the boot order (else the first disk)."""
    order = re.search(r"order=([^,]+)", str(conf.get("boot", "")))
    candidates = (order.group(1).split(";") if order else []) + disks(conf)
    for key in candidates:
        if DISK.fullmatch(key) and conf.get(key):
            drive = parse_drive(str(conf[key]))
            if not is_cdrom(drive):
                return lxc_config.parse_size(drive.get("size", "0"))
    return 0


def qemu_shape(conf: Mapping[str, Any], vmid: int) -> Shape:
    """What the lab's container realises of a VM's config, as cloud-init would apply it."""
    net = parse_net(str(conf["net0"])) if conf.get("net0") else {}
    ipconfig = parse_ipconfig(str(conf["ipconfig0"])) if conf.get("ipconfig0") else {}
    ip = ipconfig.get("ip", "")
    return Shape(
        hostname=str(conf.get("name") or f"VM{vmid}"), bridge=net.get("bridge"),
        ip=ip if "/" in ip else None, gateway=ipconfig.get("gw"),
        vlan=bool(net.get("tag") or net.get("trunks")), hwaddr=net.get("macaddr", "").lower(),
        cores=int(conf.get("sockets", 1)) * int(conf.get("cores", 1)),
        memory_mib=memory_mib(conf), swap_mib=0, disk_bytes=boot_disk_bytes(conf))

CHECKSUM_MISMATCH = "checksum missmatch (file change by other user?)"  # sic, qemu-server's words
