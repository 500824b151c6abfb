"""Data residency: guests holding personal data keep their disks only on storage at one of the
CIM's own sites (RGPD: the controller knows and controls where personal data is)."""

from collections.abc import Iterable

from partilha.policy.facts import Facts
from partilha.policy.rule import Resource, ResourceRule

from .controls import ISO_PII, NIS2_RISK, RGPD_CIA


def _own_site(guest: Resource, facts: Facts) -> Iterable[str]:
    if "data.personal" not in (guest.props.get("tags") or []):
        return
    storage = str(guest.props.get("storage"))
    site = facts.site_of_storage(storage)
    sites = {s.name for s in facts.inventory.datacentre.sites}
    if site not in sites:
        yield (f"guest {guest.name} holds personal data on storage {storage}, which is at no site of "
               f"the CIM ({', '.join(sorted(sites))})")


RESIDENCY_RULES = [
    ResourceRule(
        id="PTL-POL-DAT-01", title="Personal data stays at the CIM's own sites",
        description="A guest tagged `data.personal` has its disk on a storage the inventory places at "
                    "one of the data centre's sites.",
        severity="critical", enforcement="mandatory",
        rationale="Municipalities remain controllers of their citizens' data and must know where it "
                  "is; a storage outside the CIM's sites (a provider's NFS) is a transfer they did not "
                  "decide.",
        remediation="Put the site's `guest_storage` (datacentre.yaml) on a storage of that site "
                    "(storage.yaml `site`).",
        controls=(RGPD_CIA, ISO_PII, NIS2_RISK),
        roles=frozenset({"municipality", "shared"}), kind="Guest", check=_own_site),
]
