"""A municipality stack's rules (NET-02, NET-03, FW-01, DAT-01, TAG-01, QTA-01) and waivers, each
with a compliant and a violating resource, through one real preview per case."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Preview = Callable[..., list[Any]]

TAGS = ["municipality.abrantes", "owner.abrantes", "service.portal", "data.internal"]


def guest(name: str, vmid: int, **changes: Any) -> dict[str, Any]:
    props = {"node": "pve1", "kind": "lxc", "hostname": name, "vmid": vmid, "template": "local:vztmpl/x",
             "cores": 1, "memory": 512, "disk_gib": 4, "storage": "lab-guests", "bridge": "vabt",
             "ip": f"10.101.0.{vmid % 100 + 10}/24", "gateway": "10.101.0.1", "ssh_public_keys": "k",
             "tags": TAGS, "pool": "abrantes"}
    return {"kind": "Guest", "name": name, "props": {**props, **changes}}


def firewall(name: str, vmid: int, **changes: Any) -> dict[str, Any]:
    props = {"node": "pve1", "vmid": vmid, "kind": "lxc", "enable": True, "policy_in": "DROP",
             "rules": [{"type": "group", "action": "svc-portal", "enable": 1}]}
    return {"kind": "GuestFirewall", "name": f"{name}-firewall", "props": {**props, **changes}}


CASE = [
    {"kind": "Pool", "name": "pool", "props": {"poolid": "abrantes"}},
    {"kind": "Pool", "name": "pool-other", "props": {"poolid": "constancia"}},
    guest("abrantes-portal", 10101), firewall("abrantes-portal", 10101),
    guest("abrantes-dms", 10102, bridge="vcnt"), firewall("abrantes-dms", 10102, policy_in="ACCEPT"),
    guest("abrantes-crm", 10104, tags=["municipality.abrantes", "service.crm"]),
    guest("abrantes-einvoice", 10103, cores=8, storage="elsewhere",
          tags=[*TAGS[:3], "data.personal"]),
    firewall("abrantes-einvoice", 10103, rules=[{"type": "in", "action": "ACCEPT", "dport": "3306"}]),
]


def _found(results: list[Any]) -> set[tuple[str, str]]:
    return {(r.rule, r.resource) for r in results}


def test_each_tenant_rule_flags_the_violating_resource_and_passes_the_compliant_one(preview: Preview) -> None:
    results = preview("t-abrantes", CASE)
    found = _found(r for r in results if r.blocks)
    assert found == {
        ("PTL-POL-NET-02", "abrantes-dms"), ("PTL-POL-NET-03", "pool-other"),
        ("PTL-POL-FW-01", "abrantes-dms-firewall"), ("PTL-POL-FW-01", "abrantes-crm"),
        ("PTL-POL-FW-01", "abrantes-einvoice-firewall"), ("PTL-POL-DAT-01", "abrantes-einvoice"),
        ("PTL-POL-TAG-01", "abrantes-crm"), ("PTL-POL-QTA-01", "t-abrantes")}, results
    messages = {r.rule: r.message for r in results}
    assert "on VNet vcnt, not its own (vabt)" in messages["PTL-POL-NET-02"]
    assert "cpus 11 > 8" in messages["PTL-POL-QTA-01"]


def test_a_waiver_lets_its_finding_through_and_is_reported_an_expired_one_does_not(
        preview: Preview, inventory_copy: Any) -> None:
    folder = inventory_copy(
        "waivers:\n"
        "  - { rule: PTL-POL-NET-02, resource: abrantes-dms, who: Ana Costa (DPO), why: migration,\n"
        "      until: '2999-01-31' }\n"
        "  - { rule: PTL-POL-TAG-01, resource: abrantes-crm, who: Rui Sá, why: legacy,\n"
        "      until: '2020-01-31' }\n")
    case = [c for c in CASE if c["name"] in ("pool", "abrantes-dms", "abrantes-crm")]
    results = preview("t-abrantes", case, inventory=folder)
    blocking = _found(r for r in results if r.blocks)
    assert ("PTL-POL-NET-02", "abrantes-dms") not in blocking
    assert ("PTL-POL-TAG-01", "abrantes-crm") in blocking
    waived = [r for r in results if r.rule == "PTL-POL-WAIVED"]
    assert [(r.resource, r.level) for r in waived] == [("abrantes-dms", "advisory")]
    assert "waived by Ana Costa (DPO) until 2999-01-31: migration" in waived[0].message
    expired = next(r for r in results if r.rule == "PTL-POL-TAG-01")
    assert "(waiver expired 2020-01-31)" in expired.message
