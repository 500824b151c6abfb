"""A many-guest run's report: the RTO achieved per guest (disaster to that guest verified) and the
RPO, each against its tier's targets, and per tier the worst of its guests; a guest not verified
yet has no RTO; the JSON's figures carry them. And where an HA guest belongs while a recovery has
it at a site (partilha.inventory.placement.ha_group)."""

from __future__ import annotations

from pathlib import Path

from partilha.dr import report
from partilha.dr.journal import Journal, StepRecord
from partilha.inventory import load_inventory
from partilha.inventory.placement import ha_group

ROOT = Path(__file__).resolve().parents[2]
GOLD = {"tier": "gold", "rto_target_s": 7200, "rpo_target_s": 14400}
SILVER = {"tier": "silver", "rto_target_s": 28800, "rpo_target_s": 86400}


def failover(restored: list[dict[str, object]]) -> Journal:
    done = StepRecord("RB-FO-07", "Verify every guest", False, state="done", started=1000.0, finished=1500.0)
    made = Journal("failover-site-20261205-000000-abcd", "failover-site", [], {}, "lab", 1000.0, 1000.0,
                   "the run's start", {"restored": restored, "targets": {"tier": "gold, silver"}}, [done])
    made.outcome = "succeeded"
    return made


def test_each_guest_and_each_tier_has_its_rto_and_rpo_against_its_targets() -> None:
    made = failover([
        {"guest": "abrantes-dms", "archive": "a", "backup_at": 900.0, "verified_at": 1100.0, "data": "ok",
         **GOLD},
        {"guest": "abrantes-portal", "archive": "b", "backup_at": 800.0, "verified_at": 1300.0, **GOLD},
        {"guest": "abrantes-crm", "archive": "c", "backup_at": 900.0 - 86400 - 1, "verified_at": 1400.0,
         **SILVER}])
    f = report.figures(made)
    guests = {r["guest"]: r for r in f["restored"]}
    assert (guests["abrantes-dms"]["rto_s"], guests["abrantes-dms"]["rpo_s"]) == (100.0, 100.0)
    assert guests["abrantes-portal"]["rto_s"] == 300.0 and guests["abrantes-crm"]["rpo_met"] is False
    gold, silver = f["tiers"]
    assert (gold["tier"], gold["guests"], gold["rto_s"], gold["rpo_s"], gold["rto_met"]) == (
        "gold", ["abrantes-dms", "abrantes-portal"], 300.0, 200.0, True)
    assert (silver["tier"], silver["rpo_met"]) == ("silver", False)
    text = report.markdown(made)
    assert "abrantes-dms (gold): restored from `a`" in text
    assert "RTO achieved 100.0 s (target 2.00 h: met), data ok" in text
    assert "tier silver (abrantes-crm): RTO achieved 6.7 min (target 8.00 h: met), RPO achieved" in text
    assert "(target 24.00 h: MISSED)" in text
    assert "tier gold (abrantes-dms, abrantes-portal)" in report.page(made)


def test_a_guest_not_verified_has_no_rto_and_neither_has_its_tier() -> None:
    made = failover([{"guest": "abrantes-dms", "archive": "a", "backup_at": 900.0, **GOLD}])
    made.outcome, made.steps[0].state = "failed", "failed"
    f = report.figures(made)
    assert f["restored"][0]["rto_s"] is None and f["tiers"][0]["rto_s"] is None
    assert f["tiers"][0]["rto_met"] is None and f["tiers"][0]["rpo_s"] == 100.0


def test_an_ha_guest_is_in_a_site_group_only_where_the_site_can_run_ha() -> None:
    lab = load_inventory(ROOT / "inventories" / "lab")
    tejo = load_inventory(ROOT / "inventories" / "medio-tejo")
    assert ha_group(lab, "primary") == "partilha-primary"
    assert ha_group(lab, "dr") is None  # one compute node
    assert ha_group(tejo, "tomar") == "partilha-tomar"
    assert ha_group(tejo, "abrantes") is None  # two nodes, but ZFS each: no shared storage
