"""The guests an inventory implies: one per (tenant, service), sized by overrides, placed on nodes."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from partilha.inventory import Guest, Inventory, guests, load_inventory
from partilha.inventory.placement import REBALANCE, holds_data, rebalancing

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


def by_name(inv: Inventory) -> dict[str, Guest]:
    return {guest.name: guest for guest in guests(inv)}


def memory_per_node(placed: list[Guest]) -> Counter[str]:
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


def test_vmid_and_address_derive_from_the_tenant_vnet_and_catalogue_number() -> None:
    inv = load_inventory(Path(__file__).resolve().parents[2] / "inventories" / "lab")
    placed = by_name(inv)
    portal, gis = placed["abrantes-portal"], placed["cim-medio-tejo-gis"]
    assert (portal.vnet.id if portal.vnet else None, portal.vmid, str(portal.address)) == (
        "vabt", 10101, "10.101.0.11/24")
    assert (gis.vmid, str(gis.address), str(gis.gateway)) == (3007, "10.30.0.17/24", "10.30.0.1")
    assert len({g.vmid for g in placed.values()}) == len(placed)
