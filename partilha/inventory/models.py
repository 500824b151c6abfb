"""The shape of a data centre: pydantic models checking each field on its own.

Rules that relate fields to each other (references, overlaps, quotas) live in rules.py.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from partilha.calendar_event import CalendarEvent, CalendarEventError
from partilha.inventory.waivers import Waiver


def _matches(pattern: str, what: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid {what}")
        return value

    return AfterValidator(check)


def _calendar(value: str) -> str:
    try:
        CalendarEvent.parse(value)
    except CalendarEventError as exc:
        raise ValueError(str(exc)) from None
    return value


# A slug is part of host names (`<tenant>-<service>`, 63 characters a label) and PVE ids; a tenant's
# also names its PVE user `<slug>@pve`, which PVE caps at 64 characters: the tightest limit on it.
TENANT_SLUG_MAX = 64 - len("@pve")


def _user_slug(value: str) -> str:
    if len(value) > TENANT_SLUG_MAX:
        raise ValueError(f"{len(value)} characters, over {TENANT_SLUG_MAX}: the slug names the PVE user "
                         "<slug>@pve, which PVE caps at 64 characters")
    return value


_SLUG = _matches(r"[a-z0-9]+(-[a-z0-9]+)*", "slug (lowercase ASCII letters, digits and single hyphens)")
Slug = Annotated[str, Field(max_length=63), _SLUG]
TenantSlug = Annotated[str, AfterValidator(_user_slug), _SLUG]
Hostname = Annotated[str, Field(max_length=63), _matches(
    r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", "host name (lowercase letters, digits, hyphens)")]
# PVE's own formats: SDN ids are at most 8 lowercase alphanumerics; storage ids pve-storage-id.
SdnId = Annotated[str, _matches(r"[a-z][a-z0-9]{0,7}", "SDN id (a letter then up to 7 lowercase "
                                                        "letters or digits, as PVE requires)")]
StorageId = Annotated[str, _matches(r"[a-z][a-z0-9\-_.]*[a-z0-9]", "storage id")]
Name = Annotated[str, Field(min_length=1, max_length=120)]
Count = Annotated[int, Field(gt=0, le=1_000_000)]
Hours = Annotated[float, Field(gt=0, le=24 * 366)]
Port = Annotated[int, Field(ge=1, le=65535)]
Keep = Annotated[int, Field(ge=0, le=10_000)]
Schedule = Annotated[str, AfterValidator(_calendar)]
# Guest identity (guests.py): vmid = tenant number x 100 + service number, so both are declared
# once and never derived from an order or a network.
ServiceNumber = Annotated[int, Field(ge=1, le=999)]
TenantNumber = Annotated[int, Field(ge=1, le=9999)]

NodeRole = Literal["compute", "storage", "backup", "quorum"]
StorageType = Literal["dir", "lvmthin", "zfspool", "rbd", "nfs", "pbs"]
Content = Literal["images", "rootdir", "vztmpl", "backup", "iso", "snippets", "import"]
ZoneType = Literal["simple", "vlan", "qinq", "vxlan", "evpn"]
VNetPurpose = Literal["management", "dmz", "shared", "municipality", "drill"]
DataClass = Literal["public", "internal", "personal"]
Exposure = Literal["internet", "internal"]
GuestKind = Literal["lxc", "qemu"]
ServiceScope = Literal["municipality", "shared"]
ServiceNetwork = Literal["tenant", "dmz"]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Site(Model):
    name: Slug
    role: Literal["primary", "dr"]
    display_name: Name | None = None
    guest_storage: StorageId = Field(description="storage holding the guests' disks at this site")


class Node(Model):
    name: Hostname
    site: Slug
    cpus: Count
    memory_gib: Count
    roles: list[NodeRole] = Field(default=["compute"], min_length=1)


class Datacentre(Model):
    name: Slug
    display_name: Name
    cpu_overcommit: float = Field(default=4.0, ge=1.0, le=32.0)
    sites: list[Site] = Field(min_length=1)
    nodes: list[Node] = Field(min_length=1)


class Storage(Model):
    id: StorageId
    type: StorageType
    site: Slug
    shared: bool = False
    content: list[Content] = Field(min_length=1)
    capacity_gib: Count
    nodes: list[Hostname] | None = None
    path: str | None = None
    server: str | None = None
    export: str | None = None
    datastore: str | None = None
    pool: str | None = None
    vgname: str | None = None
    thinpool: str | None = None


class Zone(Model):
    id: SdnId
    type: ZoneType
    bridge: str | None = None


class VNet(Model):
    id: SdnId
    zone: SdnId
    purpose: VNetPurpose
    municipality: Annotated[str, _SLUG] | None = None  # a tenant's slug: its length is checked there
    alias: Name | None = None
    tag: int | None = Field(default=None, ge=1, le=4094)
    prefix: IPv4Network
    gateway: IPv4Address


class Networks(Model):
    zones: list[Zone] = Field(min_length=1)
    vnets: list[VNet] = Field(min_length=1)


class Retention(Model):
    keep_last: Keep = 0
    keep_daily: Keep = 0
    keep_weekly: Keep = 0
    keep_monthly: Keep = 0


class Tier(Model):
    rpo_hours: Hours
    rto_hours: Hours
    schedule: Schedule
    retention: Retention
    offsite: bool = False


class Drill(Model):
    """Where `dr run verify-backups` restores its throwaway copies: a VNet of purpose drill (no
    flow reaches it or leaves it) and a vmid range no guest of the inventory uses."""

    vnet: SdnId
    first_vmid: int = Field(ge=100, le=999_999_999)
    last_vmid: int = Field(ge=100, le=999_999_999)


class Backup(Model):
    storages: dict[Slug, StorageId] = Field(min_length=1, description="backup storage per site")
    tiers: dict[Slug, Tier] = Field(min_length=1)
    drill: Drill | None = None


class Service(Model):
    role: Slug = Field(description="the deploy deploys/services/<role>.py (a rule checks it exists)")
    number: ServiceNumber = Field(description="the service's part of its guests' vmid and address")
    description: Name
    scope: ServiceScope = "municipality"
    network: ServiceNetwork = Field(default="tenant", description="where its guests sit: the "
                                    "tenant's VNet, or the DMZ (the front door)")
    kind: GuestKind = "lxc"
    cpus: Count
    memory_mib: Annotated[int, Field(ge=64, le=4_194_304)]
    disk_gib: Count
    data_class: DataClass
    exposure: Exposure
    ports: list[Port] = Field(default_factory=list)
    backup_tier: Slug | None = None
    ha: bool = False


class ServiceOverride(Model):
    """What a municipality may change of a catalogue service."""

    cpus: Count | None = None
    memory_mib: Annotated[int, Field(ge=64, le=4_194_304)] | None = None
    disk_gib: Count | None = None
    backup_tier: Slug | None = None
    ha: bool | None = None
    node: Hostname | None = None


class Quota(Model):
    cpus: Count
    memory_mib: Count
    disk_gib: Count


class Tenant(Model):
    """A municipality, or the CIM itself for the services it runs for all of them."""

    slug: TenantSlug
    name: Name
    number: TenantNumber = Field(description="the tenant's part of its guests' vmids")
    quota: Quota
    services: dict[Slug, ServiceOverride | None] = Field(default_factory=dict)


class Flow(Model):
    """Who may reach what across VNets: the guests of tenant `from` may open `ports` (default:
    all the service's declared ports) on the guest of `service` run by tenant `to`."""

    source: Annotated[str, _SLUG] = Field(alias="from", description="a tenant's slug")
    to: Annotated[str, _SLUG] = Field(description="the slug of the tenant running the service")
    service: Slug
    ports: list[Port] | None = Field(default=None, min_length=1)


DomainName = Annotated[str, Field(max_length=200), _matches(
    r"([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]([a-z0-9-]*[a-z0-9])?",
    "domain name (lowercase labels joined by dots)")]


class FrontDoor(Model):
    """The citizens' way in: the front door's virtual hosts are named under `domain`."""

    domain: DomainName


class Inventory(Model):
    """A whole data centre, as loaded from the YAML files of one inventory folder."""

    datacentre: Datacentre
    storage: list[Storage] = Field(min_length=1)
    networks: Networks
    backup: Backup
    services: dict[Slug, Service] = Field(min_length=1)
    municipalities: list[Tenant] = Field(min_length=1)
    shared: Tenant
    waivers: list[Waiver] = Field(default_factory=list)  # exceptions to policy rules
    flows: list[Flow] | None = Field(
        default=None, description="omitted: every municipality reaches every shared service")
    frontdoor: FrontDoor | None = None
