"""A guest's inputs and PVE's config of it, both ways, for containers and VMs alike: the one place
that knows which PVE option an input is.

- `normalise`: the inputs in the form `observed` reads back from PVE (so equal means in sync).
- `observed`: the live config in that form (only what the config shows).
- `config_params`: the PVE options that set some inputs, for create and update alike.

Where the two types differ: the hostname is a CT's `hostname` and a VM's `name`; a CT's address
is on `net0`, a VM's in cloud-init's `ipconfig0`; a VM's SSH keys are cloud-init's `sshkeys`
(URL-encoded, as PVE takes and keeps them) while a CT's can only be given at creation; a CT has
swap and its disk is `rootfs`, a VM's disk is its boot disk and its CPUs are sockets x cores.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, unquote

from partilha.errors import UserError
from partilha.proxmox.resources.base import Props

LXC, QEMU = "lxc", "qemu"
NET = ("bridge", "ip", "gateway", "firewall")
# the inputs a config update (PUT .../config) can change
CONFIG = ("hostname", "cores", "memory", "swap", *NET, "ssh_public_keys", "tags", "description",
          "onboot")
_DISK = re.compile(r"(ide|sata|scsi|virtio)\d+")
_SIZE = re.compile(r"(\d+(?:\.\d+)?)([KMGT]?)")


def _keys(text: str) -> str:
    """SSH public keys one per line, without blank lines or trailing spaces."""
    return "\n".join(line.strip() for line in str(text).splitlines() if line.strip())


def normalise(props: Props) -> Props:
    """The inputs as `observed` would read them (Pulumi's numbers arrive as floats)."""
    kind = str(props["kind"])
    if kind not in (LXC, QEMU):
        raise UserError(f"guest {props.get('hostname')}: kind must be 'lxc' or 'qemu', not {kind!r}")
    if kind == QEMU and not str(props["template"]).isdigit():
        raise UserError(f"guest {props['hostname']}: a QEMU guest is cloned from a template VM: "
                        f"template must be its vmid, not {props['template']!r}")
    out = {**props, "kind": kind, "template": str(props["template"]),
           "ssh_public_keys": _keys(props["ssh_public_keys"]),
           "tags": sorted({str(t) for t in props.get("tags") or []}),
           "description": str(props.get("description") or "").rstrip("\n")}
    for key in ("cores", "memory", "swap", "disk_gib"):
        out[key] = int(props.get(key) or 0)
    for key in ("firewall", "onboot", "start"):
        out[key] = bool(props.get(key))
    if props.get("vmid") is not None:
        out["vmid"] = int(props["vmid"])
    return out


def parse(text: str) -> dict[str, str]:
    """A PVE property string (`name=eth0,bridge=vnet1`, `virtio=BC:24:..,bridge=x`); a bare
    item (a disk's volume, a NIC model without MAC) maps to ""."""
    out: dict[str, str] = {}
    for item in str(text or "").split(","):
        if item:
            key, _, value = item.partition("=")
            out[key] = value
    return out


def unparse(props: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" if v else k for k, v in props.items())


def address(ip: str) -> str:
    return ip.partition("/")[0]


def _tags(text: str) -> list[str]:
    return sorted({t for t in re.split(r"[;,\s]+", str(text or "")) if t})


def disk_key(kind: str, config: Props) -> str:
    """The disk `disk_gib` sizes: a CT's rootfs, a VM's boot disk (the first disk of the boot
    order that is not a CD-ROM, else the first such disk)."""
    if kind == LXC:
        return "rootfs"
    order = parse(str(config.get("boot", ""))).get("order", "").split(";")
    disks = [k for k in (*order, *sorted(config)) if _DISK.fullmatch(k) and config.get(k)
             and parse(str(config[k])).get("media") != "cdrom"]
    if not disks:
        raise UserError(f"VM {config.get('name')}: no disk to size (its template has none)")
    return disks[0]


def disk(kind: str, config: Props) -> tuple[str, float]:
    """(storage, size in GiB) of the guest's sized disk."""
    entry = parse(str(config.get(disk_key(kind, config), "")))
    first, value = next(iter(entry.items()), ("", ""))
    volume = value if first in ("volume", "file") else first
    match = _SIZE.fullmatch(entry.get("size", "0"))
    size = float(match[1]) * 1024 ** " KMGT".index(match[2] or " ") / 2**30 if match else 0.0
    return volume.partition(":")[0], size


def _memory(value: Any) -> int:
    """A CT's memory (a number), a VM's (`[current=]<MiB>`)."""
    text = str(value)
    return int(parse(text).get("current") or text.partition(",")[0])


def observed(kind: str, config: Props) -> Props:
    """The inputs the live config shows (a CT's SSH keys and a VM's swap it does not)."""
    net = parse(str(config.get("net0", "")))
    ipconfig = parse(str(config.get("ipconfig0" if kind == QEMU else "net0", "")))
    storage, size = disk(kind, config)
    out: Props = {
        "hostname": str(config.get("hostname" if kind == LXC else "name", "")),
        "memory": _memory(config.get("memory", 512)),
        "bridge": net.get("bridge", ""), "ip": ipconfig.get("ip", ""),
        "gateway": ipconfig.get("gw", ""), "firewall": net.get("firewall") == "1",
        "tags": _tags(str(config.get("tags", ""))),
        "description": str(config.get("description", "")).rstrip("\n"),
        "onboot": bool(int(config.get("onboot") or 0)),
        "storage": storage, "disk_gib": int(size) if size == int(size) else round(size, 3)}
    if kind == LXC:
        out.update(cores=int(config.get("cores") or 0), swap=int(config.get("swap", 512)))
    else:
        out.update(cores=int(config.get("cores") or 1) * int(config.get("sockets") or 1),
                   ssh_public_keys=_keys(unquote(str(config.get("sshkeys", "")))))
    return out


def _net(kind: str, want: Props, live: Props) -> dict[str, str]:
    """net0 (and a VM's ipconfig0) as declared, keeping what PVE set (MAC, model, type)."""
    net = parse(str(live.get("net0", ""))) or ({"name": "eth0"} if kind == LXC else {"virtio": ""})
    net.update(bridge=want["bridge"], firewall="1" if want["firewall"] else "0")
    address_keys = {"ip": want["ip"], "gw": want["gateway"]}
    if kind == LXC:
        return {"net0": unparse({**net, **address_keys})}
    return {"net0": unparse(net), "ipconfig0": unparse(address_keys)}


def config_params(kind: str, want: Props, fields: set[str], live: Props) -> dict[str, Any]:
    """The PVE options that make `fields` of the guest what `want` declares; None means
    "delete the option" (an empty description or tag list)."""
    out: dict[str, Any] = {}
    if "hostname" in fields:
        out["hostname" if kind == LXC else "name"] = want["hostname"]
    if "cores" in fields:
        out.update(cores=want["cores"], **({"sockets": 1} if kind == QEMU else {}))
    if "memory" in fields:
        out["memory"] = want["memory"]
    if "swap" in fields and kind == LXC:
        out["swap"] = want["swap"]
    if fields & set(NET):
        out.update(_net(kind, want, live))
    if "ssh_public_keys" in fields and kind == QEMU:
        out["sshkeys"] = quote(want["ssh_public_keys"] + "\n", safe="")
    if "tags" in fields:
        out["tags"] = ";".join(want["tags"]) or None
    if "description" in fields:
        out["description"] = want["description"] or None
    if "onboot" in fields:
        out["onboot"] = int(want["onboot"])
    return out


def changed(kind: str, want: Props, live: Props) -> set[str]:
    """The config inputs the live config has otherwise than declared."""
    seen = observed(kind, live)
    return {f for f in CONFIG if f in seen and seen[f] != want[f]}


def lxc_create_params(vmid: int, want: Props) -> dict[str, Any]:
    """POST /nodes/{node}/lxc: the container with everything declared, unprivileged."""
    params = {k: v for k, v in config_params(LXC, want, set(CONFIG), {}).items() if v is not None}
    return {"vmid": vmid, "ostemplate": want["template"],
            "rootfs": f"{want['storage']}:{want['disk_gib']}", "unprivileged": 1,
            "ssh-public-keys": want["ssh_public_keys"] + "\n",
            **({"pool": want["pool"]} if want.get("pool") else {}), **params}


def qemu_clone_params(vmid: int, want: Props) -> dict[str, Any]:
    """POST /nodes/{node}/qemu/{template}/clone: a full clone on the declared storage (the
    rest of the config follows as an update)."""
    return {"newid": vmid, "name": want["hostname"], "full": 1, "storage": want["storage"],
            **({"pool": want["pool"]} if want.get("pool") else {})}
