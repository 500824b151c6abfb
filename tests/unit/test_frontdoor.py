"""The front door without a lab: the names it publishes, its certificate, the inventory's bad
inputs about it, the probe's outside rows and the lab's uplink in the nftables table. The lab's
own are written out by hand here, not computed by the code under test."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from ipaddress import IPv4Interface
from pathlib import Path

import pytest
from cryptography import x509

from partilha.deploy.certificates import BUNDLE, CA_CERT, certificate_for, check, covered
from partilha.deploy.hosts import Backend, build_hosts
from partilha.errors import UserError
from partilha.inventory import guests, load_inventory
from partilha.inventory.frontdoor import virtual_hosts
from partilha.lab.machine.lxc.nftables import LabFirewall, VNetNet, render
from partilha.probe import matrix, outside, report
from partilha.probe.remote import Probe
from tests.unit.test_inventory_cases import validate

SVG_TEXT = "{http://www.w3.org/2000/svg}text"
ROOT = Path(__file__).resolve().parents[2]
PARTILHA = str(Path(sys.executable).with_name("partilha"))
LAB = load_inventory(ROOT / "inventories" / "lab")
SITES = {  # the lab's, by hand
    "portal.abrantes.lab.partilha.test": "abrantes-portal",
    "portal.constancia.lab.partilha.test": "constancia-portal",
    "portal.ferreira-do-zezere.lab.partilha.test": "ferreira-do-zezere-portal",
    "eprocurement.lab.partilha.test": "cim-medio-tejo-eprocurement",
    "gis.lab.partilha.test": "cim-medio-tejo-gis",
}


def test_the_lab_publishes_each_portal_and_public_shared_service_by_name() -> None:
    assert {v.name: v.guest.name for v in virtual_hosts(LAB, guests(LAB))} == SITES
    (door,) = [g for g in guests(LAB) if g.service == "frontdoor"]
    assert (door.vmid, str(door.address), door.vnet and door.vnet.id) == (3008, "10.20.0.18/24", "dmz")


def test_only_the_front_door_host_carries_the_backends() -> None:
    placed = guests(LAB)
    outputs = {g.name: {"vmid": g.vmid, "node": g.node, "address": str(g.address.ip) if g.address else "",
                        "vnet": g.vnet.id if g.vnet else "", "tenant": g.tenant, "service": g.service,
                        "role": g.spec.role, "kind": "lxc", "data_class": g.spec.data_class,
                        "ports": list(g.spec.ports)} for g in placed}
    hosts = {h.name: h for h in build_hosts(LAB, outputs, {}, "lab", lab=True)}
    assert set(hosts["cim-medio-tejo-frontdoor"].backends) == {
        Backend("portal.abrantes.lab.partilha.test", "abrantes-portal", "10.101.0.11", 443),
        Backend("portal.constancia.lab.partilha.test", "constancia-portal", "10.103.0.11", 443),
        Backend("portal.ferreira-do-zezere.lab.partilha.test", "ferreira-do-zezere-portal",
                "10.105.0.11", 443),
        Backend("eprocurement.lab.partilha.test", "cim-medio-tejo-eprocurement", "10.30.0.16", 443),
        Backend("gis.lab.partilha.test", "cim-medio-tejo-gis", "10.30.0.17", 443)}
    assert [n for n, h in hosts.items() if h.backends] == ["cim-medio-tejo-frontdoor"]
    again = type(hosts["cim-medio-tejo-frontdoor"]).from_json(hosts["cim-medio-tejo-frontdoor"].to_json())
    assert again == hosts["cim-medio-tejo-frontdoor"]


def test_a_lab_certificate_names_every_site_and_is_issued_by_the_lab_ca(tmp_path: Path) -> None:
    names = sorted(SITES)
    bundle = certificate_for(tmp_path, names, lab=True)
    assert covered(bundle) == set(names) and bundle.stat().st_mode & 0o777 == 0o600
    leaf = x509.load_pem_x509_certificate(bundle.read_bytes())
    leaf.verify_directly_issued_by(x509.load_pem_x509_certificate((tmp_path / CA_CERT).read_bytes()))
    first = bundle.read_bytes()
    assert certificate_for(tmp_path, names, lab=True).read_bytes() == first  # kept: deploys stay no-ops
    certificate_for(tmp_path, [*names, "portal.abrantes-nova.lab.partilha.test"], lab=True)
    assert "portal.abrantes-nova.lab.partilha.test" in covered(bundle)  # a new site: re-issued


def test_production_uses_the_supplied_certificate_and_names_what_it_lacks(tmp_path: Path) -> None:
    bundle = certificate_for(tmp_path, ["gis.cim.example"], lab=False)
    assert bundle == tmp_path / BUNDLE and not bundle.exists()  # never made: the CIM's to supply
    missing = f"{bundle}: the front door's certificate is missing"
    with pytest.raises(UserError, match=re.escape(missing)):
        check(bundle, ["gis.cim.example"])
    certificate_for(tmp_path / "made", ["gis.cim.example"], lab=True)  # stands for the CIM's
    shutil.copy(tmp_path / "made" / BUNDLE, bundle)
    check(bundle, ["gis.cim.example"])
    with pytest.raises(UserError, match=re.escape("does not name portal.abrantes.cim.example") + "$"):
        check(bundle, ["gis.cim.example", "portal.abrantes.cim.example"])


@pytest.mark.parametrize(("file", "old", "new", "where", "words"), [
    ("frontdoor.yaml", "domain: lab.partilha.test", "domain: Lab..test", "frontdoor.yaml:5: frontdoor.domain",
     "is not a valid domain name"),
    ("frontdoor.yaml", "frontdoor:\n  domain: lab.partilha.test", "", "frontdoor",
     "missing: cim-medio-tejo-frontdoor needs the domain its virtual hosts are named under"),
    ("municipalities.yaml", "      portal:\n      dms: { memory_mib: 1024 }",
     "      portal:\n      frontdoor:\n      dms: { memory_mib: 1024 }",
     "municipalities.yaml:9: municipalities[0].services.frontdoor",
     "service 'frontdoor' is for shared use, not municipality"),
    ("frontdoor.yaml", "domain: lab.partilha.test", "domain: lab.partilha.test\n  tls: acme",
     "frontdoor.yaml:6: frontdoor.tls", "unknown field"),
])
def test_a_bad_front_door_is_one_clear_validation_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       file: str, old: str, new: str, where: str,
                                                       words: str) -> None:
    folder = tmp_path / "lab"
    shutil.copytree(ROOT / "inventories" / "lab", folder)
    text = (folder / file).read_text()
    assert old in text
    (folder / file).write_text(text.replace(old, new))
    status, _, err = validate(folder, capsys)
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and where in lines[0] and words in lines[0], err


def test_the_outside_rows_expect_the_front_door_only() -> None:
    placed = guests(LAB)
    there = outside.Vantage(("ip", "netns", "exec", "x"), "x", (("lab-host", "10.217.1.1", (22, 8006)),))
    rows = outside.pairs(LAB, placed, there)
    opened = {(p.target, p.port) for p in rows if p.expected == "open"}
    assert opened == {("cim-medio-tejo-frontdoor", 80), ("cim-medio-tejo-frontdoor", 443)}
    assert {(p.target, p.port) for p in rows if p.target == "lab-host"} == {("lab-host", 22),
                                                                              ("lab-host", 8006)}
    assert len(rows) == len(placed) * len(matrix.ports(placed)) + 2
    assert {p.source for p in rows} == {"outside"}


def test_outside_rows_with_nowhere_to_try_them_read_not_applicable_never_passed() -> None:
    placed = guests(LAB)
    rows = outside.pairs(LAB, placed, None)
    inside = matrix.pairs(LAB, placed)
    observed = {(p.source, p.target, p.port): p.expected for p in inside}
    observed |= {(p.source, p.target, p.port): outside.NOT_APPLICABLE for p in rows}
    result = Probe("prod", matrix.ports(placed), inside + rows, observed, {}, 1.0, "2026-12-05 13:00:00 UTC")
    assert result.unexpected() == [] and len(result.not_applicable()) == len(rows)
    read = Probe.from_json(result.as_json())  # as the audit reads probe.json back
    assert read.unexpected() == [] and read.not_applicable() == result.not_applicable()
    verdicts = {(r[0], r[1]): r[-1] for r in report.rows(result)}
    assert verdicts[("outside", "cim-medio-tejo-frontdoor")] == "not applicable"
    assert "ok" not in {v for (source, _), v in verdicts.items() if source == "outside"}
    assert f"{len(rows)} outside rows not applicable" in report.summary(result)


def test_the_uplink_is_a_lab_interface_that_reaches_nothing_on_the_host() -> None:
    fw = LabFirewall("partilha_t1", vnets=(VNetNet("t1-dmz", IPv4Interface("10.20.0.1/24")),),
                     uplink=VNetNet("t1-up", IPv4Interface("10.217.3.1/24")))
    text = render(fw)
    assert 'elements = { "t1-dmz", "t1-up" }' in text
    assert '"t1-up"' not in text.split("chain lab_input")[1]  # no accept for it on the host
    assert 'iifname "t1-up" oifname "t1-up"' not in text


def test_the_diagram_names_every_vnet_and_guest_of_the_lab(tmp_path: Path) -> None:
    made = tmp_path / "lab.svg"
    done = subprocess.run([PARTILHA, "diagram", "--env", "lab", "--inventory",
                           str(ROOT / "inventories" / "lab"), "--output", str(made)],
                          capture_output=True, text=True, timeout=60, check=False, cwd=ROOT,
                          env={"PARTILHA_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    for svg in (made, ROOT / "docs" / "lab.svg"):  # the one the README embeds too
        texts = {t.text for t in ET.parse(svg).iter(SVG_TEXT)}  # noqa: S314 - our own SVG
        for vnet in LAB.networks.vnets:
            assert any(t and t.startswith(f"{vnet.id} · ") for t in texts), (svg, vnet.id)
            assert any(t and t.startswith(str(vnet.prefix)) for t in texts), (svg, vnet.prefix)
        assert {g.name for g in guests(LAB)} <= texts, svg
        assert set(SITES) <= texts and "internet" in texts, svg


def test_without_graphviz_the_diagram_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    done = subprocess.run([PARTILHA, "diagram", "--inventory",
                           str(ROOT / "inventories" / "lab"), "--output", str(tmp_path / "x.svg")],
                          capture_output=True, text=True, timeout=60, check=False, cwd=ROOT,
                          env={"PARTILHA_HOME": str(tmp_path / "home"), "PATH": str(empty)})
    assert done.returncode == 1 and "Graphviz's `dot` is not installed" in done.stderr, done.stderr
    assert not (tmp_path / "x.svg").exists()
