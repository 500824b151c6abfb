"""Tenant separation: each municipality has its own VNet, VLAN tag and pool, and its guests sit
only on its own VNet and in its own pool.

PTL-POL-NET-01 runs in the platform stack (which makes the VNets) against the plan's tenants;
PTL-POL-NET-02 in each tenant stack, against the VNet and pool the plan gives that tenant: a
guest's network comes from the platform's outputs, so only the plan can say whose it should be.
"""

from collections import defaultdict
from collections.abc import Iterable

from partilha.policy.facts import Facts
from partilha.policy.rule import Finding, Resource, ResourceRule, StackRule

from .controls import ISO_ACCESS, ISO_NETWORKS, ISO_SEGREGATION, NIS2_RISK, RGPD_CIA


def _own_vnets(resources: list[Resource], facts: Facts) -> Iterable[Finding]:
    vnets = [r for r in resources if r.kind == "SdnVnet"]
    made = {str(r.props.get("vnet")) for r in vnets}
    owners: dict[str, list[str]] = defaultdict(list)
    for tenant in (*facts.inventory.municipalities, facts.inventory.shared):
        vnet = facts.vnet_of(tenant.slug)
        if vnet is None or vnet not in made:
            yield Finding(None, f"tenant {tenant.slug} has no VNet of its own in this stack", tenant.slug)
        else:
            owners[vnet].append(tenant.slug)
    for vnet, slugs in owners.items():
        if len(slugs) > 1:
            yield Finding(None, f"VNet {vnet} is shared by tenants {', '.join(slugs)}", vnet)
    tags: dict[tuple[str, int], list[Resource]] = defaultdict(list)
    for r in vnets:
        if r.props.get("tag") is not None:
            tags[(str(r.props.get("zone")), int(r.props["tag"]))].append(r)
    for (zone, tag), same in tags.items():
        same.sort(key=lambda r: str(r.props.get("vnet")))  # the engine's order is not stable
        for r in same[1:]:
            yield Finding(r, f"VNet {r.props.get('vnet')} reuses VLAN tag {tag} of VNet "
                             f"{same[0].props.get('vnet')} in zone {zone}")


def _own_network(guest: Resource, facts: Facts) -> Iterable[str]:
    planned = next((g.vnet.id for g in facts.guests if g.name == guest.name and g.vnet), None)
    vnet = planned or facts.vnet_of(facts.tenant)  # the CIM's front door: the DMZ
    if guest.props.get("bridge") != vnet:
        yield (f"guest {guest.name} of tenant {facts.tenant} is on VNet {guest.props.get('bridge')}, "
               f"not its own ({vnet})")
    if guest.props.get("pool") != facts.tenant:
        yield f"guest {guest.name} of tenant {facts.tenant} is in pool {guest.props.get('pool')}, not its own"


def _own_pool(pool: Resource, facts: Facts) -> Iterable[str]:
    if pool.props.get("poolid") != facts.tenant:
        yield f"pool {pool.props.get('poolid')} is not tenant {facts.tenant}'s own pool"


CONTROLS = (NIS2_RISK, ISO_SEGREGATION, ISO_NETWORKS, ISO_ACCESS, RGPD_CIA)

TENANCY_RULES = [
    StackRule(
        id="PTL-POL-NET-01", title="Each municipality has its own VNet and VLAN tag",
        description="Every tenant of the plan has a VNet of its own in the platform stack; no VNet "
                    "serves two tenants and no two VNets of a zone share a VLAN tag.",
        rationale="Municipalities are separate controllers of their citizens' data: a shared layer-2 "
                  "segment lets one reach another's guests. Checked in the platform stack (it makes "
                  "the VNets) against the plan's tenants.",
        remediation="Give the municipality its own VNet with an unused tag in networks.yaml "
                    "(`purpose: municipality`, `municipality: <slug>`).",
        severity="critical", enforcement="mandatory", controls=CONTROLS,
        roles=frozenset({"platform"}), check=_own_vnets),
    ResourceRule(
        id="PTL-POL-NET-02", title="A tenant's guests are only on its own VNet and in its own pool",
        description="Every guest of a tenant stack is on the VNet and in the pool the plan gives that "
                    "tenant (the CIM's front door: on the DMZ).",
        rationale="A guest on another municipality's VNet or pool breaks the separation PTL-POL-NET-01 "
                  "builds. Checked in each tenant stack against the plan (the guest's network comes "
                  "from the platform's outputs).",
        remediation="Do not override a guest's bridge or pool: the tenant stacks take them from the "
                    "plan.",
        severity="critical", enforcement="mandatory", controls=CONTROLS,
        roles=frozenset({"municipality", "shared"}), kind="Guest", check=_own_network),
    ResourceRule(
        id="PTL-POL-NET-03", title="A tenant stack makes only its own pool",
        description="The pool of a tenant stack is named after that tenant.",
        rationale="Pools scope a municipality's token (its ACLs are on /pool/<slug>): a stack making "
                  "another's pool would share it.",
        remediation="Do not override the pool's id: the tenant stacks take it from the platform.",
        severity="critical", enforcement="mandatory", controls=CONTROLS,
        roles=frozenset({"municipality", "shared"}), kind="Pool", check=_own_pool),
]
