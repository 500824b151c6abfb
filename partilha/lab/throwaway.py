"""A throwaway lab for tests, benchmarks and Molecule drills: its own state directory, a free API
port, a random prefix and a free package cache port, so several run side by side on one machine;
up on entry, reset on exit (nothing of it is left). Also what such labs need around them: free
subnets, an inventory moved onto them, and guests made through the API as the stacks make them."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import yaml
from proxmoxer import ProxmoxAPI

from partilha.inventory import Inventory
from partilha.inventory.guests import PlacedGuest
from partilha.lab import control
from partilha.lab.instance import LabInstance
from partilha.lab.machine import machine, pick, unused_port
from partilha.proxmox.template import LXC_TEMPLATE

# Above Linux's default range of ephemeral ports (32768..60999): no outgoing connection takes the
# port between the pick and the server's listen.
PORTS = (61000, 65535)


def free_port() -> int:
    """A TCP port (of this process's share, partilha.lab.machine.pick) nothing on 127.0.0.1 listens
    on now."""
    return unused_port(*PORTS, "127.0.0.1")


@contextmanager
def throwaway(state_dir: Path, inventory: Path, letter: str, *,
              node_key: Path | None = None) -> Iterator[tuple[LabInstance, dict[str, Any]]]:
    """The lab of `inventory` in `state_dir`, its prefix `<letter><4 hex digits>-`, up (with node
    hosts trusting `node_key` when given) and owned by this process; yields it and its
    administrator's credentials."""
    instance = LabInstance(state_dir, inventory, free_port(), f"{letter}{secrets.token_hex(2)}-",
                           machine.free_cache_port(), node_key=node_key, owner=os.getpid())
    try:
        yield instance, control.up(instance)
    finally:
        control.reset(instance)


def free_subnets(count: int, base: str = "10.213",
                 avoid: tuple[IPv4Network, ...] = ()) -> list[IPv4Network]:
    """`count` /24s in <base>.0.0/16 (of this process's share) that no route or address of the host
    overlaps, nor `avoid`."""
    used = list(avoid)
    out = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True,
                         check=False).stdout
    for line in out.splitlines():
        words = line.split()
        word = words[1] if len(words) > 1 and words[0] in ("local", "broadcast", "unreachable") else \
            (words[0] if words else "")
        try:
            used.append(IPv4Network(word, strict=False))
        except ValueError:  # not an IPv4 prefix: `default`, a keyword
            continue
    picked: list[IPv4Network] = []
    for _ in range(400):
        net = IPv4Network(f"{base}.{pick(1, 250)}.0/24")
        if net not in picked and not any(net.overlaps(u) for u in used if u.prefixlen > 0):
            picked.append(net)
        if len(picked) == count:
            return picked
    raise RuntimeError(f"no {count} free /24s in {base}.0.0/16")


def relocated(source: Path, target: Path, subnets: list[IPv4Network]) -> Path:
    """A copy of the inventory folder `source` in `target` whose VNets use `subnets` (gateway: the
    first host): a throwaway lab must not take the subnets a user's lab may hold."""
    shutil.copytree(source, target)
    networks = yaml.safe_load((target / "networks.yaml").read_text())
    for vnet, subnet in zip(networks["networks"]["vnets"], subnets, strict=True):
        vnet.update(prefix=str(subnet), gateway=str(subnet[1]))
    (target / "networks.yaml").write_text(yaml.safe_dump(networks, allow_unicode=True))
    return target


def wait_task(api: ProxmoxAPI, upid: str, timeout: float = 300) -> None:
    """Wait for a PVE task; an error naming it and its log unless it ended OK."""
    node = upid.split(":")[1]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = api.nodes(node).tasks(upid).status.get()
        if status["status"] == "stopped":
            if status["exitstatus"] != "OK":
                log = [line["t"] for line in api.nodes(node).tasks(upid).log.get()]
                raise RuntimeError(f"task {upid}: {status['exitstatus']}: {log[-5:]}")
            return
        time.sleep(0.2)
    raise RuntimeError(f"task {upid} still running after {timeout:.0f} s")


def make_guests(api: ProxmoxAPI, inventory: Inventory, chosen: list[PlacedGuest],
                public_key: str) -> dict[str, dict[str, Any]]:
    """The `chosen` guests of `inventory` made and started through the API as the stacks make them
    (their VNets first, root trusting `public_key`); returns them as the tenant stacks export them."""
    vnet_ids = sorted({g.vnet.id for g in chosen if g.vnet})
    api.cluster.sdn.zones.post(zone="cim", type="vlan", bridge="vmbr0", ipam="pve")
    for vnet in (v for v in inventory.networks.vnets if v.id in vnet_ids):
        api.cluster.sdn.vnets.post(vnet=vnet.id, zone="cim", tag=vnet.tag)
        api.cluster.sdn.vnets(vnet.id).subnets.post(subnet=str(vnet.prefix), type="subnet",
                                                    gateway=str(vnet.gateway))
    wait_task(api, api.cluster.sdn.put())
    outputs: dict[str, dict[str, Any]] = {}
    for g in chosen:
        assert g.vnet and g.address and g.vmid
        wait_task(api, api.nodes(g.node).lxc.post(
            vmid=g.vmid, hostname=g.name, ostemplate=LXC_TEMPLATE, memory=g.memory_mib, swap=256,
            rootfs=f"lab-guests:{g.disk_gib}", start=1,
            net0=f"name=eth0,bridge={g.vnet.id},ip={g.address},gw={g.vnet.gateway}",
            **{"ssh-public-keys": public_key}))
        outputs[g.name] = {"vmid": g.vmid, "node": g.node, "address": str(g.address.ip),
                           "vnet": g.vnet.id, "tenant": g.tenant, "service": g.service,
                           "role": g.spec.role, "kind": "lxc", "data_class": g.spec.data_class,
                           "ports": list(g.spec.ports)}
    return outputs
