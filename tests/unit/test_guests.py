"""The guests an inventory implies: one per (tenant, service), sized by overrides, placed on nodes."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from partilha.inventory import Inventory, PlacedGuest, guests, load_inventory
from partilha.inventory.placement import REBALANCE, holds_data, rebalancing
from partilha.inventory.rules import check

VALID = Path(__file__).resolve().parents[1] / "data" / "valid"
DATA: dict[str, Any] = {}
for path in sorted(VALID.glob("*.yaml")):
    DATA.update(yaml.safe_load(path.read_text(encoding="utf-8")))


def inventory(change: Any = None) -> Inventory:
    """The valid inventory, its data first changed in place by `change`."""
    data = copy.deepcopy(DATA)
    if change:
        change(data)
    return Inventory.model_validate(data)


def by_name(inv: Inventory) -> dict[str, PlacedGuest]:
    return {guest.name: guest for guest in guests(inv)}


def memory_per_node(placed: list[PlacedGuest]) -> Counter[str]:
    load: Counter[str] = Counter()
    for guest in placed:
        load[guest.node] += guest.memory_mib
    return load


def test_placement_is_deterministic() -> None:
    first, second = guests(load_inventory(VALID)), guests(load_inventory(VALID))
    assert [(g.name, g.node) for g in first] == [(g.name, g.node) for g in second]
    assert memory_per_node(first) == {"pve1": 2816, "pve2": 2816, "pve3": 2560}


def unpinned_with(memory: list[int], nodes: int) -> Any:
    def change(data: dict[str, Any]) -> None:
        for service, mib in zip(data["services"].values(), memory, strict=True):
            service["memory_mib"] = mib
        for tenant in [*data["municipalities"], data["shared"]]:
            tenant["services"] = dict.fromkeys(tenant["services"])  # no overrides, no pins
        data["datacentre"]["nodes"] = [
            {"name": f"pve{i}", "site": "primary", "cpus": 2, "memory_gib": 64} for i in range(nodes)
        ] + [{"name": "pve-dr1", "site": "dr", "cpus": 2, "memory_gib": 4}]
    return change


@settings(max_examples=60, deadline=None)
@given(memory=st.lists(st.integers(64, 8192), min_size=7, max_size=7), nodes=st.integers(1, 5))
def test_placement_is_balanced(memory: list[int], nodes: int) -> None:
    """Each guest goes to the least-loaded node, so no node carries more than the lightest one
    plus one guest."""
    placed = guests(inventory(unpinned_with(memory, nodes)))
    load = memory_per_node(placed)
    assert set(load) == {f"pve{i}" for i in range(nodes)}  # every node used, none at the dr site
    assert max(load.values()) - min(load.values()) <= max(g.memory_mib for g in placed)


def test_only_compute_nodes_of_the_primary_site_take_guests() -> None:
    def pve2_only_stores(data: dict[str, Any]) -> None:
        data["datacentre"]["nodes"][1]["roles"] = ["storage"]
    nodes = {guest.node for guest in guests(inventory(pve2_only_stores))}
    assert nodes == {"pve1", "pve3"}


def test_overrides_apply_to_that_tenant_only() -> None:
    def overrides(data: dict[str, Any]) -> None:
        data["municipalities"][1]["services"]["portal"] = {"ha": False, "backup_tier": "silver",
                                                           "cpus": 2, "disk_gib": 9}
    placed = by_name(inventory(overrides))
    assert placed["abrantes-dms"].memory_mib == 1024  # the valid inventory's own override
    assert placed["constancia-dms"].memory_mib == 768
    changed, catalogue = placed["constancia-portal"].spec, placed["abrantes-portal"].spec
    assert (changed.ha, changed.backup_tier, changed.cpus, changed.disk_gib) == (False, "silver", 2, 9)
    assert (catalogue.ha, catalogue.backup_tier, catalogue.cpus, catalogue.disk_gib) == (True, "gold", 1, 4)
    assert changed.model_dump(exclude={"ha", "backup_tier", "cpus", "disk_gib"}) == \
        catalogue.model_dump(exclude={"ha", "backup_tier", "cpus", "disk_gib"})


def test_a_pinned_node_is_honoured() -> None:
    unpinned = by_name(inventory())
    assert unpinned["ferreira-do-zezere-intranet"].node == "pve3"  # pinned in the valid inventory
    assert unpinned["abrantes-portal"].node == "pve1"

    def pin_first_guest_to_pve3(data: dict[str, Any]) -> None:
        data["municipalities"][0]["services"]["portal"] = {"node": "pve3"}
    pinned = by_name(inventory(pin_first_guest_to_pve3))
    assert pinned["abrantes-portal"].node == "pve3"
    assert pinned["abrantes-portal"].site == "primary"
    assert pinned["abrantes-dms"].node == "pve1"  # pve3 already carries the portal
    # only a pin moves an existing guest (partilha.inventory.placement); the rest is for new ones
    assert [g.name for g in guests(inventory(pin_first_guest_to_pve3)) if g.pinned] == [
        "abrantes-portal", "ferreira-do-zezere-intranet"]


def test_guests_whose_service_holds_data_are_protected_and_rebalancing_is_asked_for() -> None:
    protected = {g.service for g in guests(inventory()) if holds_data(g.spec)}
    assert {g.service for g in guests(inventory())} - protected == {"gis"}  # public data only
    assert rebalancing({REBALANCE: "1"}) and not rebalancing({}) and not rebalancing({REBALANCE: "0"})


def test_every_tenant_service_is_one_guest() -> None:
    placed = guests(inventory())
    expected = [(t["slug"], s) for t in [*DATA["municipalities"], DATA["shared"]] for s in t["services"]]
    assert [(g.tenant, g.service) for g in placed] == expected
    assert [g.name for g in placed if g.shared] == ["cim-medio-tejo-eprocurement", "cim-medio-tejo-gis"]


def test_vmid_and_address_derive_from_the_tenant_and_service_numbers() -> None:
    inv = load_inventory(Path(__file__).resolve().parents[2] / "inventories" / "lab")
    placed = by_name(inv)
    portal, gis = placed["abrantes-portal"], placed["cim-medio-tejo-gis"]
    assert (portal.vnet.id if portal.vnet else None, portal.vmid, str(portal.address)) == (
        "vabt", 10101, "10.101.0.11/24")
    assert (gis.vmid, str(gis.address), str(gis.gateway)) == (3007, "10.30.0.17/24", "10.30.0.1")
    assert len({g.vmid for g in placed.values()}) == len(placed)


def identities(inv: Inventory) -> dict[str, tuple[int, str]]:
    return {g.name: (g.vmid, str(g.address)) for g in guests(inv)}


def identity_findings(inv: Inventory) -> list[str]:
    """What validation says about guests sharing a vmid or an address."""
    return [message for _, message in check(inv, {s.role for s in inv.services.values()})
            if " would share " in message]


def test_a_hundred_services_and_more_collide_with_no_other_guest() -> None:
    """Tenant numbers 101 and 102 each running 150 services: service 101 of the first is not
    service 1 of the second (t * 100 + n would make both 10201)."""
    def grow(data: dict[str, Any]) -> None:
        portal = data["services"]["portal"]
        data["services"] = {f"s{n}": {**portal, "number": n, "memory_mib": 64, "cpus": 1, "disk_gib": 1,
                                      "ha": False} for n in range(1, 151)}
        everything = dict.fromkeys(data["services"])
        for tenant, number in zip(data["municipalities"][:2], (101, 102), strict=True):
            tenant.update(number=number, services=everything,
                          quota={"cpus": 1000, "memory_mib": 100_000, "disk_gib": 1000})
        data["municipalities"] = data["municipalities"][:2]
        data["networks"]["vnets"] = [v for v in data["networks"]["vnets"]
                                     if v.get("municipality") != "ferreira-do-zezere"]
        data["shared"]["services"] = {}
        data["datacentre"]["cpu_overcommit"] = 32
        for node in data["datacentre"]["nodes"]:
            node.update(cpus=64, memory_gib=64)
        data["storage"][0]["capacity_gib"] = 1000
    inv = inventory(grow)
    placed = guests(inv)
    assert len(placed) == 300
    assert len({g.vmid for g in placed}) == 300
    assert by_name(inv)["abrantes-s101"].vmid == 1_101_101
    assert by_name(inv)["constancia-s1"].vmid == 10201
    assert check(inv, {"portal"}) == []


def test_a_vlan_tag_reused_on_another_bridge_moves_and_merges_no_guest() -> None:
    """Tag 101 on vmbr0 (Abrantes) and on vmbr1 (Constância) is a valid network; the guests'
    vmids come from the tenants' numbers, not the tag."""
    def second_bridge(data: dict[str, Any]) -> None:
        data["networks"]["zones"].append({"id": "edge", "type": "vlan", "bridge": "vmbr1"})
        constancia = next(v for v in data["networks"]["vnets"] if v["id"] == "vcnt")
        constancia.update(zone="edge", tag=101)
    inv = inventory(second_bridge)
    assert identities(inv) == identities(inventory())
    assert check(inv, {s.role for s in inv.services.values()}) == []


def test_reordering_or_growing_the_catalogue_renumbers_no_guest() -> None:
    def reverse(data: dict[str, Any]) -> None:
        data["services"] = dict(reversed(data["services"].items()))

    def prepend(data: dict[str, Any]) -> None:
        new = {**data["services"]["intranet"], "number": 8, "role": "intranet"}
        data["services"] = {"wiki": new, **data["services"]}
        data["municipalities"][1]["services"]["wiki"] = None
    before = identities(inventory())
    assert identities(inventory(reverse)) == before
    grown = identities(inventory(prepend))
    assert grown.pop("constancia-wiki") == (10308, "10.103.0.18/24")
    assert grown == before


def test_two_tenants_with_one_number_are_named_guest_by_guest() -> None:
    def reuse(data: dict[str, Any]) -> None:
        data["municipalities"][2]["number"] = 103  # Constância's
    findings = identity_findings(inventory(reuse))
    assert findings == [
        f"ferreira-do-zezere-{s} would share vmid {vmid} with constancia-{s} "
        f"(municipalities[1].services.{s}): tenants 'constancia' and 'ferreira-do-zezere' both "
        f"have number 103" for s, vmid in (("portal", 10301), ("dms", 10302), ("intranet", 10305))]


def test_two_services_with_one_number_are_named() -> None:
    def reuse(data: dict[str, Any]) -> None:
        data["services"]["einvoice"]["number"] = 4  # crm's
    assert identity_findings(inventory(reuse)) == [
        "abrantes-crm would share vmid 10104 and address 10.101.0.14 with abrantes-einvoice "
        "(municipalities[0].services.einvoice): services 'einvoice' and 'crm' both have number 4"]
