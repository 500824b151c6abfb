"""Restoring a container from a vzdump archive: pve-container's restore (LXC/Create.pm
`recover_config`, `sanitize_and_merge_config`, `restore_tar_archive`) on the lab's containers.

The archive's files become the new guest's whole root filesystem, byte for byte (owners, modes,
xattrs, hard links), including its SSH host keys, which the lab pins for the guest's address; like
every lab guest it is an overlay on the template, so only what differs from the template is
written. The archive's `.fw` file becomes the guest's firewall config, as PVE copies `pct.fw`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from partilha.lab import firewall
from partilha.lab.firewall import firewall_file
from partilha.lab.guests import GuestRow, guest_apply, lxc_config
from partilha.lab.instance import LabInstance
from partilha.lab.machine import ARCHIVE_CONFIG, ARCHIVE_FIREWALL, MachineError, machine
from partilha.lab.sdn import sdn_apply
from partilha.lab.server.store import Store

Log = Callable[[str], None]
# What a restore never takes from the archive's config (`sanitize_and_merge_config`).
_NOT_RESTORED = re.compile(r"digest|rootfs|snapshots|unprivileged|parent|template|mp\d+|unused\d+")


def recovered_config(volid: str, path: Path) -> dict[str, Any]:
    """The guest config the archive carries (`recover_config`)."""
    if not path.is_file():
        raise MachineError(f"can't find file '{volid}'")
    return lxc_config.parse_config_text(machine.archive_config(path))


def merged_config(given: Mapping[str, Any], old: Mapping[str, Any], unique: bool) -> dict[str, Any]:
    """The call's options, completed by the archive's; `unique` gives each NIC a new MAC."""
    conf = dict(given)
    for key, value in old.items():
        if _NOT_RESTORED.fullmatch(key) or key in conf:
            continue
        if unique and re.fullmatch(r"net\d+", key):
            net = lxc_config.parse_net(str(value))
            net["hwaddr"] = lxc_config.random_hwaddr()
            value = lxc_config.print_net(net)
        conf[key] = value
    return conf


def restored_rootfs(old: Mapping[str, Any], storage: str, vmid: int) -> tuple[str, str]:
    """(storage, rootfs) for the restored disk: the archive's size on the target storage."""
    size = lxc_config.parse_rootfs(str(old.get("rootfs", "none"))).get("size")
    gib = lxc_config.parse_size(size or "") / 1024**3
    if not gib:
        raise MachineError("unable to detect disk size - please specify rootfs (size)")
    rootfs = lxc_config.new_rootfs(f"{storage}:{gib:g}", storage, vmid)
    if rootfs is None:
        raise MachineError(f"invalid storage ID '{storage}'")
    return rootfs


def restore(store: Store, instance: LabInstance, guest: GuestRow, path: Path, log: Log) -> str:
    """The container of `guest` (its merged config) with the archive as its root filesystem;
    the `.fw` file the archive carries ("" if none)."""
    spec = guest_apply.spec_for(store, instance, guest)
    template = machine.template()
    firewall = ""

    def fill(root: Path) -> None:
        nonlocal firewall
        log(f"extracting archive '{path}' (onto the template: what differs from it is written)")
        totals = machine.extract_archive(path, root, template)
        if totals:
            log(totals)
        if (root / ARCHIVE_FIREWALL).is_file():
            firewall = (root / ARCHIVE_FIREWALL).read_text()
        for member in (ARCHIVE_CONFIG, ARCHIVE_FIREWALL):
            (root / member).unlink(missing_ok=True)  # as PVE removes them after reading

    for key in machine.create_restored(spec, template, instance.known_hosts, fill):
        log(f"SSH host key {key.type} pinned for {spec.ip.ip if spec.ip else 'no address'}")
    return firewall


def restore_firewall(store: Store, instance: LabInstance, vmid: int, text: str, log: Log) -> None:
    """The archive's `.fw` file as the guest's firewall config, applied (PVE copies `pct.fw` to
    `<vmid>.fw`); none leaves the guest's config as it is, one pve-firewall could not read is
    said and left out."""
    if not text.strip():
        return
    try:
        conf = firewall_file.parse(text, firewall.book(store))
    except ValueError as exc:
        log(f"WARN: the archive's firewall config is left out: {exc}")
        return
    with sdn_apply.firewall_change(store, instance):
        firewall.save_guest(store, vmid, conf)
    log(f"firewall config restored: {len(conf.rules)} rules")
