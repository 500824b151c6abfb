"""High availability: gold-tier services restart on another node when theirs fails.

Runs in the shared stack, which declares the HA membership of every tenant's HA guests (only the
administrator's token may), against every gold guest of the plan."""

from collections.abc import Iterable

from partilha.policy.facts import Facts
from partilha.policy.rule import Finding, Resource, StackRule

from .controls import ISO_REDUNDANCY, NIS2_CONTINUITY, RGPD_CIA

GOLD = "gold"


def _gold_ha(resources: list[Resource], facts: Facts) -> Iterable[Finding]:
    sids = {str(r.props.get("sid")) for r in resources if r.kind == "HaResource"}
    for guest in facts.guests:
        if guest.spec.backup_tier != GOLD:
            continue
        sid = f"{'vm' if guest.spec.kind == 'qemu' else 'ct'}:{guest.vmid}"
        if not guest.spec.ha:
            yield Finding(None, f"guest {guest.name} is gold-tier but not marked `ha`", guest.name)
        elif sid not in sids:
            yield Finding(None, f"guest {guest.name} is gold-tier but has no HA resource ({sid})", guest.name)


HA_RULES = [
    StackRule(
        id="PTL-POL-HA-01", title="Gold-tier services are highly available",
        description="Every guest of the `gold` backup tier is marked `ha` and is an HA resource of its "
                    "site's HA group.",
        severity="high", enforcement="advisory",
        rationale="Gold is the tier whose RTO a restore from backup cannot meet: a node failure must "
                  "restart the guest elsewhere. Checked in the shared stack, which holds every "
                  "tenant's HA resources, against the plan. Advisory until the catalogue's gold `dms` "
                  "is made HA: as mandatory it would stop every `up` of the reference inventories.",
        remediation="Set `ha: true` on the service (catalogue or services.yaml) and give its site two "
                    "compute nodes and shared guest storage.",
        controls=(NIS2_CONTINUITY, ISO_REDUNDANCY, RGPD_CIA),
        roles=frozenset({"shared"}), check=_gold_ha),
]
