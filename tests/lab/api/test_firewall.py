"""The PVE firewall through proxmoxer: security groups, cluster options and rules, a VNet's
firewall, a guest's options and rules (positions, `moveto`, digests, PVE's error words,
permissions), and what the lab's one nftables table then enforces between real guests.

Guests: a1 and a2 in municipality A's VNet, b1 in B's, every net0 with `firewall=1`. The lab's
model (partilha.lab.firewall.firewall_translate): VNets are isolated; with the datacenter firewall enabled,
cluster `forward` rules open routed traffic between VNets, and a guest's own firewall (enable,
policy_in, in/out rules, security groups) filters what reaches it, also from its own VNet.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from ipaddress import IPv4Network
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException
from proxmoxer_types import v8, v9

from partilha.lab.instance import LabInstance
from partilha.lab.sdn import sdn_apply
from partilha.lab.server.store import Store

pytestmark = pytest.mark.lab

WaitTask = Callable[..., dict[str, Any]]
Fails = Callable[[Callable[[], Any]], ResourceException]


def table(lab: LabInstance) -> dict[str, Any]:
    """The instance's table as `nft -j` shows it: chains by name, rules as their JSON."""
    out = subprocess.run(["nft", "-j", "list", "table", "inet", lab.nft_table],
                         capture_output=True, text=True, check=True).stdout
    items = json.loads(out)["nftables"]
    chains = {i["chain"]["name"] for i in items if "chain" in i}
    rules = [i["rule"] for i in items if "rule" in i]
    return {"chains": chains, "rules": rules}


def rules_of(lab: LabInstance, chain: str) -> list[dict[str, Any]]:
    return [r for r in table(lab)["rules"] if r["chain"] == chain]


@pytest.fixture(scope="module")
def nets(make_vnets: Callable[..., dict[str, IPv4Network]]) -> dict[str, IPv4Network]:
    return make_vnets("fwz", "vfa", "vfb")


@pytest.fixture(scope="module")
def cts(admin: ProxmoxAPI, nets: dict[str, IPv4Network], create_ct: Callable[..., Any],
        wait_task: WaitTask) -> dict[str, Any]:
    made = {}
    for name, vmid, vnet, host in (("a1", 9301, "vfa", 10), ("a2", 9302, "vfa", 11),
                                   ("b1", 9401, "vfb", 10)):
        made[name], upid = create_ct(vmid, vnet, nets[vnet], host, firewall=True,
                                     hostname=f"fw{vmid}.lab.test", swap=64, cores=1, start=1,
                                     unprivileged=1)
        status = wait_task(admin, upid)
        assert status["exitstatus"] == "OK", admin.nodes("pve1").tasks(upid).log.get()
    return made


@pytest.fixture(scope="module")
def listening(guest_ssh: Any, cts: dict[str, Any]) -> dict[str, Any]:
    """Every guest serves TCP 7100 and 7101 (sshd serves 22)."""
    for ct in cts.values():
        for port in (7100, 7101):
            started = guest_ssh(ct.ip, "systemd-run", f"--unit=listen{port}", "python3", "-m",
                                "http.server", str(port))
            assert started.returncode == 0, started.stderr
        deadline = time.monotonic() + 20
        while len(guest_ssh(ct.ip, "ss", "-ltnH", "sport = :7100 or sport = :7101").stdout
                  .splitlines()) < 2:
            assert time.monotonic() < deadline, f"no listeners on {ct.ip}"
            time.sleep(0.2)
    return cts


@pytest.fixture
def canary(lab: LabInstance) -> Iterator[Callable[[], str]]:
    """Another inet table with a rule: the lab's applies must leave it exactly as it was."""
    name = f"{lab.nft_table}_canary"
    subprocess.run(["nft", "-f", "-"], check=True, text=True, input=(
        f"table inet {name} {{\n chain c {{\n  tcp dport 9 drop\n }}\n}}\n"))

    def listing() -> str:
        return subprocess.run(["nft", "list", "table", "inet", name], capture_output=True,
                              text=True, check=True).stdout

    try:
        yield listing
    finally:
        subprocess.run(["nft", "delete", "table", "inet", name], check=False)


# security groups


def test_groups_crud_positions_digests_and_rename(admin: ProxmoxAPI, fails: Fails, modified: str) -> None:
    groups = admin.cluster.firewall.groups
    groups.post(group="webserver", comment="Portal do munícipe")
    assert fails(lambda: groups.post(group="webserver")).errors == {
        "group": "Security group 'webserver' already exists"}
    [listed] = [g for g in groups.get() if g["group"] == "webserver"]
    assert listed["comment"] == "Portal do munícipe" and len(listed["digest"]) == 40

    rules = groups("webserver")
    rules.post(type="in", action="ACCEPT", macro="http", enable=1)  # PVE spells it HTTP
    rules.post(type="in", action="ACCEPT", proto="tcp", dport="8000:8080,443", comment="alt")
    got = rules.get()
    assert [(r["pos"], r.get("macro"), r.get("dport")) for r in got] == [
        (0, None, "8000:8080,443"), (1, "HTTP", None)]  # a new rule goes on top
    assert got[0]["enable"] == 0 and got[1]["enable"] == 1  # PVE's default: disabled
    digest = got[0]["digest"]
    assert {r["digest"] for r in got} == {digest} and rules(1).get()["digest"] == digest

    rules(0).put(moveto=2, digest=digest)  # past the end: to the bottom
    assert [r.get("macro") for r in rules.get()] == ["HTTP", None]
    assert fails(lambda: rules(0).put(comment="lost update", digest=digest)).content == modified
    rules(1).put(enable=1, delete="comment")
    assert "comment" not in rules(1).get() and rules(1).get()["enable"] == 1
    assert fails(lambda: rules(5).get()).content == "no rule at position 5"

    admin.cluster.firewall.rules.post(type="group", action="webserver", enable=1)
    digest = next(g for g in groups.get() if g["group"] == "webserver")["digest"]
    groups.post(group="portal", rename="webserver", digest=digest)
    assert "webserver" not in {g["group"] for g in groups.get()}
    assert admin.cluster.firewall.rules(0).get()["action"] == "portal"  # references follow
    assert fails(lambda: groups.post(group="x2", rename="portal", digest=digest)).content == modified

    assert fails(lambda: groups("portal").delete()).content == "Security group 'portal' is not empty"
    admin.cluster.firewall.rules(0).delete()
    for _ in range(2):
        groups("portal")(0).delete()
    groups("portal").delete()
    assert fails(lambda: groups("portal").get()).content == "no such security group 'portal'"


def test_rule_errors_are_pves(admin: ProxmoxAPI, fails: Fails) -> None:
    admin.cluster.firewall.groups.post(group="checks")
    rules = admin.cluster.firewall.groups("checks")
    cases: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({"type": "in", "action": "ACCEPT", "macro": "Gopher"}, {"macro": "unknown macro 'Gopher'"}),
        ({"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "http2x"},
         {"dport": "invalid format - invalid port 'http2x'\n"}),
        ({"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "90:80"},
         {"dport": "invalid format - backwards range '90:80' not allowed, did you mean '80:90'?\n"}),
        ({"type": "in", "action": "ACCEPT", "dport": "80"},
         {"proto": "missing property - 'dport' requires this property"}),
        ({"type": "in", "action": "ACCEPT", "macro": "SSH", "proto": "tcp", "dport": "2222"},
         {"dport": "parameter 'dport' already define in macro (value = '22')"}),
        ({"type": "in", "action": "ALLOW"}, {"action": "unknown action 'ALLOW'"}),
        ({"type": "group", "action": "checks"}, {"type": "security groups not allowed"}),
        ({"type": "in", "action": "ACCEPT", "source": "office"}, {"source": "no such alias 'office'"}),
        ({"type": "in", "action": "ACCEPT", "iface": "net0"},
         {"type": "parameter -i not allowed for this rule type"}),
        ({"type": "in", "action": "ACCEPT", "proto": "bogus"},
         {"proto": "invalid format - unknown protocol 'bogus'\n"}),
    ]
    for params, errors in cases:
        err = fails(lambda params=params: rules.post(**params))
        assert (err.status_code, err.errors) == (400, errors), params
    bad_name = fails(lambda: admin.cluster.firewall.groups.post(group="1st-group"))
    assert bad_name.errors == {"group": "value does not match the regex pattern"}
    assert rules.get() == []
    rules.post(type="in", action="DROP", proto="udp", enable=1)
    assert fails(lambda: rules(0).put(delete="type")).errors == {
        "delete": "unable to delete required property 'type'"}
    rules(0).delete()
    admin.cluster.firewall.groups("checks").delete()


def test_options_carry_a_digest(admin: ProxmoxAPI, fails: Fails, modified: str) -> None:
    options = admin.cluster.firewall.options
    before = options.get()
    options.put(policy_forward="DROP", digest=before["digest"])
    after = options.get()
    assert after["policy_forward"] == "DROP" and after["digest"] != before["digest"]
    assert fails(lambda: options.put(policy_in="REJECT", digest=before["digest"])).content == modified
    assert fails(lambda: options.put(delete="frobnicate")).errors == {
        "delete": "no such option 'frobnicate'"}
    options.put(delete="policy_forward")
    assert {m["macro"] for m in admin.cluster.firewall.macros.get()} >= {"SSH", "HTTPS", "DNS"}


def test_firewall_permissions_are_pves(lab: LabInstance, admin: ProxmoxAPI, cts: dict[str, Any],
                                       fails: Fails) -> None:
    admin.access.users.post(userid="fwaudit@pve")
    secret = admin.access.users("fwaudit@pve").token("ro").post(privsep=1)["value"]
    token = ProxmoxAPI("127.0.0.1", port=lab.port, user="fwaudit@pve", token_name="ro",
                       token_value=secret, verify_ssl=str(lab.cert))
    vmid = cts["a1"].vmid
    guest = token.nodes("pve1").lxc(vmid).firewall
    assert token.cluster.firewall.groups.get() is not None  # listing groups is open to all
    denied = [
        (token.cluster.firewall.rules.get, "(/, Sys.Audit)"),
        (guest.options.get, f"(/vms/{vmid}, VM.Audit)"),
    ]
    for call, what in denied:
        err = fails(call)
        assert (err.status_code, err.content) == (403, f"Permission check failed {what}")
    admin.access.acl.put(path="/", roles="PVEAuditor", users="fwaudit@pve", tokens="fwaudit@pve!ro")
    assert token.cluster.firewall.rules.get() == []
    assert "digest" in guest.options.get()
    writes = [
        (lambda: token.cluster.firewall.rules.post(type="in", action="DROP"), "(/, Sys.Modify)"),
        (lambda: token.cluster.firewall.groups.post(group="nope"), "(/, Sys.Modify)"),
        (lambda: guest.options.put(enable=1), f"(/vms/{vmid}, VM.Config.Network)"),
        (lambda: guest.rules.post(type="in", action="ACCEPT"), f"(/vms/{vmid}, VM.Config.Network)"),
    ]
    for call, what in writes:
        err = fails(call)
        assert (err.status_code, err.content) == (403, f"Permission check failed {what}")
    missing = fails(lambda: admin.nodes("pve1").qemu(vmid).firewall.options.get())
    assert missing.content == f"Configuration file 'nodes/pve1/qemu-server/{vmid}.conf' does not exist"


# IP sets and aliases


def test_ipsets_and_aliases_with_pves_formats_and_errors(admin: ProxmoxAPI, fails: Fails,
                                                         modified: str) -> None:
    ipsets, aliases = admin.cluster.firewall.ipset, admin.cluster.firewall.aliases
    assert fails(lambda: ipsets.post(name="1st")).errors == {
        "name": "value does not match the regex pattern"}
    assert fails(lambda: ipsets.post(name="x")).status_code == 400  # under PVE's 2 characters
    ipsets.post(name="vabt", comment="Abrantes")
    assert fails(lambda: ipsets.post(name="vabt")).errors == {"name": "IPSet 'vabt' already exists"}
    [listed] = [s for s in ipsets.get() if s["name"] == "vabt"]
    assert listed["comment"] == "Abrantes" and len(listed["digest"]) == 40

    entries = ipsets("vabt")
    entries.post(cidr="10.101.0.7/24")  # host bits cleared, as PVE's clean_cidr
    entries.post(cidr="10.101.0.9/32", nomatch=1, comment="not this one")
    assert [(e["cidr"], e.get("nomatch")) for e in entries.get()] == [
        ("10.101.0.9", 1), ("10.101.0.0/24", None)]  # newest first, /32 dropped
    assert fails(lambda: entries.post(cidr="10.101.0.0/24")).errors == {
        "cidr": "address '10.101.0.0/24' already exists"}
    assert fails(lambda: entries.post(cidr="0.0.0.0/0")).errors == {
        "cidr": "a zero prefix is not allowed in ipset entries"}
    assert fails(lambda: entries.post(cidr="10.101.0.300")).errors == {
        "cidr": "invalid format - value does not look like a valid IP address or CIDR network\n"}
    assert fails(lambda: entries.post(cidr="10.101.0.0/33")).errors == {
        "cidr": "invalid format - Invalid prefix length /33\n"}
    assert fails(lambda: entries.post(cidr="office")).content == "no such alias 'office'"
    assert entries("10.101.0.0%2F24").get()["cidr"] == "10.101.0.0/24"
    digest = entries.get()[0]["digest"]
    entries("10.101.0.9").put(comment="renumbered", digest=digest)
    assert fails(lambda: entries("10.101.0.9").put(digest=digest)).content == modified
    assert fails(lambda: entries("10.9.9.9").get()).errors == {"cidr": "no such IP/Network"}

    rules = admin.cluster.firewall.rules
    assert fails(lambda: rules.post(type="forward", action="ACCEPT", source="+vcnt")).errors == {
        "source": "no such ipset 'vcnt'"}
    assert fails(lambda: rules.post(type="forward", action="ACCEPT", dest="gis")).errors == {
        "dest": "no such alias 'gis'"}
    aliases.post(name="GIS", cidr="10.30.0.12/32", comment="cim-medio-tejo-gis")
    assert fails(lambda: aliases.post(name="gis", cidr="10.30.0.13")).errors == {
        "name": "alias 'gis' already exists"}  # names are case-insensitive
    assert aliases("gis").get() == {"name": "GIS", "cidr": "10.30.0.12", "ipversion": 4,
                                    "comment": "cim-medio-tejo-gis"}
    assert fails(lambda: aliases.post(name="bad", cidr="10.30.0.")).errors == {
        "cidr": "invalid format - value does not look like a valid IP address or CIDR network\n"}
    rules.post(type="forward", action="ACCEPT", source="+vabt", dest="gis", proto="tcp", dport="443")
    assert rules(0).get()["ipversion"] == 4  # from the alias
    entries.post(cidr="gis")  # an alias as an entry
    assert fails(lambda: ipsets("vabt").delete()).content == "IPSet 'vabt' is not empty"
    aliases("gis").put(cidr="10.30.0.14", rename="gis-server", digest=aliases.get()[0]["digest"])
    assert [a["name"] for a in aliases.get()] == ["gis-server"]
    assert fails(lambda: aliases("gis").get()).errors == {"name": "no such alias"}
    rules(0).delete()
    ipsets.post(name="municipios", rename="vabt", digest=ipsets.get()[0]["digest"])
    assert fails(lambda: ipsets("vabt").get()).content == "no such IPSet 'vabt'"
    ipsets("municipios").delete(force=1)
    aliases("gis-server").delete()
    assert ipsets.get() == [] and aliases.get() == []


# what the table enforces between real guests


def test_vnets_are_isolated_until_a_cluster_forward_rule_opens_one_port(
        lab: LabInstance, admin: ProxmoxAPI, guest_ssh: Any, nets: dict[str, IPv4Network],
        listening: dict[str, Any], canary: Callable[[], str]) -> None:
    a1, a2, b1 = listening["a1"], listening["a2"], listening["b1"]
    untouched = canary()
    assert guest_ssh.opens(a2.ip, a1.ip, 7100)  # same VNet
    assert not guest_ssh.opens(a2.ip, b1.ip, 7100)  # across VNets: isolated by default

    rules = admin.cluster.firewall.rules
    rules.post(type="forward", action="ACCEPT", source=str(nets["vfa"]), dest=b1.ip, proto="tcp",
               dport="7100", enable=1, comment="A to B portal")
    assert not guest_ssh.opens(a2.ip, b1.ip, 7100)  # the datacenter firewall is still off
    assert not any("A to B portal" in json.dumps(r) for r in rules_of(lab, "lab_forward"))

    admin.cluster.firewall.options.put(enable=1)
    try:
        [allow] = [r for r in rules_of(lab, "lab_forward") if r.get("comment") == "A to B portal"]
        assert {"accept": None} in allow["expr"]
        assert guest_ssh.opens(a2.ip, b1.ip, 7100)
        assert not guest_ssh.opens(a2.ip, b1.ip, 7101)  # that port only
        assert not guest_ssh.opens(b1.ip, a1.ip, 7100)  # and that direction only
        rules(0).put(action="REJECT", digest=rules.get()[0]["digest"])
        assert not guest_ssh.opens(a2.ip, b1.ip, 7100)
    finally:
        admin.cluster.firewall.options.put(enable=0)
        rules(0).delete()
    assert canary() == untouched


def test_a_vnet_firewall_filters_what_crosses_its_bridge(
        lab: LabInstance, admin: ProxmoxAPI, guest_ssh: Any, fails: Fails,
        listening: dict[str, Any], canary: Callable[[], str]) -> None:
    a1, a2 = listening["a1"], listening["a2"]
    untouched = canary()
    fw = admin.cluster.sdn.vnets("vfa").firewall
    assert fw.get() == [{"name": "rules"}, {"name": "options"}]
    assert fails(lambda: fw.rules.post(type="in", action="ACCEPT", enable=1)).errors == {
        "type": "rule type 'in' is not allowed for vnet rules"}
    assert "sdn vnet 'vfnone' does not exist" in str(
        fails(lambda: admin.cluster.sdn.vnets("vfnone").firewall.options.get()))
    fw.rules.post(type="forward", action="ACCEPT", proto="tcp", dport="7100", enable=1)
    fw.options.put(enable=1, policy_forward="DROP", digest=fw.options.get()["digest"])
    assert guest_ssh.opens(a2.ip, a1.ip, 7101)  # the datacenter firewall is still off
    admin.cluster.firewall.options.put(enable=1)
    try:
        assert guest_ssh.opens(a2.ip, a1.ip, 7100)  # the VNet's rule, bridged traffic
        assert not guest_ssh.opens(a2.ip, a1.ip, 7101)  # its policy_forward
        fw.options.put(enable=0)
        assert guest_ssh.opens(a2.ip, a1.ip, 7101)
    finally:
        admin.cluster.firewall.options.put(enable=0)
        fw.options.put(delete="enable,policy_forward")
        fw.rules(0).delete()
    assert fw.rules.get() == [] and canary() == untouched


def test_rules_naming_ipsets_and_aliases_open_what_they_hold(
        lab: LabInstance, admin: ProxmoxAPI, guest_ssh: Any, nets: dict[str, IPv4Network],
        listening: dict[str, Any], canary: Callable[[], str]) -> None:
    a1, a2, b1 = listening["a1"], listening["a2"], listening["b1"]
    untouched = canary()
    ipsets, aliases, rules = (admin.cluster.firewall.ipset, admin.cluster.firewall.aliases,
                              admin.cluster.firewall.rules)
    ipsets.post(name="vfa")
    ipsets("vfa").post(cidr=str(nets["vfa"]))
    ipsets("vfa").post(cidr=a2.ip, nomatch=1)  # all of A but a2
    aliases.post(name="b-portal", cidr=b1.ip)
    rules.post(type="forward", action="ACCEPT", source="+vfa", dest="b-portal", proto="tcp",
               dport="7100", enable=1, comment="A to B portal")
    guest = admin.nodes("pve1").lxc(a1.vmid).firewall
    guest.ipset.post(name="ipfilter-net0")
    guest.ipset("ipfilter-net0").post(cidr=str(nets["vfa"][50]))
    guest.options.put(enable=1, policy_in="ACCEPT", ipfilter=1)
    admin.cluster.firewall.options.put(enable=1)
    try:
        assert guest_ssh.opens(a1.ip, b1.ip, 7100)
        assert not guest_ssh.opens(a2.ip, b1.ip, 7100)  # its nomatch entry
        assert not guest_ssh.opens(a1.ip, b1.ip, 7101)
        bridge = subprocess.run(["nft", "list", "table", "bridge", lab.nft_table], capture_output=True,
                                text=True, check=True).stdout
        allowed = sorted([a1.ip, str(nets["vfa"][50])], key=lambda a: tuple(map(int, a.split("."))))
        assert f"ip saddr != {{ {allowed[0]}, {allowed[1]} }}" in bridge  # its own and its set's
        ipsets("vfa")(str(nets["vfa"]).replace("/", "%2F")).delete()
        assert not guest_ssh.opens(a1.ip, b1.ip, 7100)  # the set holds no match any more
    finally:
        admin.cluster.firewall.options.put(enable=0)
        guest.options.put(delete="enable,policy_in,ipfilter")
        guest.ipset("ipfilter-net0").delete(force=1)
        rules(0).delete()
        ipsets("vfa").delete(force=1)
        aliases("b-portal").delete()
    assert canary() == untouched


def test_a_guest_firewall_keeps_ssh_and_drops_the_rest_until_disabled(
        lab: LabInstance, admin: ProxmoxAPI, guest_ssh: Any, listening: dict[str, Any],
        canary: Callable[[], str]) -> None:
    a1, a2 = listening["a1"], listening["a2"]
    untouched = canary()
    fw = admin.nodes("pve1").lxc(a1.vmid).firewall
    admin.cluster.firewall.options.put(enable=1)
    try:
        fw.rules.post(type="in", action="ACCEPT", macro="SSH", enable=1)
        fw.options.put(enable=1, policy_in="DROP", digest=fw.options.get()["digest"])
        assert {f"guest_{a1.vmid}_in", f"guest_{a1.vmid}_out"} <= table(lab)["chains"]
        assert guest_ssh.opens(a2.ip, a1.ip, 22)
        assert not guest_ssh.opens(a2.ip, a1.ip, 7100)  # same VNet, yet filtered
        assert guest_ssh.opens(a1.ip, a2.ip, 7100)  # policy_out stays ACCEPT

        admin.cluster.firewall.groups.post(group="portal")
        admin.cluster.firewall.groups("portal").post(type="in", action="ACCEPT", proto="tcp",
                                                     dport="7100", enable=1)
        fw.rules.post(type="group", action="portal", enable=1)
        assert guest_ssh.opens(a2.ip, a1.ip, 7100)  # the group's rule, in place
        assert not guest_ssh.opens(a2.ip, a1.ip, 7101)
        subprocess.run(["nft", "delete", "table", "inet", lab.nft_table], check=True)
        with Store(lab.db) as store:  # what `lab up` does: the table comes back from the state
            sdn_apply.realise(store, lab, lambda line: None)
        assert not guest_ssh.opens(a2.ip, a1.ip, 7101) and guest_ssh.opens(a2.ip, a1.ip, 7100)

        listed = fw.rules.get()
        fw.rules(0).delete(digest=listed[0]["digest"])  # the group reference
        fw.rules(0).delete()  # SSH
        assert not guest_ssh.opens(a2.ip, a1.ip, 22)  # policy_in DROP, nothing accepted
        fw.options.put(enable=0)
        assert f"guest_{a1.vmid}_in" not in table(lab)["chains"]
        assert guest_ssh.opens(a2.ip, a1.ip, 7100) and guest_ssh.opens(a2.ip, a1.ip, 22)
    finally:
        admin.cluster.firewall.options.put(enable=0)
        for rule in reversed(fw.rules.get()):
            fw.rules(rule["pos"]).delete()
        portal = admin.cluster.firewall.groups("portal")
        for rule in reversed(portal.get()):
            portal(rule["pos"]).delete()
        portal.delete()
    assert canary() == untouched


def test_guest_rules_follow_its_address_and_go_with_it(
        lab: LabInstance, admin: ProxmoxAPI, guest_ssh: Any, listening: dict[str, Any],
        nets: dict[str, IPv4Network], wait_task: WaitTask, create_ct: Callable[..., Any]) -> None:
    a1, net = listening["a1"], nets["vfa"]
    first, upid = create_ct(9303, "vfa", net, 12, gw=False, firewall=True,
                            hostname="fw9303.lab.test", swap=64, start=1)
    assert wait_task(admin, upid)["exitstatus"] == "OK"
    ct = admin.nodes("pve1").lxc(9303)
    moved = replace(first, ip=str(net[13]))
    admin.cluster.firewall.options.put(enable=1)
    try:
        assert guest_ssh.opens(a1.ip, first.ip, 22)
        ct.firewall.options.put(enable=1, policy_in="DROP")
        assert not guest_ssh.opens(a1.ip, first.ip, 22)
        net0 = ct.config.get()["net0"]
        ct.config.put(net0=net0.replace(f"ip={net[12]}/", f"ip={moved.ip}/"))
        assert not guest_ssh.opens(a1.ip, moved.ip, 22)  # the DROP policy followed the new address
        assert wait_task(admin, ct.status.stop.post())["exitstatus"] == "OK"
        assert wait_task(admin, ct.delete(purge=1))["exitstatus"] == "OK"
        assert "guest_9303_in" not in table(lab)["chains"]
        with Store(lab.db) as store:
            assert store.get_object("firewall", "9303") is None
    finally:
        admin.cluster.firewall.options.put(enable=0)


@pytest.mark.parametrize("version", [v8, v9], ids=["pve8", "pve9"])
def test_responses_validate_against_pve_schema(lab: LabInstance, creds: dict[str, Any],
                                               admin: ProxmoxAPI, cts: dict[str, Any],
                                               version: Any) -> None:
    vmid = cts["a2"].vmid
    fw = admin.nodes("pve1").lxc(vmid).firewall
    if not fw.rules.get():  # content for both versions: a rule of each kind, an option
        admin.cluster.firewall.groups.post(group="schema", comment="fidelity")
        admin.cluster.firewall.groups("schema").post(type="in", action="ACCEPT", macro="Ping",
                                                     source="10.9.0.0/16", log="info")
        fw.rules.post(type="out", action="REJECT", proto="udp", sport="53", iface="net0")
        fw.options.put(policy_in="REJECT", macfilter=0)
    typed = version.ProxmoxAPI("127.0.0.1", port=lab.port, user=creds["username"],
                               password=creds["password"], verify_ssl=str(lab.cert))
    guest = typed.nodes("pve1").lxc(vmid).firewall
    for get in (guest.get, guest.options.get, guest.rules.get, guest.rules(0).get,
                typed.cluster.firewall.groups("schema").get,
                typed.cluster.firewall.groups("schema")(0).get):
        get.model()
    assert guest.options.get.model().policy_in == "REJECT"
    assert typed.cluster.firewall.groups("schema")(0).get.model().ipversion == 4
