"""The platform stack's rules (BKP-01..03, NET-01, FW-02, IAM-01, IAM-02) and the shared stack's
(HA-01), each with compliant and violating resources, through one real preview per stack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from partilha.automation.project import CHECKOUT
from partilha.inventory import guests, load_inventory

Preview = Callable[..., list[Any]]
PLAN = guests(load_inventory(CHECKOUT / "inventories" / "lab"))
RETENTION = {"gold": {"keep-last": 6, "keep-daily": 7, "keep-weekly": 4, "keep-monthly": 6},
             "silver": {"keep-daily": 7, "keep-weekly": 4, "keep-monthly": 3},
             "bronze": {"keep-weekly": 4, "keep-monthly": 2}}
SCHEDULE = {"gold": "*/4:00", "silver": "21:00", "bronze": "sun 01:30"}


def r(type_: str, name: str, **props: Any) -> dict[str, Any]:
    return {"kind": type_, "name": name, "props": props}


def job(tier: str, storage: str, *, drop: str = "", **changes: Any) -> dict[str, Any]:
    vmids = [g.vmid for g in PLAN if g.spec.backup_tier == tier and g.name != drop]
    props = {"id": f"j-{tier}-{storage}"[:20], "schedule": SCHEDULE[tier], "storage": storage, "vmids": vmids,
             "prune_backups": RETENTION[tier], **changes}
    return r("BackupJob", f"j-{tier}-{storage}", **props)


PLATFORM = [
    job("gold", "lab-backup", drop="abrantes-dms"),
    job("gold", "lab-backup-dr", prune_backups={"keep-last": 1}),
    job("silver", "lab-backup", schedule="sun 21:00"), job("bronze", "lab-backup"),
    *(r("SdnVnet", f"vnet-{v}", vnet=v, zone="cim", tag=t) for v, t in (
        ("shared", 30), ("vabt", 101), ("vcnt", 103), ("vfzz", 105), ("vdup", 101))),
    r("SecurityGroup", "group-portal", group="svc-portal", rules=[
        {"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "443"}]),
    r("SecurityGroup", "group-crm", group="svc-crm", rules=[
        {"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "3306"}]),
    r("ApiToken", "abrantes-token", userid="abrantes@pve", tokenid="partilha", store_as="t-abrantes"),
    r("ApiToken", "constancia-token", userid="constancia@pve", tokenid="partilha", store_as="t-c",
      privsep=False),
    r("Acl", "abrantes-pool", path="/pool/abrantes", roleid="PartilhaGuests", ugid="abrantes@pve!partilha",
      kind="token"),
    r("Acl", "constancia-pool", path="/pool/abrantes", roleid="PartilhaGuests",
      ugid="constancia@pve!partilha", kind="token"),
]


def test_platform_rules_flag_the_violating_resources_only(preview: Preview) -> None:
    results = preview("t-platform", PLATFORM)
    blocking = {(x.rule, x.resource) for x in results if x.blocks}
    assert blocking == {
        ("PTL-POL-BKP-03", "j-gold-lab-backup-dr"), ("PTL-POL-NET-01", "vnet-vdup"),
        ("PTL-POL-FW-02", "group-crm"), ("PTL-POL-IAM-01", "constancia-token"),
        ("PTL-POL-IAM-02", "constancia-pool"), ("PTL-POL-BKP-01", "t-platform"),
        ("PTL-POL-BKP-02", "t-platform")}, results
    by_rule: dict[str, list[str]] = {}
    for x in results:
        by_rule.setdefault(x.rule, []).append(x.message)
    # gold misses abrantes-dms at the primary site; silver's weekly schedule misses its 24 h RPO
    bkp1 = " ".join(by_rule["PTL-POL-BKP-01"])
    assert "abrantes-dms" in bkp1 and "abrantes-einvoice" in bkp1 and "abrantes-portal " not in bkp1
    assert all("tier silver" in m for m in by_rule["PTL-POL-BKP-02"])  # no silver copy at the DR site


def test_shared_stack_reports_gold_guests_without_ha(preview: Preview) -> None:
    gold = [g for g in PLAN if g.spec.backup_tier == "gold" and g.spec.ha]
    ha = [r("HaResource", f"ha-{g.name}", sid=f"ct:{g.vmid}") for g in gold if g.name != "abrantes-portal"]
    messages = [x.message for x in preview("t-shared", ha) if x.rule == "PTL-POL-HA-01"]
    assert any("abrantes-portal is gold-tier but has no HA resource" in m for m in messages)
    assert any("abrantes-dms is gold-tier but not marked `ha`" in m for m in messages)
    assert not any("constancia-portal" in m for m in messages)


def test_the_shared_stack_keeps_its_front_door_on_the_dmz_and_nothing_else_there(preview: Preview) -> None:
    def shared_guest(name: str, vmid: int, bridge: str) -> dict[str, Any]:
        return r("Guest", name, node="pve1", kind="lxc", hostname=name, vmid=vmid, template="local:vztmpl/x",
                 cores=1, memory=256, disk_gib=2, storage="lab-guests", bridge=bridge, ip="10.20.0.18/24",
                 gateway="10.20.0.1", ssh_public_keys="k", pool="cim-medio-tejo",
                 tags=["shared", "owner.cim-medio-tejo", "service.x", "data.public"])

    results = preview("t-shared", [shared_guest("cim-medio-tejo-frontdoor", 3008, "dmz"),
                                   shared_guest("cim-medio-tejo-gis", 3007, "dmz")])
    assert {x.resource for x in results if x.rule == "PTL-POL-NET-02"} == {"cim-medio-tejo-gis"}, results
    (message,) = [x.message for x in results if x.rule == "PTL-POL-NET-02"]
    assert "is on VNet dmz, not its own (shared)" in message
