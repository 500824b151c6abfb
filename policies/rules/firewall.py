"""Firewall: every guest's firewall is on and denies inbound by default, opened only by the
platform's security groups, and each group opens only its service's declared ports.

PTL-POL-FW-01 runs in the tenant stacks (a guest and its firewall are made together);
PTL-POL-FW-02 in the platform stack, which makes the groups, against the catalogue's ports.
"""

from collections.abc import Iterable

from partilha.policy.facts import Facts
from partilha.policy.rule import Finding, Resource, ResourceRule, StackRule
from partilha.proxmox.security_groups import SSH_GROUP, group_name

from .controls import CIS_FIREWALL, ISO_NETWORKS, NIS2_HYGIENE, RGPD_CIA

SSH_PORT = "22"


def _guest_firewalls(resources: list[Resource], facts: Facts) -> Iterable[Finding]:
    firewalls = {int(r.props["vmid"]): r for r in resources if r.kind == "GuestFirewall"}
    for guest in (r for r in resources if r.kind == "Guest"):
        firewall = firewalls.get(int(guest.props["vmid"]))
        if firewall is None:
            yield Finding(guest, f"guest {guest.name} has no firewall")
            continue
        props = firewall.props
        if not props.get("enable"):
            yield Finding(firewall, f"guest {guest.name}'s firewall is off")
        if str(props.get("policy_in")).upper() != "DROP":
            yield Finding(firewall, f"guest {guest.name}'s firewall accepts inbound by default "
                                    f"(policy_in {props.get('policy_in')})")
        direct = [r for r in props.get("rules") or [] if r.get("type") != "group"]
        if direct:
            yield Finding(firewall, f"guest {guest.name}'s firewall has {len(direct)} rule(s) of its own; "
                                    "only the platform's security groups may open it")


def _declared_ports(group: Resource, facts: Facts) -> Iterable[str]:
    name = str(group.props.get("group"))
    services = {group_name(s): s for s in facts.inventory.services}
    if name == SSH_GROUP:
        allowed, what = {SSH_PORT}, "SSH"
    elif name in services:
        allowed = {str(p) for p in facts.inventory.services[services[name]].ports}
        what = f"service {services[name]}"
    else:
        yield f"security group {name} belongs to no service of the catalogue"
        return
    for rule in group.props.get("rules") or []:
        opens = rule.get("type") == "in" and rule.get("action") == "ACCEPT"
        if opens and str(rule.get("dport")) not in allowed:
            yield (f"security group {name} opens port {rule.get('dport') or 'any'}, which {what} does "
                   f"not declare ({', '.join(sorted(allowed)) or 'none'})")


FIREWALL_RULES = [
    StackRule(
        id="PTL-POL-FW-01", title="Every guest's firewall is on and denies inbound by default",
        description="Each guest has its firewall enabled with `policy_in: DROP`, opened only through "
                    "the platform's security groups.",
        severity="high", enforcement="mandatory",
        rationale="Default-deny means a service nobody declared is unreachable, whatever listens in "
                  "the guest. Checked in each tenant stack, where guests and their firewalls are made.",
        remediation="Keep the guest's GuestFirewall (stacks/tenants/guest.py): enable, policy_in DROP, "
                    "group rules only; open ports by declaring them in the catalogue.",
        controls=(NIS2_HYGIENE, ISO_NETWORKS, CIS_FIREWALL, RGPD_CIA),
        roles=frozenset({"municipality", "shared"}), check=_guest_firewalls),
    ResourceRule(
        id="PTL-POL-FW-02", title="Security groups open only declared ports",
        description="A service's security group accepts only the ports its catalogue entry declares; "
                    "the SSH group only port 22.",
        severity="high", enforcement="mandatory",
        rationale="The catalogue is the record of what each service exposes: an auditor reads the "
                  "open ports there. Checked in the platform stack, which makes the groups.",
        remediation="Declare the port in the service's `ports` (inventories/catalogue.yaml).",
        controls=(NIS2_HYGIENE, ISO_NETWORKS, CIS_FIREWALL),
        roles=frozenset({"platform"}), kind="SecurityGroup", check=_declared_ports),
]
