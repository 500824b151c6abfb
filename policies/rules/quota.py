"""Capacity: a municipality's guests fit the quota the CIM agreed with it."""

from collections.abc import Iterable

from partilha.policy.facts import Facts
from partilha.policy.rule import Finding, Resource, StackRule

from .controls import ISO_CAPACITY, NIS2_RISK, RGPD_CIA


def _within(resources: list[Resource], facts: Facts) -> Iterable[Finding]:
    tenant = facts.tenant_of(facts.tenant)
    if tenant is None:
        return
    guests = [r for r in resources if r.kind == "Guest"]
    used = {"cpus": sum(int(g.props.get("cores") or 0) for g in guests),
            "memory_mib": sum(int(g.props.get("memory") or 0) for g in guests),
            "disk_gib": sum(int(g.props.get("disk_gib") or 0) for g in guests)}
    quota = tenant.quota.model_dump()
    over = [f"{what} {n} > {quota[what]}" for what, n in used.items() if n > quota[what]]
    if over:
        yield Finding(None, f"tenant {tenant.slug} is over its quota: {', '.join(over)}", tenant.slug)


QUOTA_RULES = [
    StackRule(
        id="PTL-POL-QTA-01", title="A municipality fits its quota",
        description="The guests of a municipality's stack use at most its quota of CPUs, memory and disk.",
        severity="medium", enforcement="mandatory",
        rationale="The cluster is shared: one municipality over its share takes capacity the others' "
                  "services and failover rely on.",
        remediation="Raise the quota in municipalities.yaml (an agreement with the CIM) or size the "
                    "services down.",
        controls=(ISO_CAPACITY, NIS2_RISK, RGPD_CIA),
        roles=frozenset({"municipality"}), check=_within),
]
