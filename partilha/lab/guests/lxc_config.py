"""PVE's container config: the text pve-container writes to `/etc/pve/lxc/<vmid>.conf` (whose SHA1
is the `digest`), and the property strings the lab reads: `net[n]` (pve-lxc-network) and `rootfs`.

Ported from pve-container (PVE/LXC/Config.pm `write_pct_config`, `$netconf_desc`) and pve-common
(JSONSchema `parse_property_string`, `print_property_string`, `format_size`; Tools `encode_text`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import subprocess
import tempfile
import urllib.parse
from collections.abc import Callable, Mapping
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface
from pathlib import Path
from typing import Any

from partilha.lab.guests.shape import Shape
from partilha.lab.server import property_string
from partilha.lab.server.property_string import Check, boolean, integer, pattern

# Keys PVE never writes as `key: value` lines.
_NOT_WRITTEN = frozenset({"digest", "description", "pending", "snapshots", "snapname", "lxc"})
# Config options whose values are numbers in PVE's JSON (everything else is a string).
INTEGERS = frozenset({"cores", "cpuunits", "memory", "swap", "onboot", "protection",
                      "unprivileged", "console", "tty", "template"})
NEW_DISK = re.compile(r"(?:([^/:\s]+):)?(\d+(?:\.\d+)?)")
_MAC = re.compile(r"[a-fA-F0-9][02468aceACE](?::[a-fA-F0-9]{2}){5}")
_TRUNKS = re.compile(r"\d+(?:-\d+)?(?:;\d+(?:-\d+)?)*")
_NAME = re.compile(r"[-_.\w\d]+")


_BAD_IPV4_CONFIG = "invalid format - value does not look like a valid IPv4 network configuration\n"


def ipv4_config(value: str) -> str | None:
    if value in ("dhcp", "manual"):
        return None
    try:
        IPv4Interface(value)
    except ValueError:
        return _BAD_IPV4_CONFIG
    return None if "/" in value else _BAD_IPV4_CONFIG


def _ipv6_config(value: str) -> str | None:
    if value in ("auto", "dhcp", "manual"):
        return None
    try:
        IPv6Interface(value)
    except ValueError:
        return "invalid format - value does not look like a valid IPv6 network configuration\n"
    return None


def _address(kind: type[IPv4Address] | type[IPv6Address], noun: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        try:
            kind(value)
        except ValueError:
            return f"invalid format - value does not look like a valid {noun} address\n"
        return None
    return check


def _rate(value: str) -> str | None:
    if not re.fullmatch(r"[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?", value):
        return f"type check ('number') failed - got '{value}'"
    return "value must have a minimum value of 0" if float(value) < 0 else None


# pve-lxc-network: key -> check (None: fine, else PVE's message); `name` is required.
NET_KEYS: dict[str, Check] = {
    "name": pattern(_NAME, "value does not match the regex pattern"),
    "bridge": pattern(_NAME, "invalid format - value does not look like a valid bridge ID\n"),
    "hwaddr": pattern(_MAC, "invalid format - value does not look like a valid unicast MAC address\n"),
    "mtu": integer(64, 65535),
    "ip": ipv4_config,
    "gw": _address(IPv4Address, "IPv4"),
    "ip6": _ipv6_config,
    "gw6": _address(IPv6Address, "IPv6"),
    "firewall": boolean,
    "link_down": boolean,
    "tag": integer(1, 4094),
    "trunks": pattern(_TRUNKS, "value does not match the regex pattern"),
    "rate": _rate,
    "type": pattern(re.compile("veth"), "value '{}' does not have a value in the enumeration 'veth'"),
}


def parse_net(value: str) -> dict[str, str]:
    """A `net[n]` value as PVE parses it; ValueError carries PVE's message."""
    return property_string.parse(value, NET_KEYS, required=("name",),
                                 booleans=("firewall", "link_down"))


def print_net(net: Mapping[str, str]) -> str:
    """`print_property_string`: the required key (`name`) first, then the others sorted."""
    return property_string.to_text(net, first=("name",))


def random_hwaddr() -> str:
    """A MAC in Proxmox's OUI, as PVE 8 assigns them (`BC:24:11:xx:xx:xx`)."""
    return "BC:24:11:" + ":".join(f"{b:02X}" for b in secrets.token_bytes(3))


def parse_rootfs(value: str) -> dict[str, str]:
    """pve-ct-rootfs: `[volume=]<volume>[,size=<size>][,...]`; ValueError with PVE's message."""
    res: dict[str, str] = {}
    for part in value.split(","):
        if not part.strip():
            continue
        key, eq, val = part.partition("=")
        if not eq:
            key, val = "volume", part
        if key in res:
            raise ValueError(f"duplicate key in comma-separated list property: {key}")
        if key not in ("volume", "size", "acl", "mountoptions", "quota", "replicate", "ro", "shared"):
            raise ValueError(f"invalid key in comma-separated list property: {key}")
        res[key] = val
    if "volume" not in res:
        raise ValueError("format error\nvolume: property is missing and it is not optional\n")
    return res


def format_size(size: int) -> str:
    """PVE::JSONSchema::format_size: bytes as K/M/G/T when exact."""
    for unit in ("", "K", "M", "G"):
        if size % 1024:
            return f"{size}{unit}"
        size //= 1024
    return f"{size}T"


def parse_size(value: str) -> int:
    """PVE::JSONSchema::parse_size: `8G`, `512M`, ... in bytes (0 when unreadable)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT])?", value)
    if match is None:
        return 0
    return int(float(match.group(1)) * 1024 ** " KMGT".index(match.group(2) or " "))


def new_rootfs(value: str, default_storage: str, vmid: int) -> tuple[str, str] | None:
    """`<storage>:<GiB>` (or `<GiB>` on the default storage) as the volume a `dir` storage makes:
    (storage, `rootfs` value). None when `value` names an existing volume instead."""
    volume = parse_rootfs(value)["volume"]
    match = NEW_DISK.fullmatch(volume)
    if match is None:
        return None
    storage = match.group(1) or default_storage
    size = format_size(int(float(match.group(2)) * 1024**3))
    return storage, f"{storage}:{vmid}/vm-{vmid}-disk-0.raw,size={size}"


def normalise_tags(value: str) -> str:
    """Tags are stored `;`-separated, each once."""
    return ";".join(dict.fromkeys(t for t in re.split(r"[;,\s]+", value) if t))


def stored(name: str, value: Any, integers: frozenset[str]) -> Any:
    """An API parameter's value as a guest's config keeps it (either type: `integers` are the
    type's options that PVE's JSON has as numbers): 0/1 for booleans, tags normalised."""
    if isinstance(value, bool) or name in integers:
        return int(value)
    if name == "tags":
        return normalise_tags(str(value))
    return value


def encode_text(text: str) -> str:
    """PVE::Tools::encode_text: control characters, ':' and non-ASCII %-escaped (UTF-8)."""
    return "".join(c if 0x20 <= ord(c) <= 0x7E and c != ":" else
                   "".join(f"%{b:02X}" for b in c.encode()) for c in text)


def config_text(conf: Mapping[str, Any]) -> str:
    """The file `write_pct_config` writes: description as `#` lines, then `key: value` sorted."""
    description = str(conf.get("description") or "").split("\n")
    while description and not description[-1]:
        description.pop()  # Perl's split drops trailing empty fields
    lines = [f"#{encode_text(line)}" for line in description]
    lines += [f"{key}: {conf[key]}" for key in sorted(conf)
              if key not in _NOT_WRITTEN and conf[key] is not None]
    return "".join(f"{line}\n" for line in lines)


def digest(conf: Mapping[str, Any]) -> str:
    """SHA1 of the config text: what `GET .../config` reports and `PUT` compares."""
    return hashlib.sha1(config_text(conf).encode()).hexdigest()  # noqa: S324 - PVE's digest


def ssh_public_keys_valid(raw: str) -> bool:
    """PVE::Tools::validate_ssh_public_keys: `ssh-keygen -l` accepts every non-blank line."""
    for line in raw.split("\n"):
        if not line.strip():
            continue
        with tempfile.TemporaryDirectory(prefix="partilha-sshkey-") as tmp:
            key = Path(tmp) / "key.pub"
            key.write_text(line + "\n")
            check = subprocess.run(["ssh-keygen", "-l", "-f", str(key)], capture_output=True,
                                   timeout=30, check=False)
        if check.returncode != 0:
            return False
    return True


def lxc_shape(conf: Mapping[str, Any], vmid: int) -> Shape:
    """What the lab realises of a container's config (net0 as PVE's `net[n]`, ip on the CT)."""
    net = parse_net(str(conf["net0"])) if conf.get("net0") else {}
    ip = net.get("ip", "")
    return Shape(
        hostname=str(conf.get("hostname") or f"CT{vmid}"), bridge=net.get("bridge"),
        ip=ip if "/" in ip else None, gateway=net.get("gw"),
        vlan=bool(net.get("tag") or net.get("trunks")), hwaddr=net.get("hwaddr", "").lower(),
        cores=int(conf["cores"]) if conf.get("cores") else None,
        memory_mib=int(conf.get("memory", 512)), swap_mib=int(conf.get("swap", 512)),
        disk_bytes=parse_size(parse_rootfs(str(conf.get("rootfs", "none"))).get("size", "0")))


def base_volume(volid: str) -> str:
    """`create_base`: a template's disk `vm-<vmid>-...` becomes `base-<vmid>-...`."""
    return re.sub(r"(^|[:/])vm-(\d+-)", r"\1base-\2", volid, count=1)


def parse_config_text(text: str) -> dict[str, Any]:
    """`parse_pct_config` of the main section (snapshots and raw `lxc.*` keys left out): the
    inverse of `config_text`."""
    conf: dict[str, Any] = {}
    description: list[str] = []
    for line in text.splitlines():
        if line.startswith("["):
            break  # a snapshot section
        if line.startswith("#"):
            description.append(urllib.parse.unquote(line[1:]))
            continue
        match = re.fullmatch(r"([a-z][a-z_]*\d*):\s*(\S.*?)\s*", line)
        if match:
            key, value = match.groups()
            conf[key] = int(value) if key in INTEGERS and re.fullmatch(r"-?\d+", value) else value
    if description:
        conf["description"] = "\n".join(description)
    return conf
