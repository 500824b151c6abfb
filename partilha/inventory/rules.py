"""Rules across fields and files: references, uniqueness, address plans, schedules, capacity.

Each rule yields (location, message); the location is a path into the inventory data, which the
loader turns into a file, a field and a line.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
from ipaddress import IPv4Address, IPv4Network

from partilha.calendar_event import CalendarEvent
from partilha.inventory import flows, frontdoor
from partilha.inventory.guests import PlacedGuest, guests, tenants
from partilha.inventory.models import Inventory
from partilha.inventory.source import Loc, dotted

Finding = tuple[Loc, str]
# Every rule gets the inventory and its guests, placed once (guests.guests) for all rules.
Rule = Callable[[Inventory, list[PlacedGuest]], Iterator[Finding]]

# What each storage type can hold, and whether it is shared across nodes by nature.
CONTENT_BY_TYPE = {
    "dir": {"images", "rootdir", "vztmpl", "backup", "iso", "snippets", "import"},
    "nfs": {"images", "rootdir", "vztmpl", "backup", "iso", "snippets", "import"},
    "lvmthin": {"images", "rootdir"},
    "zfspool": {"images", "rootdir"},
    "rbd": {"images", "rootdir"},
    "pbs": {"backup"},
}
ALWAYS_SHARED = {"nfs", "rbd", "pbs"}
NEVER_SHARED = {"lvmthin", "zfspool"}
REQUIRED_BY_TYPE = {
    "dir": ("path",), "nfs": ("server", "export"), "pbs": ("server", "datastore"),
    "lvmthin": ("vgname", "thinpool"), "zfspool": ("pool",), "rbd": ("pool",),
}
OPTIONAL_FIELDS = ("path", "server", "export", "datastore", "pool", "vgname", "thinpool")


def _duplicates(items: Iterable[tuple[str, Loc]], what: str) -> Iterator[Finding]:
    seen: dict[str, Loc] = {}
    for key, loc in items:
        if key in seen:
            yield loc, f"duplicate {what} {key!r} (first at {dotted(seen[key])})"
        else:
            seen[key] = loc


def sites_and_nodes(inv: Inventory, placed: list[PlacedGuest]) -> Iterator[Finding]:
    dc = inv.datacentre
    yield from _duplicates(((s.name, ("datacentre", "sites", i, "name"))
                            for i, s in enumerate(dc.sites)), "site")
    yield from _duplicates(((n.name, ("datacentre", "nodes", i, "name"))
                            for i, n in enumerate(dc.nodes)), "node")
    roles = Counter(s.role for s in dc.sites)
    if roles["primary"] != 1:
        yield ("datacentre", "sites"), f"needs exactly one primary site, found {roles['primary']}"
    if roles["dr"] > 1:
        yield ("datacentre", "sites"), f"at most one dr site, found {roles['dr']}"
    sites = {s.name for s in dc.sites}
    for i, node in enumerate(dc.nodes):
        if node.site not in sites:
            yield ("datacentre", "nodes", i, "site"), f"unknown site {node.site!r}"
        if len(set(node.roles)) != len(node.roles):
            yield ("datacentre", "nodes", i, "roles"), "a role is listed twice"
    for i, site in enumerate(dc.sites):
        if not any(n.site == site.name and "compute" in n.roles for n in dc.nodes):
            yield ("datacentre", "sites", i), f"site {site.name!r} has no compute node"


def storages(inv: Inventory, placed: list[PlacedGuest]) -> Iterator[Finding]:
    yield from _duplicates(((s.id, ("storage", i, "id")) for i, s in enumerate(inv.storage)),
                           "storage")
    nodes = {n.name: n.site for n in inv.datacentre.nodes}
    sites = {s.name for s in inv.datacentre.sites}
    for i, st in enumerate(inv.storage):
        loc: Loc = ("storage", i)
        if st.site not in sites:
            yield (*loc, "site"), f"unknown site {st.site!r}"
        for j, node in enumerate(st.nodes or []):
            if node not in nodes:
                yield (*loc, "nodes", j), f"unknown node {node!r}"
            elif nodes[node] != st.site:
                yield (*loc, "nodes", j), f"node {node!r} is at site {nodes[node]!r}, not {st.site!r}"
        for j, content in enumerate(st.content):
            if content not in CONTENT_BY_TYPE[st.type]:
                yield (*loc, "content", j), f"a {st.type} storage cannot hold {content!r}"
        if st.type in ALWAYS_SHARED and not st.shared:
            yield (*loc, "shared"), f"a {st.type} storage is shared by nature: set shared: true"
        if st.type in NEVER_SHARED and st.shared:
            yield (*loc, "shared"), f"a {st.type} storage is local to each node: set shared: false"
        required = REQUIRED_BY_TYPE[st.type]
        for name in required:
            if not getattr(st, name):
                yield (*loc, name), f"a {st.type} storage needs {name}"
        for name in OPTIONAL_FIELDS:
            if name not in required and getattr(st, name):
                yield (*loc, name), f"{name} does not apply to a {st.type} storage"
        if st.type == "dir" and st.path and not st.path.startswith("/"):
            yield (*loc, "path"), f"{st.path!r} is not an absolute path"


def guest_storage(inv: Inventory, placed: list[PlacedGuest]) -> Iterator[Finding]:
    by_id = {s.id: s for s in inv.storage}
    kinds = {g.spec.kind for g in placed}
    for i, site in enumerate(inv.datacentre.sites):
        loc: Loc = ("datacentre", "sites", i, "guest_storage")
        st = by_id.get(site.guest_storage)
        if st is None:
            yield loc, f"unknown storage {site.guest_storage!r}"
            continue
        if st.site != site.name:
            yield loc, f"storage {st.id!r} is at site {st.site!r}, not {site.name!r}"
        for kind, content in (("lxc", "rootdir"), ("qemu", "images")):
            if kind in kinds and content not in st.content:
                yield loc, f"storage {st.id!r} does not hold {content!r}, which {kind} guests need"


def networks(inv: Inventory, placed: list[PlacedGuest]) -> Iterator[Finding]:
    net = inv.networks
    yield from _duplicates(((z.id, ("networks", "zones", i, "id"))
                            for i, z in enumerate(net.zones)), "zone")
    yield from _duplicates(((v.id, ("networks", "vnets", i, "id"))
                            for i, v in enumerate(net.vnets)), "vnet")
    zones = {z.id: z for z in net.zones}
    for i, z in enumerate(net.zones):
        if z.type in ("vlan", "qinq") and not z.bridge:
            yield ("networks", "zones", i, "bridge"), f"a {z.type} zone needs a bridge"
    tags: dict[tuple[str, int], Loc] = {}
    for i, vnet in enumerate(net.vnets):
        loc: Loc = ("networks", "vnets", i)
        zone = zones.get(vnet.zone)
        if zone is None:
            yield (*loc, "zone"), f"unknown zone {vnet.zone!r}"
        elif zone.type in ("vlan", "qinq") and vnet.tag is None:
            yield (*loc, "tag"), f"vnet {vnet.id!r} is in {zone.type} zone {zone.id!r}: it needs a tag"
        elif zone.type == "simple" and vnet.tag is not None:
            yield (*loc, "tag"), f"zone {zone.id!r} is simple: its vnets take no tag"
        if vnet.tag is not None:
            key = (zone.bridge or zone.id if zone else vnet.zone, vnet.tag)
            if key in tags:
                yield (*loc, "tag"), (f"duplicate VLAN tag {vnet.tag} on {key[0]!r} "
                                      f"(first at {dotted(tags[key])})")
            else:
                tags[key] = (*loc, "tag")
        if vnet.gateway not in vnet.prefix:
            yield (*loc, "gateway"), f"gateway {vnet.gateway} is outside prefix {vnet.prefix}"
        elif vnet.prefix.num_addresses > 2 and vnet.gateway in (
                vnet.prefix.network_address, vnet.prefix.broadcast_address):
            yield (*loc, "gateway"), f"gateway {vnet.gateway} is the network or broadcast address"
        if (vnet.purpose == "municipality") != (vnet.municipality is not None):
            yield (*loc, "municipality"), (
                "a municipality vnet names its municipality" if vnet.purpose == "municipality"
                else f"only municipality vnets name a municipality, not a {vnet.purpose} one")
    for i, j in overlapping([v.prefix for v in net.vnets]):
        a, b = net.vnets[i], net.vnets[j]
        yield (("networks", "vnets", i, "prefix"),
               f"prefix {a.prefix} of {a.id!r} overlaps {b.prefix} of {b.id!r}")
    purposes = Counter(v.purpose for v in net.vnets)
    for purpose in ("management", "dmz"):
        if purposes[purpose] != 1:
            yield ("networks", "vnets"), f"needs exactly one {purpose} vnet, found {purposes[purpose]}"
    if inv.shared.services and purposes["shared"] != 1:
        yield ("networks", "vnets"), f"needs exactly one shared vnet, found {purposes['shared']}"


def overlapping(prefixes: list[IPv4Network]) -> Iterator[tuple[int, int]]:
    """(i, j), j < i: prefix i overlaps prefix j; each prefix named as i once at most, and some
    pair found whenever any two overlap. Sorted by first address, a prefix overlaps an earlier one
    exactly when it starts before the furthest end seen so far: n·log n, not every pair."""
    spans = sorted((int(p.network_address), -int(p.broadcast_address), i) for i, p in enumerate(prefixes))
    blamed: set[int] = set()
    furthest: tuple[int, int] | None = None  # (end, index) of the span reaching furthest so far
    for start, negative_end, i in spans:
        if furthest is not None and start <= furthest[0]:
            later, earlier = max(i, furthest[1]), min(i, furthest[1])
            if later not in blamed:
                blamed.add(later)
                yield later, earlier
        if furthest is None or -negative_end > furthest[0]:
            furthest = (-negative_end, i)


def tenant_networks(inv: Inventory, placed: list[PlacedGuest]) -> Iterator[Finding]:
    slugs = {m.slug for m in inv.municipalities}
    owned = Counter(v.municipality for v in inv.networks.vnets if v.municipality)
    for i, vnet in enumerate(inv.networks.vnets):
        if vnet.municipality and vnet.municipality not in slugs:
            yield ("networks", "vnets", i, "municipality"), f"unknown municipality {vnet.municipality!r}"
    for i, m in enumerate(inv.municipalities):
        if owned[m.slug] != 1:
            yield ("municipalities", i), f"{m.slug!r} needs exactly one vnet, found {owned[m.slug]}"
    by_vnet: dict[int, list[PlacedGuest]] = defaultdict(list)
    for guest in placed:
        by_vnet[id(guest.vnet)].append(guest)
    for i, vnet in enumerate(inv.networks.vnets):
        mine = by_vnet[id(vnet)]
        homeless = [g.name for g in mine if (address := g.address) is None or address.ip == vnet.gateway]
        if homeless:
            yield ("networks", "vnets", i, "prefix"), (
                f"{vnet.prefix} has no address for {', '.join(homeless)} (guests take host 10 + "
                "their service's catalogue number, and not the gateway)")


def backup(inv: Inventory, placed: list[PlacedGuest]) -> Iterator[Finding]:
    by_id = {s.id: s for s in inv.storage}
    sites = {s.name: s for s in inv.datacentre.sites}
    for site, storage_id in inv.backup.storages.items():
        loc: Loc = ("backup", "storages", site)
        st = by_id.get(storage_id)
        if site not in sites:
            yield loc, f"unknown site {site!r}"
        if st is None:
            yield loc, f"unknown storage {storage_id!r}"
        elif "backup" not in st.content:
            yield loc, f"storage {storage_id!r} does not hold 'backup' content"
        elif st.site != site:
            yield loc, f"storage {storage_id!r} is at site {st.site!r}, not {site!r}"
    for name in sites:
        if name not in inv.backup.storages:
            yield ("backup", "storages"), f"site {name!r} has no backup storage"
    dr = next((s.name for s in sites.values() if s.role == "dr"), None)
    for name, tier in inv.backup.tiers.items():
        loc = ("backup", "tiers", name)
        r = tier.retention
        if not (r.keep_last or r.keep_daily or r.keep_weekly or r.keep_monthly):
            yield (*loc, "retention"), "keeps nothing: set at least one keep-* above 0"
        gap = CalendarEvent.parse(tier.schedule).longest_gap()
        rpo = dt.timedelta(hours=tier.rpo_hours)
        if gap is None:
            yield (*loc, "schedule"), f"{tier.schedule!r} does not repeat, so cannot meet any RPO"
        elif gap > rpo:
            yield (*loc, "schedule"), (f"{tier.schedule!r} leaves up to {_hours(gap)} between "
                                       f"backups, more than the RPO of {tier.rpo_hours:g} h")
        if tier.offsite and (dr is None or dr not in inv.backup.storages):
            yield (*loc, "offsite"), "an offsite copy needs a dr site with a backup storage"
    yield from _drill(inv, placed)


def _drill(inv: Inventory, placed: list[PlacedGuest]) -> Iterator[Finding]:
    drill = inv.backup.drill
    if drill is None:
        return
    vnet = next((v for v in inv.networks.vnets if v.id == drill.vnet), None)
    if vnet is None or vnet.purpose != "drill":
        yield ("backup", "drill", "vnet"), f"{drill.vnet!r} is no VNet of purpose drill in networks.yaml"
    if drill.last_vmid < drill.first_vmid:
        yield ("backup", "drill", "last_vmid"), "is below first_vmid"
    taken = sorted(g.name for g in placed if g.vmid and drill.first_vmid <= g.vmid <= drill.last_vmid)
    if taken:
        yield ("backup", "drill"), f"the drill's vmids hold guests' vmids ({', '.join(taken)})"


def _hours(delta: dt.timedelta) -> str:
    return f"{delta.total_seconds() / 3600:g} h"


def catalogue(inv: Inventory, placed: list[PlacedGuest]) -> Iterator[Finding]:
    for name, service in inv.services.items():
        loc: Loc = ("services", name)
        if service.backup_tier and service.backup_tier not in inv.backup.tiers:
            yield (*loc, "backup_tier"), f"unknown tier {service.backup_tier!r}"
        if service.data_class != "public" and not service.backup_tier:
            yield (*loc, "backup_tier"), f"holds {service.data_class} data: it needs a backup tier"
        if service.exposure == "internet" and not service.ports:
            yield (*loc, "ports"), "an internet-facing service must declare its ports"
        yield from _duplicates(((str(p), (*loc, "ports", j)) for j, p in enumerate(service.ports)),
                               "port")


def tenant_services(inv: Inventory, placed: list[PlacedGuest]) -> Iterator[Finding]:
    everyone = tenants(inv)
    yield from _duplicates(((t.slug, (*loc, "slug")) for t, loc in everyone), "slug")
    yield from _duplicates(((t.name, (*loc, "name")) for t, loc in everyone), "name")
    nodes = {n.name: n for n in inv.datacentre.nodes}
    primary = next((s.name for s in inv.datacentre.sites if s.role == "primary"), None)
    for tenant, tloc in everyone:
        want = "shared" if tenant is inv.shared else "municipality"
        for name, override in tenant.services.items():
            loc: Loc = (*tloc, "services", name)
            service = inv.services.get(name)
            if service is None:
                yield loc, f"unknown service {name!r} (not in the services catalogue)"
                continue
            if service.scope != want:
                yield loc, f"service {name!r} is for {service.scope} use, not {want}"
            if override is None:
                continue
            if override.backup_tier and override.backup_tier not in inv.backup.tiers:
                yield (*loc, "backup_tier"), f"unknown tier {override.backup_tier!r}"
            node = nodes.get(override.node) if override.node else None
            if override.node and node is None:
                yield (*loc, "node"), f"unknown node {override.node!r}"
            elif node and ("compute" not in node.roles or node.site != primary):
                yield (*loc, "node"), f"node {node.name!r} is not a compute node of the primary site"


def quotas(inv: Inventory, placed: list[PlacedGuest]) -> Iterator[Finding]:
    used: dict[str, list[PlacedGuest]] = defaultdict(list)
    for guest in placed:
        used[guest.tenant].append(guest)
    for tenant, loc in tenants(inv):
        for field, unit in (("cpus", "CPUs"), ("memory_mib", "MiB"), ("disk_gib", "GiB")):
            total = sum(getattr(g, field) for g in used[tenant.slug])
            limit = getattr(tenant.quota, field)
            if total > limit:
                yield (*loc, "quota", field), (f"services of {tenant.slug!r} need {total} {unit}, "
                                               f"over the quota of {limit} {unit}")


def capacity(inv: Inventory, placed: list[PlacedGuest]) -> Iterator[Finding]:
    dc = inv.datacentre
    storage = {s.id: s for s in inv.storage}
    for i, site in enumerate(dc.sites):
        here = [g for g in placed if g.site == site.name]
        nodes = [n for n in dc.nodes if n.site == site.name and "compute" in n.roles]
        memory = sum(n.memory_gib for n in nodes) * 1024
        cpus = sum(n.cpus for n in nodes) * dc.cpu_overcommit
        loc: Loc = ("datacentre", "sites", i)
        need_mem = sum(g.memory_mib for g in here)
        need_cpu = sum(g.cpus for g in here)
        if need_mem > memory:
            yield loc, f"guests at {site.name!r} need {need_mem} MiB of memory, nodes have {memory}"
        if need_cpu > cpus:
            yield loc, (f"guests at {site.name!r} need {need_cpu} CPUs, over {cpus:g} "
                        f"(node CPUs x cpu_overcommit {dc.cpu_overcommit:g})")
        st = storage.get(site.guest_storage)
        disk = sum(g.disk_gib for g in here)
        if st is not None and disk > st.capacity_gib:
            yield (*loc, "guest_storage"), (f"guests at {site.name!r} need {disk} GiB, storage "
                                            f"{st.id!r} has {st.capacity_gib} GiB")
        if need_mem > memory:
            continue  # then some node is short too; the site's finding says it once
        by_node: Counter[str] = Counter()
        for guest in here:
            by_node[guest.node] += guest.memory_mib
        for node in nodes:
            on_node = by_node[node.name]
            if on_node > node.memory_gib * 1024:
                yield loc, (f"guests placed on node {node.name!r} need {on_node} MiB of memory, "
                            f"it has {node.memory_gib * 1024}")


def high_availability(inv: Inventory, placed: list[PlacedGuest]) -> Iterator[Finding]:
    storage = {s.id: s for s in inv.storage}
    sites = {s.name: s for s in inv.datacentre.sites}
    peers = Counter(n.site for n in inv.datacentre.nodes if "compute" in n.roles)
    for guest in placed:
        if not guest.spec.ha or guest.site not in sites:
            continue
        site = sites[guest.site]
        st = storage.get(site.guest_storage)
        if st is not None and not st.shared:
            yield guest.loc, (f"{guest.name} is HA but storage {st.id!r} of site {site.name!r} "
                              "is not shared")
        if peers[site.name] < 2:
            yield guest.loc, f"{guest.name} is HA but site {site.name!r} has one compute node"


def guest_names(inv: Inventory, placed: list[PlacedGuest]) -> Iterator[Finding]:
    for guest in placed:
        if len(guest.name) > 63:
            yield guest.loc, f"guest name {guest.name!r} is longer than 63 characters"
    yield from _duplicates(((g.name, g.loc) for g in placed), "guest name")


def guest_identity(inv: Inventory, placed: list[PlacedGuest]) -> Iterator[Finding]:
    """No two guests share a vmid or an address: distinct tenant and service numbers make it so
    (guests.py), and this names the guests when a number is given twice."""
    by_vmid: dict[int, PlacedGuest] = {}
    by_address: dict[IPv4Address, PlacedGuest] = {}
    for guest in placed:
        clashes: list[tuple[PlacedGuest, str]] = []
        owner = by_vmid.setdefault(guest.vmid, guest)
        if owner is not guest:
            clashes.append((owner, f"vmid {guest.vmid}"))
        if guest.address is not None:
            owner = by_address.setdefault(guest.address.ip, guest)
            if owner is not guest:
                clashes.append((owner, f"address {guest.address.ip}"))
        for other in {o.name: o for o, _ in clashes}.values():
            what = " and ".join(w for o, w in clashes if o is other)
            yield guest.loc, (f"{guest.name} would share {what} with {other.name} "
                              f"({dotted(other.loc)}): {_why(guest, other)}")


def _why(a: PlacedGuest, b: PlacedGuest) -> str:
    if a.tenant_number == b.tenant_number and a.tenant != b.tenant:
        return f"tenants {b.tenant!r} and {a.tenant!r} both have number {a.tenant_number}"
    if a.number == b.number and a.service != b.service:
        return f"services {b.service!r} and {a.service!r} both have number {a.number}"
    return "their VNets overlap"


RULES: tuple[Rule, ...] = (
    sites_and_nodes, storages, guest_storage, networks, tenant_networks, backup, catalogue,
    tenant_services, quotas, capacity, high_availability, guest_names, guest_identity, flows.problems,
    frontdoor.problems,
)


def service_roles(inv: Inventory, roles: Collection[str]) -> Iterator[Finding]:
    """A role exists because its deploy does: deploys/services/<role>.py (content.py)."""
    for name, service in inv.services.items():
        if service.role not in roles:
            yield (("services", name, "role"),
                   f"{service.role!r} has no deploy: deploys/services/{service.role}.py does not exist")


def check(inv: Inventory, roles: Collection[str]) -> list[Finding]:
    """Every rule's findings; `roles` are the service roles the repository has deploys for."""
    placed = guests(inv)
    return [*service_roles(inv, roles), *(finding for rule in RULES for finding in rule(inv, placed))]
