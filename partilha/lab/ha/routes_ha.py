"""/cluster/ha: groups, resources and status/current, as pve-ha-manager's API2/HA (PVE 8).

State only (partilha.lab.ha.state): no CRM or LRM runs, so nothing is fenced or recovered; a
resource's service state is its requested state. Reads need Sys.Audit on /, changes Sys.Console
on /. Errors of a change carry PVE's prefix (`create ha group failed: ...`, as `lock_ha_domain`
adds it); a stale `digest` is SectionConfig's "detected modified configuration".
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from partilha.lab import cluster, guests, ha
from partilha.lab.cluster import local_node, require_quorum
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError, assert_if_modified
from partilha.lab.server.lists import split_list
from partilha.lab.server.params import BOOL, Param
from partilha.lab.server.router import Router
from partilha.lab.server.store import Store

routes = Router()
GROUP_ID = Param(optional=False, format="pve-configid")
SID = Param(optional=False, format="pve-ha-resource-or-vm-id")
GROUP_OPTIONS = {"nodes": Param(format="pve-ha-group-node-list"), "restricted": BOOL,
                 "nofailback": BOOL, "comment": Param(max_length=4096), "type": Param(enum=("group",))}
RESOURCE_OPTIONS = {
    "state": Param(enum=("started", "stopped", "enabled", "disabled", "ignored")),
    "group": Param(format="pve-configid"),
    "max_restart": Param("integer", minimum=0, maximum=10),
    "max_relocate": Param("integer", minimum=0, maximum=10),
    "comment": Param(max_length=4096), "type": Param(enum=("ct", "vm"))}
UPDATE = {"delete": Param(format="pve-configid-list", max_length=4096),
          "digest": Param(max_length=64)}


def _audit(ctx: Ctx) -> None:
    ctx.require("/", ["Sys.Audit"])


def _console(ctx: Ctx) -> None:
    ctx.require("/", ["Sys.Console"])


def _stored(p: dict[str, Any]) -> dict[str, Any]:
    return {k: int(v) if isinstance(v, bool) else v for k, v in p.items() if k != "type"}


def _failed(what: str, change: Callable[[], None]) -> None:
    """`lock_ha_domain($code, $errmsg)`: a failure reads `<errmsg>: <reason>`."""
    try:
        change()
    except PveError as exc:
        raise PveError(f"{what}: {exc.message}") from None


def _delete(options: dict[str, Param], required: tuple[str, ...], data: dict[str, Any],
            delete: str) -> None:
    for key in split_list(delete):
        if key not in options or key == "type":
            raise PveError(f"no such option '{key}'")
        if key in required:
            raise PveError(f"unable to delete required option '{key}'")
        data.pop(key, None)


def _types_match(p: dict[str, Any], actual: str) -> None:
    if p.get("type") and p["type"] != actual:
        raise PveError("types does not match")


@dataclass(frozen=True)
class _Section:
    """One of the section configs the routes read and change: groups.cfg or resources.cfg."""

    noun: str  # PVE's word for an entry in messages: `ha group` / `resource`
    key: str  # the name of an entry's id in what a read answers
    read: Callable[[Store], dict[str, dict[str, Any]]]
    digest: Callable[[Store], str]
    put: Callable[[Store, str, dict[str, Any]], None]
    options: dict[str, Param]
    required: tuple[str, ...]


def _entry(store: Store, section: _Section, oid: str) -> dict[str, Any]:
    data = section.read(store).get(oid)
    if data is None:
        raise PveError(f"no such {section.noun} '{oid}'")
    return data


def _entry_out(ctx: Ctx, section: _Section, oid: str) -> dict[str, Any]:
    return {**_entry(ctx.store, section, oid), section.key: oid, "digest": section.digest(ctx.store)}


def _create(ctx: Ctx, section: _Section, oid: str, data: dict[str, Any]) -> None:
    def change() -> None:
        with ctx.store.tx():
            if oid in section.read(ctx.store):
                raise PveError(f"{section.noun} ID '{oid}' already defined")
            section.put(ctx.store, oid, data)

    _failed(f"create {section.noun} failed", change)


def _update(ctx: Ctx, section: _Section, oid: str, p: dict[str, Any], delete: str,
            digest: str | None) -> None:
    """The options given set, those in `delete` removed, if `digest` is still the current one."""
    def change() -> None:
        with ctx.store.tx():
            assert_if_modified(section.digest(ctx.store), digest)
            data = _entry(ctx.store, section, oid)
            data.update(_stored(p))
            _delete(section.options, section.required, data, delete)
            section.put(ctx.store, oid, data)

    _failed(f"update {section.noun} failed", change)


# ---- groups ---------------------------------------------------------------------------------

_GROUPS = _Section("ha group", "group", ha.groups, ha.groups_digest, ha.put_group, GROUP_OPTIONS,
                   ha.GROUP_REQUIRED)


@routes.route("GET", "/cluster/ha")
def ha_index(ctx: Ctx, p: dict[str, Any]) -> Any:
    return [{"id": "status"}, {"id": "resources"}, {"id": "groups"}]


@routes.route("GET", "/cluster/ha/groups")
def list_groups(ctx: Ctx, p: dict[str, Any]) -> Any:
    _audit(ctx)
    return [_entry_out(ctx, _GROUPS, group) for group in ha.groups(ctx.store)]


@routes.route("GET", "/cluster/ha/groups/{group}", {"group": GROUP_ID})
def read_group(ctx: Ctx, p: dict[str, Any]) -> Any:
    _audit(ctx)
    return _entry_out(ctx, _GROUPS, p["group"])


@routes.route("POST", "/cluster/ha/groups", {
    "group": GROUP_ID, **GROUP_OPTIONS, "nodes": Param(optional=False, format="pve-ha-group-node-list")})
def create_group(ctx: Ctx, p: dict[str, Any]) -> Any:
    _console(ctx)
    require_quorum(ctx)
    group = p.pop("group")
    _types_match(p, "group")
    _create(ctx, _GROUPS, group, _stored(p))
    return None


@routes.route("PUT", "/cluster/ha/groups/{group}", {"group": GROUP_ID, **GROUP_OPTIONS, **UPDATE})
def update_group(ctx: Ctx, p: dict[str, Any]) -> Any:
    _console(ctx)
    group, digest, delete = p.pop("group"), p.pop("digest", None), p.pop("delete", "")
    _types_match(p, "group")
    _update(ctx, _GROUPS, group, p, delete, digest)
    return None


@routes.route("DELETE", "/cluster/ha/groups/{group}", {"group": GROUP_ID})
def delete_group(ctx: Ctx, p: dict[str, Any]) -> Any:
    _console(ctx)
    group = p["group"]

    def change() -> None:
        with ctx.store.tx():
            for sid, resource in ha.resources(ctx.store).items():
                if resource.get("group") == group:
                    raise PveError(f"ha group is used by service '{sid}'")
            ha.delete_group(ctx.store, group)

    _failed("delete ha group failed", change)
    return None


# ---- resources ------------------------------------------------------------------------------

_RESOURCES = _Section("resource", "sid", ha.resources, ha.resources_digest, ha.put_resource,
                      RESOURCE_OPTIONS, ())


def parse_sid(ctx: Ctx, sid: str) -> tuple[str, str, str]:
    """`parse_sid`: (sid, type, name); a bare vmid takes the type of the guest holding it."""
    if re.fullmatch(r"\d+", sid):
        guest = guests.get(ctx.store, int(sid))
        if guest is None:
            raise PveError(f"unable do add resource - VM/CT {sid} does not exist")  # sic
        kind = "vm" if guest.type == "qemu" else "ct"
        return f"{kind}:{sid}", kind, sid
    match = re.fullmatch(r"(\S+):(\S+)", sid)
    if match is None:
        raise PveError(f"unable to parse service id '{sid}'")
    return sid, match.group(1), match.group(2)


@routes.route("GET", "/cluster/ha/resources", {"type": Param(enum=("ct", "vm"))})
def list_resources(ctx: Ctx, p: dict[str, Any]) -> Any:
    _audit(ctx)
    groups = ha.groups(ctx.store)
    out = []
    for sid in ha.resources(ctx.store):
        entry = _entry_out(ctx, _RESOURCES, sid)
        if p.get("type") and entry["type"] != p["type"]:
            continue
        if entry.get("group") and entry["group"] not in groups:
            entry["errors"] = {"group": f"group '{entry['group']}' does not exist"}
        out.append(entry)
    return out


@routes.route("GET", "/cluster/ha/resources/{sid}", {"sid": SID})
def read_resource(ctx: Ctx, p: dict[str, Any]) -> Any:
    _audit(ctx)
    return _entry_out(ctx, _RESOURCES, parse_sid(ctx, p["sid"])[0])


def _check_guest(ctx: Ctx, kind: str, name: str) -> None:
    """The type's `verify_name` and `exists` (PVEVM / PVECT)."""
    if kind not in ha.GUEST_TYPES:
        raise PveError(f"unknown section type '{kind}'")
    if not re.fullmatch(r"[1-9][0-9]+", name):
        raise PveError("invalid VMID")
    guest = guests.get(ctx.store, int(name))
    if guest is None:
        raise PveError(f"resource '{kind}:{name}' does not exist in cluster")
    if guest.type != ha.GUEST_TYPES[kind]:
        what = "a container" if kind == "ct" else "a VM"
        raise PveError(f"resource '{kind}:{name}' - guest with ID {name} is not {what}")


@routes.route("POST", "/cluster/ha/resources", {"sid": SID, **RESOURCE_OPTIONS})
def create_resource(ctx: Ctx, p: dict[str, Any]) -> Any:
    _console(ctx)
    require_quorum(ctx)
    sid, kind, name = parse_sid(ctx, p.pop("sid"))
    _types_match(p, kind)
    _check_guest(ctx, kind, name)
    _create(ctx, _RESOURCES, sid, {**_stored(p), "type": kind})
    return None


@routes.route("PUT", "/cluster/ha/resources/{sid}", {"sid": SID, **RESOURCE_OPTIONS, **UPDATE})
def update_resource(ctx: Ctx, p: dict[str, Any]) -> Any:
    _console(ctx)
    digest, delete = p.pop("digest", None), p.pop("delete", "")
    sid, kind, _ = parse_sid(ctx, p.pop("sid"))
    _types_match(p, kind)
    if p.get("group") and p["group"] not in ha.groups(ctx.store):
        raise PveError(f"HA group '{p['group']}' does not exist")
    _update(ctx, _RESOURCES, sid, p, delete, digest)
    return None


@routes.route("DELETE", "/cluster/ha/resources/{sid}", {"sid": SID})
def delete_resource(ctx: Ctx, p: dict[str, Any]) -> Any:
    _console(ctx)
    sid = parse_sid(ctx, p["sid"])[0]
    if not ha.managed(ctx.store, sid):
        raise PveError(f"resource '{sid}' is not HA managed")
    _failed("delete resource failed", lambda: ha.delete_resource(ctx.store, sid))
    return None


# ---- status ---------------------------------------------------------------------------------


@routes.route("GET", "/cluster/ha/status")
def status_index(ctx: Ctx, p: dict[str, Any]) -> Any:
    return [{"name": "current"}, {"name": "manager_status"}]


@routes.route("GET", "/cluster/ha/status/current")
def status_current(ctx: Ctx, p: dict[str, Any]) -> Any:
    """The quorum line and one line per resource (the lab has no CRM/LRM lines to report)."""
    _audit(ctx)
    node = local_node(ctx).name
    quorate = cluster.quorate(ctx.store)
    out: list[dict[str, Any]] = [{
        "id": "quorum", "type": "quorum", "node": node, "quorate": int(quorate),
        "status": "OK" if quorate else f"No quorum on node '{node}'!"}]
    now = int(time.time())
    for sid, resource in ha.resources(ctx.store).items():
        guest = guests.get(ctx.store, int(sid.partition(":")[2]))
        where = guest.node if guest else node
        state = ha.service_state(resource)
        out.append({"id": f"service:{sid}", "type": "service", "sid": sid, "node": where,
                    "state": state, "request_state": state, "crm_state": state,
                    "max_restart": int(resource.get("max_restart", 1)),
                    "max_relocate": int(resource.get("max_relocate", 1)),
                    "status": f"{sid} ({where}, {state})", "timestamp": now})
    return out
