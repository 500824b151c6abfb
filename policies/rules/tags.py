"""Labelling: every guest carries the tags an auditor and the CIM's asset inventory read."""

from collections.abc import Iterable

from partilha.policy.facts import Facts
from partilha.policy.rule import Resource, ResourceRule

from .controls import ISO_CLASSIFICATION, ISO_INVENTORY, ISO_LABELLING, NIS2_ACCESS

DATA_CLASSES = ("public", "internal", "personal")


def _tagged(guest: Resource, facts: Facts) -> Iterable[str]:
    tags = [str(t) for t in guest.props.get("tags") or []]
    tenant = "shared" if facts.role == "shared" else f"municipality.{facts.tenant}"
    missing = [what for what, present in (
        (tenant, tenant in tags),
        ("owner.<tenant>", any(t.startswith("owner.") for t in tags)),
        ("service.<service>", any(t.startswith("service.") for t in tags)),
        ("data.<public|internal|personal>", any(t in (f"data.{c}" for c in DATA_CLASSES) for t in tags)))
        if not present]
    if missing:
        yield f"guest {guest.name} lacks the tags {', '.join(missing)}"


TAG_RULES = [
    ResourceRule(
        id="PTL-POL-TAG-01", title="Guests carry municipality, service, data class and owner tags",
        description="Every guest is tagged with its tenant (`municipality.<slug>` or `shared`), "
                    "`owner.<tenant>`, `service.<service>` and `data.<class>`.",
        severity="medium", enforcement="mandatory",
        rationale="Whose a guest is and what data it holds must be readable on the guest itself, in "
                  "PVE, by whoever handles it (an operator, a restore, an incident).",
        remediation="Keep the tags stacks/tenants/guest.py sets; a service's data class is its "
                    "catalogue `data_class`.",
        controls=(ISO_LABELLING, ISO_INVENTORY, ISO_CLASSIFICATION, NIS2_ACCESS),
        roles=frozenset({"municipality", "shared"}), kind="Guest", check=_tagged),
]
