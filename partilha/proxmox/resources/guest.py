"""A guest: an LXC container made from a template, or a QEMU VM cloned from a template VM, with
its CPUs, memory, disk, `net0` on a VNet, SSH keys, tags, description, start on boot and pool.

- Create: the vmid given, or `/cluster/nextid`'s; that id is not reserved, so when another
  create takes it first ("already exists") the next free one is taken. A given vmid held by a
  guest of the declared kind, name, pool and tags is that guest, made by a run killed before it
  was recorded: adopted. Then the rest of the
  config (a clone's, or nothing for a CT made with all of it), the disk grown, the guest started.
  If a step after the guest exists fails, the guest is destroyed again: a failed create leaves
  no guest that no stack knows of.
- Read: where the guest is (`/cluster/resources`: node, pool, running) and its config.
- Update in place: another node is a migration (a running CT in restart mode, a running VM
  online; the guest's disks and files go with it), then config options (PUT with the digest),
  disk growth (resize), pool membership, a guest declared started but found stopped is started.
- Replace: kind, template, storage, vmid, a smaller disk (PVE only grows disks), a CT's SSH keys
  (PVE takes them only at creation).
- Delete: stopped, then destroyed with `purge` (its firewall, backup job and HA entries too).
"""

from __future__ import annotations

import time
from typing import Any

import pulumi
from proxmoxer.core import ResourceException
from pulumi.dynamic import DiffResult, Resource

from partilha.errors import UserError
from partilha.proxmox.client import Pve, TaskFailedError
from partilha.proxmox.resources import guest_params
from partilha.proxmox.resources.base import Props, locate, put_with_digest
from partilha.proxmox.resources.normalised import NormalisedProvider

NEXTID_ATTEMPTS = 10
ARRIVAL_POLLS = 60  # seconds an HA-managed guest may take to reach its target after the task


def _words(exc: Exception) -> str:
    if isinstance(exc, ResourceException):
        return f"{exc.status_message} {exc.content} {exc.errors or ''}"
    return str(exc)


def _taken(exc: Exception) -> bool:
    """PVE's ways of saying a vmid is in use (at the call, or inside the create task)."""
    return isinstance(exc, ResourceException | TaskFailedError) and any(
        words in _words(exc) for words in ("already exists", "already taken"))


def _ours(pve: Pve, vmid: int, want: Props) -> bool:
    """Whether the guest holding `vmid` is the one this create makes: its kind, name, pool and
    tags are the declared ones. A run killed after PVE made it, before Pulumi recorded it, leaves
    such a guest; the next create adopts it (and converges it) instead of refusing the vmid."""
    entry = locate(pve, vmid)
    if entry is None or entry["type"] != want["kind"] or entry.get("pool") != want.get("pool"):
        return False
    base = _base(str(entry["node"]), want["kind"], vmid)
    seen = guest_params.observed(want["kind"], dict(pve.get(f"{base}/config")))
    return bool(seen["hostname"] == want["hostname"] and seen["tags"] == want["tags"])


def _base(node: str, kind: str, vmid: int) -> str:
    return f"/nodes/{node}/{kind}/{vmid}"


def _power(pve: Pve, base: str, action: str, tolerated: str) -> None:
    """status/start|stop, where "already running" / "not running" means it is done already."""
    try:
        pve.run("POST", f"{base}/status/{action}")
    except (ResourceException, TaskFailedError) as exc:
        if tolerated not in _words(exc):
            raise


def _converge(pve: Pve, base: str, kind: str, want: Props) -> None:
    """The guest's config made what `want` declares (only the options that differ, written with
    the digest), then its disk grown to `disk_gib`."""

    def changes(live: Props) -> dict[str, Any]:
        params = guest_params.config_params(kind, want, guest_params.changed(kind, want, live), live)
        deleted = sorted(k for k, v in params.items() if v is None)
        return {**{k: v for k, v in params.items() if v is not None},
                **({"delete": ",".join(deleted)} if deleted else {})}

    config = put_with_digest(pve, f"{base}/config", changes)
    _, size = guest_params.disk(kind, config)
    if size > want["disk_gib"]:
        raise UserError(f"guest {want['hostname']}: its disk is {size:g} GiB, more than disk_gib "
                        f"{want['disk_gib']} (the template's disk is that big; PVE cannot shrink it)")
    if size < want["disk_gib"]:
        pve.run("PUT", f"{base}/resize", disk=guest_params.disk_key(kind, config),
                size=f"{want['disk_gib']}G")


def _migrate(pve: Pve, entry: dict[str, Any], vmid: int, target: str, name: str) -> None:
    """Move the guest to `target`; a running one keeps running there. PVE hands an HA-managed
    guest's move to its HA manager (the task only asks for it), hence the wait for its arrival."""
    kind, running = str(entry["type"]), entry.get("status") == "running"
    mode = ({"restart": 1} if kind == guest_params.LXC else {"online": 1}) if running else {}
    pve.run("POST", f"{_base(str(entry['node']), kind, vmid)}/migrate", target=target, **mode)
    for _ in range(ARRIVAL_POLLS):
        now = locate(pve, vmid)
        if now is not None and now["node"] == target:
            return
        time.sleep(1)
    raise UserError(f"guest {name}: its migration to {target} ended, but vmid {vmid} is not there "
                    f"after {ARRIVAL_POLLS} s")


def _destroy(pve: Pve, base: str) -> None:
    _power(pve, base, "stop", "not running")
    pve.run("DELETE", base, purge=1, **{"destroy-unreferenced-disks": 1})


class GuestProvider(NormalisedProvider):
    replace_on = frozenset({"kind", "template", "storage", "vmid"})
    computed = frozenset({"address"})

    def normalise(self, props: Props) -> Props:
        return guest_params.normalise(props)

    def diff(self, id_: str, olds: Props, news: Props) -> DiffResult:
        if news.get("vmid") is None:  # allocated at create: it stays the guest's
            news = {**news, "vmid": olds.get("vmid")}
        result = super().diff(id_, olds, news)
        replaces = set(result.replaces or [])
        new_size, old_size = news.get("disk_gib"), olds.get("disk_gib")
        if isinstance(new_size, int | float) and isinstance(old_size, int | float) and new_size < old_size:
            replaces.add("disk_gib")  # (a size still unknown in a preview is no shrink)
        if news.get("kind") == guest_params.LXC \
                and olds.get("ssh_public_keys") != news.get("ssh_public_keys"):
            replaces.add("ssh_public_keys")
        return DiffResult(changes=result.changes, replaces=sorted(replaces),
                          delete_before_replace=bool(replaces))

    def _make(self, pve: Pve, want: Props) -> int:
        """The guest made (the create or clone task done); its vmid."""
        for _ in range(NEXTID_ATTEMPTS):
            vmid = int(want.get("vmid") or pve.get("/cluster/nextid"))
            try:
                if want["kind"] == guest_params.LXC:
                    pve.run("POST", f"/nodes/{want['node']}/lxc",
                            **guest_params.lxc_create_params(vmid, want))
                else:
                    pve.run("POST", f"/nodes/{want['node']}/qemu/{want['template']}/clone",
                            **guest_params.qemu_clone_params(vmid, want))
                return vmid
            except (ResourceException, TaskFailedError) as exc:
                if not _taken(exc):
                    raise
                if want.get("vmid") is not None:
                    if _ours(pve, vmid, want):
                        return vmid
                    raise UserError(f"guest {want['hostname']}: vmid {vmid} is taken "
                                    f"({_words(exc).strip()})") from None
        raise UserError(f"guest {want['hostname']}: every vmid /cluster/nextid offered was taken "
                        f"by another create first ({NEXTID_ATTEMPTS} attempts)")

    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        inputs = guest_params.normalise(inputs)  # numbers cross the wire as floats
        vmid = self._make(pve, inputs)
        base = _base(inputs["node"], inputs["kind"], vmid)
        try:
            _converge(pve, base, inputs["kind"], inputs)
            if inputs["start"]:
                _power(pve, base, "start", "already running")
        except Exception:
            try:
                _destroy(pve, base)
            except Exception as cleanup:  # the first failure is the one to report
                pulumi.log.warn(f"guest {inputs['hostname']}: destroying the half-made {base} "
                                f"failed: {cleanup}")
            raise
        return str(vmid), {"vmid": vmid, "address": guest_params.address(inputs["ip"])}

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        entry = locate(pve, int(id_))
        if entry is None:
            return None
        kind, node = str(entry["type"]), str(entry["node"])
        config = dict(pve.get(f"{_base(node, kind, int(id_))}/config"))
        live = {**guest_params.observed(kind, config), "kind": kind, "node": node, "vmid": int(id_),
                "pool": entry.get("pool"),  # None (no pool) is sent as no value
                "start": bool(props.get("start")) and entry.get("status") == "running"}
        return {**live, "address": guest_params.address(live["ip"])}

    def update_live(self, pve: Pve, id_: str, olds: Props, news: Props) -> Props:
        vmid, news = int(id_), guest_params.normalise(news)
        entry = locate(pve, vmid)
        if entry is None:
            raise UserError(f"guest {news['hostname']}: vmid {vmid} no longer exists "
                            "(`pulumi refresh` forgets it, the next up makes it again)")
        if entry["node"] != news["node"]:
            _migrate(pve, entry, vmid, news["node"], news["hostname"])
            entry = {**entry, "node": news["node"]}
        base = _base(str(entry["node"]), str(entry["type"]), vmid)
        _converge(pve, base, news["kind"], news)
        if entry.get("pool") != news.get("pool"):
            if entry.get("pool"):
                pve.call("PUT", f"/pools/{entry['pool']}", vms=vmid, delete=1)
            if news.get("pool"):
                pve.call("PUT", f"/pools/{news['pool']}", vms=vmid)
        if news["start"] and entry.get("status") != "running":
            _power(pve, base, "start", "already running")
        return {"vmid": vmid, "address": guest_params.address(news["ip"])}

    def delete_live(self, pve: Pve, id_: str, props: Props) -> None:
        entry = locate(pve, int(id_))
        if entry is not None:  # wherever it is now
            _destroy(pve, _base(str(entry["node"]), str(entry["type"]), int(id_)))


class Guest(Resource, module="proxmox", name="Guest"):
    """`template`: a CT's ostemplate volid (`local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst`)
    or the vmid of the template VM a VM is cloned from (with a cloud-init drive: a VM's hostname,
    address and SSH keys reach it through cloud-init). `vmid`: None takes /cluster/nextid's.
    `ip` with its prefix length (`10.101.0.11/24`); `address` is it without. `tags` must be PVE
    tags (letters, digits, `_-+.`)."""

    node: pulumi.Output[str]
    kind: pulumi.Output[str]
    hostname: pulumi.Output[str]
    vmid: pulumi.Output[int]
    template: pulumi.Output[str]
    cores: pulumi.Output[int]
    memory: pulumi.Output[int]
    swap: pulumi.Output[int]
    disk_gib: pulumi.Output[int]
    storage: pulumi.Output[str]
    bridge: pulumi.Output[str]
    ip: pulumi.Output[str]
    gateway: pulumi.Output[str]
    firewall: pulumi.Output[bool]
    ssh_public_keys: pulumi.Output[str]
    tags: pulumi.Output[list[str]]
    description: pulumi.Output[str]
    onboot: pulumi.Output[bool]
    pool: pulumi.Output[str | None]
    start: pulumi.Output[bool]
    address: pulumi.Output[str]

    def __init__(self, name: str, *, node: pulumi.Input[str], kind: pulumi.Input[str],
                 hostname: pulumi.Input[str], template: pulumi.Input[str], cores: pulumi.Input[int],
                 memory: pulumi.Input[int], disk_gib: pulumi.Input[int], storage: pulumi.Input[str],
                 bridge: pulumi.Input[str], ip: pulumi.Input[str], gateway: pulumi.Input[str],
                 ssh_public_keys: pulumi.Input[str], tags: pulumi.Input[list[str]],
                 vmid: pulumi.Input[int] | None = None, swap: pulumi.Input[int] = 0,
                 firewall: pulumi.Input[bool] = True, description: pulumi.Input[str] = "",
                 onboot: pulumi.Input[bool] = True, pool: pulumi.Input[str] | None = None,
                 start: pulumi.Input[bool] = True, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(GuestProvider(), name, {
            "node": node, "kind": kind, "hostname": hostname, "vmid": vmid, "template": template,
            "cores": cores, "memory": memory, "swap": swap, "disk_gib": disk_gib,
            "storage": storage, "bridge": bridge, "ip": ip, "gateway": gateway,
            "firewall": firewall, "ssh_public_keys": ssh_public_keys, "tags": tags,
            "description": description, "onboot": onboot, "pool": pool, "start": start,
            "address": None}, opts)
