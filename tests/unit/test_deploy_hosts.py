"""The host model partilha deploys to: built purely from the inventory, the stacks' `guests`
outputs and the nodes' addresses; the fleet's selection and file; each host's deploy files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from partilha.deploy.fleet import Fleet
from partilha.deploy.hosts import ADMIN_USER, NODE_PORTS, Host, Inbound, build_hosts
from partilha.deploy.plan import files_for
from partilha.errors import UserError
from partilha.inventory import Inventory, load_inventory

LAB = Path(__file__).resolve().parents[2] / "inventories" / "lab"


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(LAB)


def outputs(**changes: Any) -> dict[str, dict[str, Any]]:
    """Two guests as the tenant stacks export them; `changes` alter abrantes-portal."""
    portal = {"vmid": 10101, "node": "pve1", "address": "10.101.0.11", "vnet": "vabt", "tenant": "abrantes",
              "service": "portal", "role": "portal", "kind": "lxc", "data_class": "personal",
              "ports": [443, 80]}
    gis = {"vmid": 3007, "node": "pve2", "address": "10.30.0.17", "vnet": "shared",
           "tenant": "cim-medio-tejo", "service": "gis", "role": "gis", "kind": "lxc",
           "data_class": "public", "ports": [443]}
    portal.update(changes)
    return {"abrantes-portal": portal, "cim-medio-tejo-gis": gis}


def test_lab_guests_take_ssh_from_management_and_their_gateway(inventory: Inventory) -> None:
    hosts = {h.name: h for h in build_hosts(inventory, outputs(), {}, "lab", lab=True)}
    portal, gis = hosts["abrantes-portal"], hosts["cim-medio-tejo-gis"]
    assert portal.ssh_sources == ("10.10.0.0/24", "10.101.0.1", "10.99.0.1")  # and the drill VNet
    assert gis.ssh_sources == ("10.10.0.0/24", "10.30.0.1", "10.99.0.1")
    assert portal.inbound == (Inbound("tcp", 80, 80), Inbound("tcp", 443, 443))
    assert (portal.kind, portal.admin_user, portal.root_login) == ("guest", ADMIN_USER, "no")
    assert portal.groups == ("guests", "role_portal", "tenant_abrantes")
    assert gis.groups[2] == "tenant_cim_medio_tejo"  # a Python identifier, as pyinfra needs
    assert (portal.site, portal.node, portal.vnet, portal.extra) == ("primary", "pve1", "vabt",
                                                                     {"vmid": 10101, "kind": "lxc"})


def test_outside_the_lab_only_the_management_network(inventory: Inventory) -> None:
    hosts = build_hosts(inventory, outputs(), {"pve1": "10.10.0.21"}, "prod", lab=False)
    assert {h.ssh_sources for h in hosts} == {("10.10.0.0/24",)}


def test_lab_allowances_follow_the_envs_lab_flag_never_its_name(inventory: Inventory) -> None:
    named_lab = build_hosts(inventory, outputs(), {"pve1": "10.216.7.11/24"}, "lab", lab=False)
    assert {h.ssh_sources for h in named_lab} == {("10.10.0.0/24",)}
    assert not any(h.lab for h in named_lab)
    a_lab = build_hosts(inventory, outputs(), {}, "medio-tejo", lab=True)
    assert a_lab[0].ssh_sources == ("10.10.0.0/24", "10.101.0.1", "10.99.0.1") and all(h.lab for h in a_lab)
    assert Host.from_json(a_lab[0].to_json()) == a_lab[0]


def test_lab_nodes_take_ssh_and_pve_ports_from_management_and_the_node_network(inventory: Inventory) -> None:
    node, *_ = build_hosts(inventory, {}, {"pve-dr1": "10.216.7.14/24"}, "lab", lab=True)
    assert (node.name, node.address, node.kind, node.site) == ("pve-dr1", "10.216.7.14", "node", "dr")
    # the lab's node network: the lab's host (10.216.7.1) and the other nodes (cluster SSH, corosync)
    assert node.ssh_sources == ("10.10.0.0/24", "10.216.7.0/24")
    assert node.root_login == "prohibit-password" and node.admin_user is None
    assert [(i.proto, i.first, i.last, i.sources) for i in node.inbound] == [
        (proto, first, last, ("10.10.0.0/24", "10.216.7.0/24")) for proto, first, last in NODE_PORTS]
    assert node.groups == ("nodes", "site_dr")


def test_outside_the_lab_nodes_open_pve_ports_to_management_only(inventory: Inventory) -> None:
    node, *_ = build_hosts(inventory, {}, {"pve1": "10.216.7.11/24"}, "prod", lab=False)
    assert node.ssh_sources == ("10.10.0.0/24",)
    assert {i.sources for i in node.inbound} == {("10.10.0.0/24",)}


def test_a_gateway_inside_the_management_prefix_is_not_repeated(inventory: Inventory) -> None:
    node, *_ = build_hosts(inventory, {}, {"pve1": "10.10.0.21/24"}, "lab", lab=True)
    assert node.ssh_sources == ("10.10.0.0/24",)
    assert {i.sources for i in node.inbound} == {("10.10.0.0/24",)}


@pytest.mark.parametrize(("changes", "nodes", "message"), [
    ({"vnet": "nowhere"}, {}, "guests['abrantes-portal'].vnet: 'nowhere' is no VNet"),
    ({"address": "10.103.0.11"}, {}, "10.103.0.11 is outside VNet vabt"),
    ({"address": "eleven"}, {}, "'eleven' is not an IP address"),
    ({"address": None, "role": ""}, {}, "guests['abrantes-portal']: missing address, role"),
    ({"ports": [443, "http"]}, {}, "ports: [443, 'http'] is not a list of port numbers"),
    ({"node": "pve9"}, {}, "node: 'pve9' is not a node"),
    ({}, {"pve7": "10.10.0.27/24"}, "'pve7' is not a node of the inventory"),
    ({}, {"pve1": "10.10.0.21"}, "node pve1: the lab needs the address with its prefix length"),
    ({}, {"pve1": "10.10.0.11/24"}, "share the name or address 10.10.0.11"),
    ({"address": "10.30.0.17", "vnet": "shared"}, {}, "share the name or address 10.30.0.17"),
])
def test_bad_outputs_name_the_guest_and_field(inventory: Inventory, changes: dict[str, Any],
                                               nodes: dict[str, str], message: str) -> None:
    guests = outputs(**changes)
    if "10.10.0.11/24" in nodes.values():  # a node at a guest's address
        guests["abrantes-portal"].update(address="10.10.0.11", vnet="mgmt")
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]")):
        build_hosts(inventory, guests, nodes, "lab", lab=True)


def test_an_inventory_without_management_network_is_refused(inventory: Inventory) -> None:
    vnets = [v for v in inventory.networks.vnets if v.purpose != "management"]
    broken = inventory.model_copy(update={"networks": inventory.networks.model_copy(update={"vnets": vnets})})
    with pytest.raises(UserError, match="no VNet with purpose management"):
        build_hosts(broken, {}, {}, "lab", lab=True)


@pytest.fixture
def fleet(inventory: Inventory, tmp_path: Path) -> Fleet:
    hosts = build_hosts(inventory, outputs(), {"pve1": "10.216.7.11/24"}, "lab", lab=True)
    return Fleet("lab", tuple(hosts), tmp_path / "known_hosts", tmp_path / "id_ed25519")


def test_fleet_selects_by_name_address_or_group(fleet: Fleet) -> None:
    assert [h.name for h in fleet.select(["nodes"]).hosts] == ["pve1"]
    assert [h.name for h in fleet.select(["10.30.0.17", "role_portal"]).hosts] == [
        "abrantes-portal", "cim-medio-tejo-gis"]  # fleet order, whatever the limit's order
    assert fleet.select([]) is fleet
    with pytest.raises(UserError, match=r"--limit pve9: no host, address or group .*\(pve1, abrantes-portal"):
        fleet.select(["pve9"])


def test_fleet_file_round_trip(fleet: Fleet, tmp_path: Path) -> None:
    fleet.save(tmp_path / "fleet.json")
    assert Fleet.load(tmp_path / "fleet.json") == fleet
    (tmp_path / "bad.json").write_text('{"env": "lab"}')
    with pytest.raises(UserError, match=r"bad\.json: not a fleet file"):
        Fleet.load(tmp_path / "bad.json")
    with pytest.raises(UserError, match=r"none\.json: no fleet file"):
        Fleet.load(tmp_path / "none.json")


def test_each_host_gets_its_deploy_files(fleet: Fleet) -> None:
    names = {h.name: [p.relative_to(p.parents[1]).as_posix() if "services" in p.parts else p.name
                      for p in files_for(h, "all")] for h in fleet.hosts}
    assert names == {"pve1": ["baseline.py", "hypervisor.py"],
                     "abrantes-portal": ["baseline.py", "services/portal.py"],
                     "cim-medio-tejo-gis": ["baseline.py", "services/gis.py"]}
    portal = fleet.host("abrantes-portal")
    assert [p.name for p in files_for(portal, "baseline")] == ["baseline.py"]
    assert files_for(portal, "hypervisor") == []
    assert files_for(fleet.host("pve1"), "services") == []


def test_host_model_round_trips_through_json(fleet: Fleet) -> None:
    for host in fleet.hosts:
        assert Host.from_json(host.to_json()) == host
