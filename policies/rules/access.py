"""Access: municipalities act only through privilege-separated tokens scoped to their own pool,
VNet and storages; and no stack acts as root@pam outside the lab."""

from collections.abc import Iterable

from partilha.policy.facts import Facts
from partilha.policy.rule import Resource, ResourceRule, Rule
from partilha.proxmox.template import LXC_TEMPLATE

from .controls import ISO_ACCESS, ISO_ACCESS_RIGHTS, ISO_PRIVILEGED, NIS2_ACCESS, RGPD_CIA

REALM = "@pve"


def _privsep(token: Resource, facts: Facts) -> Iterable[str]:
    if not token.props.get("privsep"):
        yield f"API token {token.props.get('userid')}!{token.props.get('tokenid')} is not privilege-separated"


def _scoped(acl: Resource, facts: Facts) -> Iterable[str]:
    ugid = str(acl.props.get("ugid"))
    slug = ugid.split("!")[0].removesuffix(REALM)
    tenant = facts.tenant_of(slug)
    if tenant is None or not ugid.split("!")[0].endswith(REALM):
        return
    vnet = facts.vnet_of(slug)
    zone = next((v.zone for v in facts.inventory.networks.vnets if v.id == vnet), None)
    allowed = {f"/pool/{slug}", f"/sdn/zones/{zone}/{vnet}", f"/storage/{LXC_TEMPLATE.partition(':')[0]}",
               *(f"/storage/{s.guest_storage}" for s in facts.inventory.datacentre.sites)}
    path = str(acl.props.get("path"))
    if path not in allowed and not path.startswith("/vms/"):
        yield (f"{ugid} is granted {acl.props.get('roleid')} on {path}, outside its own pool, VNet "
               "and storages")


CONTROLS = (NIS2_ACCESS, ISO_ACCESS_RIGHTS, ISO_ACCESS, ISO_PRIVILEGED, RGPD_CIA)

ACCESS_RULES = [
    ResourceRule(
        id="PTL-POL-IAM-01", title="Municipality tokens are privilege-separated",
        description="Every API token the platform makes has `privsep` on, so it holds only what its own "
                    "ACL entries grant.",
        severity="critical", enforcement="mandatory",
        rationale="A token without privilege separation holds all its user's rights; a stolen "
                  "municipality token must reach no more than that municipality's pool.",
        remediation="Keep `privsep=True` on ApiToken (stacks/platform_stack/access.py).",
        roles=frozenset({"platform"}), kind="ApiToken", check=_privsep, controls=CONTROLS),
    ResourceRule(
        id="PTL-POL-IAM-02", title="Municipality grants are scoped to their own pool, VNet and storages",
        description="Every ACL entry of a municipality's user or token is on its own pool, its own "
                    "VNet, a site's guest storage, the template storage or a template VM.",
        severity="critical", enforcement="mandatory",
        rationale="Least privilege: the ACL paths are where municipalities are kept apart (the roles are "
                  "shared). Checked in the platform stack, which makes them, against the plan.",
        remediation="Grant only on the paths stacks/platform_stack/access.py derives; anything "
                    "cluster-wide stays with the administrator's stacks.",
        roles=frozenset({"platform"}), kind="Acl", check=_scoped, controls=CONTROLS),
    Rule(
        id="PTL-POL-IAM-03", title="No stack acts as root@pam outside the lab",
        description="Before any stack runs, `partilha up` refuses credentials of root@pam for an "
                    "environment that is not the local lab.",
        severity="critical", enforcement="mandatory",
        rationale="root@pam is PVE's superuser, shared by every administrator and not revocable: "
                  "changes must be made by a named, revocable administrator token. It is a property "
                  "of the credentials, not of a resource, so it is a preflight check of `up`.",
        remediation="Make an administrator user and API token (e.g. partilha@pve!admin with the "
                    "Administrator role on /) and export it as PROXMOX_VE_API_TOKEN.",
        roles=frozenset(), controls=CONTROLS),
]
