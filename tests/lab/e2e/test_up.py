"""`partilha up --env lab` end to end on a throwaway lab: bad input stops before any API call;
`up` realises every guest of the inventory, each answering SSH with its pinned host key, the
municipalities' guests made with their own tokens; a second `up` changes and writes nothing;
`partilha probe` finds exactly the flows the inventory declares (written out by hand here), from
every guest and from the management network, and a forward rule and an IP set entry removed
behind the platform's back until `refresh` finds them and `up` puts them back;
a guest sending from another guest's address is dropped (`ipfilter`);
`refresh` reports a change made behind its back and `up` puts it back; adding, removing or
resizing services moves and re-makes no other guest, a pin migrates a guest with its data, a data
guest dropped from the inventory (or a whole municipality) stays until unprotected, and then goes
before its network; `destroy` asks first, then leaves the lab without a guest. One `up` serves
every assertion after it (the tests run in order); test_frontdoor takes the env that `up` made
first (conftest.WholeLab), and this module ends it. Bad input is tried on an env of its own, where
nothing was made yet.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest
import yaml
from proxmoxer import ProxmoxAPI

from partilha.automation import project
from partilha.inventory import PlacedGuest, guests, load_inventory
from partilha.lab.instance import LabInstance
from partilha.lab.machine.lxc import containers
from partilha.proxmox.client import Pve
from partilha.proxmox.token_store import TokenStore
from partilha.workspace import Workspace

from .conftest import GUEST_TYPE, ROOT, Cli, Up, WholeLab, lab_vmids, own_lab_cli

pytestmark = pytest.mark.lab
Guests = dict[str, PlacedGuest]


@pytest.fixture(scope="module")
def shared(whole_lab: WholeLab) -> Iterator[tuple[Cli, Up]]:
    try:
        yield whole_lab.get()
    finally:
        whole_lab.close()  # changed and destroyed here: nobody can take it after


@pytest.fixture(scope="module")
def cli(shared: tuple[Cli, Up]) -> Cli:
    return shared[0]


@pytest.fixture(scope="module")
def first_up(shared: tuple[Cli, Up]) -> Up:
    return shared[1]


@pytest.fixture(scope="module")
def lab(cli: Cli) -> LabInstance:
    return cli.lab


@pytest.fixture
def unmade(tmp_path_factory: pytest.TempPathFactory,
           subnet_pool: Callable[[int], list[IPv4Network]]) -> Iterator[Cli]:
    """A lab env nothing was made in yet, on a lab of its own."""
    with own_lab_cli(tmp_path_factory.mktemp("unmade"), subnet_pool) as made:
        yield made


@pytest.fixture(scope="module")
def expected(cli: Cli) -> Guests:
    return {g.name: g for g in guests(cli.inventory)}


def _ok(run: subprocess.CompletedProcess[str]) -> None:
    assert run.returncode == 0, f"{run.args}: {run.stderr}\n{run.stdout[-3000:]}"


def _one_clear_error(run: subprocess.CompletedProcess[str], code: int, words: str) -> None:
    assert run.returncode == code, run.stdout + run.stderr
    assert words in run.stderr and "Traceback" not in run.stdout + run.stderr


def test_bad_input_stops_before_any_api_call(unmade: Cli, tmp_path: Path) -> None:
    cli = unmade
    since = cli.mark()
    # a real copy: the case's other files are symlinks to ../valid/, which an inventory refuses
    case = shutil.copytree(ROOT / "tests" / "data" / "duplicate-slug", tmp_path / "duplicate-slug")
    invalid = cli("up", "--env", "broken", "--inventory", str(case))
    _one_clear_error(invalid, 2, "invalid inventory")
    assert "municipalities.yaml" in invalid.stderr
    _one_clear_error(cli("up", "--only", "lisboa"), 1, "--only lisboa: env lab has no such stack")
    _one_clear_error(cli("up", "--only", "abrantes"), 1, "no API token 'lab-abrantes' in the token store")
    assert cli.calls(since) == []
    closed = cli("up", "--only", "platform", PROXMOX_VE_ENDPOINT="https://127.0.0.1:9/")  # nobody there
    _one_clear_error(closed, 1, "lab-platform: the Proxmox VE API at https://127.0.0.1:9 does not answer")
    # a municipality's token the API does not know (the lab was made again): what makes a new one
    tokens = TokenStore(cli.home / ".partilha" / "tokens")
    tokens.write("lab-abrantes", f"abrantes@pve!partilha={'0' * 8}-0000-0000-0000-{'0' * 12}")
    refused = cli("up", "--only", "abrantes")
    tokens.remove("lab-abrantes")
    _one_clear_error(refused, 1, "refused token abrantes@pve!partilha: 401")
    assert "`partilha up --env lab --only platform` makes it anew" in refused.stderr


def test_up_realises_every_guest_reachable_with_its_pinned_host_key(
        cli: Cli, first_up: Up, lab: LabInstance, expected: Guests) -> None:
    _ok(first_up.run)
    made: dict[str, dict[str, object]] = {}
    for tenant in ["shared", *(m.slug for m in cli.inventory.municipalities)]:
        made.update(cli.outputs(f"lab-{tenant}")["guests"])
    assert {n: (g["vmid"], g["address"]) for n, g in made.items()} == {
        n: (g.vmid, str(g.address.ip if g.address else None)) for n, g in expected.items()}
    key = cli.home / ".partilha" / "ssh" / "id_ed25519"

    def hostname(address: object) -> str:
        return subprocess.run(
            ["ssh", "-F", "/dev/null", "-i", str(key), "-o", "StrictHostKeyChecking=yes",
             "-o", f"UserKnownHostsFile={lab.known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
             "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", f"root@{address}", "hostname"],
            capture_output=True, text=True, timeout=60, check=False).stdout.strip()

    with ThreadPoolExecutor(4) as pool:
        answered = dict(zip(made, pool.map(hostname, (g["address"] for g in made.values())), strict=True))
    assert all(answered.values()), {n: h for n, h in answered.items() if not h}
    table = first_up.run.stdout
    assert "SSH: partilha ssh GUEST [-- COMMAND]" in table  # how to reach one
    for name, guest in made.items():  # the summary shows each guest and where it is
        row = rf"^{name}\s+{guest['service']}\s+{guest['node']}\s+{re.escape(str(guest['address']))}\s*$"
        assert re.search(row, table, re.MULTILINE), name


def test_partilha_ssh_logs_into_a_guest_with_the_pinned_host_key(cli: Cli, first_up: Up) -> None:
    _ok(first_up.run)
    done = cli("ssh", "abrantes-portal", "--", "hostname")
    _ok(done)
    assert done.stdout.strip() == "abrantes-portal"
    fed = cli("ssh", "abrantes-portal", "--", "sh", "-s", stdin="echo fed; hostname\n")  # a script on stdin
    _ok(fed)
    assert fed.stdout.split() == ["fed", "abrantes-portal"]
    _one_clear_error(cli("ssh", "abrantes-portl"), 1, "no guest 'abrantes-portl' in env lab")
    known_hosts = cli.lab.known_hosts
    address = cli.outputs("lab-abrantes")["guests"]["abrantes-portal"]["address"]
    pinned = known_hosts.read_text()
    try:  # its key no longer pinned: refused by name, never learnt
        known_hosts.write_text("".join(line + "\n" for line in pinned.splitlines()
                                       if line.split()[:1] != [address]))
        _one_clear_error(cli("ssh", "abrantes-portal", "--", "true"), 1, "no host key pinned for it")
    finally:
        known_hosts.write_text(pinned)


def test_municipality_guests_are_made_with_their_own_token(
        cli: Cli, first_up: Up, lab: LabInstance, expected: Guests) -> None:
    _ok(first_up.run)
    admin = json.loads(lab.credentials.read_text())["token_id"]
    calls = first_up.calls
    for guest in (g for g in expected.values() if not g.shared):
        # its config calls name it in the path, its tasks in the UPID (which the task calls carry)
        touching = [e for e in calls if f"/lxc/{guest.vmid}" in e.path or f":{guest.vmid}:" in e.path]
        assert touching, guest.name
        callers = {e.caller for e in touching}
        assert admin not in callers and all(guest.tenant in c for c in callers), (guest.name, callers)


def test_a_second_up_changes_and_writes_nothing(cli: Cli, first_up: Up) -> None:
    _ok(first_up.run)
    since = cli.mark()
    again = cli("up", "--env", "lab")
    _ok(again)
    assert "— 0 changes" in again.stdout
    assert [f"{e.method} {e.path}" for e in cli.calls(since) if e.write] == []


# What each guest of a tenant reaches on the lab inventory (its declared flows are the default),
# written out by hand: its own tenant's guests on their services' ports, the CIM's services
# from every municipality, and the front door (public) from everyone, the outside and the
# management network included; the front door reaches each portal and public shared service on
# 443; management reaches every guest's SSH. Everything else probed (SSH between guests, 3306,
# 8080, the lab host from outside, ...) is filtered. A guest never probes itself.
PUBLIC = "cim-medio-tejo-frontdoor:80 cim-medio-tejo-frontdoor:443"
REACHES = {
    "abrantes": "abrantes-portal:80 abrantes-portal:443 abrantes-dms:443 abrantes-einvoice:443 "
                "abrantes-crm:443 abrantes-intranet:443 "
                f"cim-medio-tejo-eprocurement:443 cim-medio-tejo-gis:443 {PUBLIC}",
    "constancia": "constancia-portal:80 constancia-portal:443 constancia-dms:443 "
                  "constancia-einvoice:443 constancia-intranet:443 "
                  f"cim-medio-tejo-eprocurement:443 cim-medio-tejo-gis:443 {PUBLIC}",
    "ferreira-do-zezere": "ferreira-do-zezere-portal:80 ferreira-do-zezere-portal:443 "
                          "ferreira-do-zezere-dms:443 ferreira-do-zezere-crm:443 "
                          "ferreira-do-zezere-intranet:443 "
                          f"cim-medio-tejo-eprocurement:443 cim-medio-tejo-gis:443 {PUBLIC}",
    "cim-medio-tejo": f"cim-medio-tejo-eprocurement:443 cim-medio-tejo-gis:443 {PUBLIC}",
    "dmz": "abrantes-portal:443 constancia-portal:443 ferreira-do-zezere-portal:443 "
           "cim-medio-tejo-eprocurement:443 cim-medio-tejo-gis:443",
    "outside": PUBLIC,
    "management": PUBLIC,  # and SSH to every guest
}


def _by_hand(expected: Guests) -> set[tuple[str, str, int]]:
    out = {("management", guest, 22) for guest in expected}  # SSH from management to every guest
    sources = [(g.name, "dmz" if g.service == "frontdoor" else g.tenant) for g in expected.values()]
    for name, key in [*sources, ("outside", "outside"), ("management", "management")]:
        for word in REACHES[key].split():
            target, _, port = word.partition(":")
            if target != name:
                out.add((name, target, int(port)))
    return out


def test_probe_finds_exactly_the_declared_flows_and_a_removed_rule_until_up_puts_it_back(
        cli: Cli, first_up: Up, admin_token: ProxmoxAPI, expected: Guests) -> None:
    _ok(first_up.run)
    probed = cli("probe", "--env", "lab", "--json")
    _ok(probed)
    found = json.loads(probed.stdout)
    assert found["ports"] == [22, 80, 443, 3306, 8080]
    # every guest to every other, management and the outside to every guest, and the outside to
    # the lab host's SSH and API
    assert len(found["pairs"]) == len(expected) * (len(expected) - 1) * 5 + 2 * len(expected) * 5 + 2
    observed = {(p["from"], p["to"], p["port"]): p["observed"] for p in found["pairs"]}
    assert {k for k, seen in observed.items() if seen == "open"} == _by_hand(expected)
    assert {seen for seen in observed.values() if seen != "open"} == {"filtered"}
    assert found["unexpected"] == []
    assert (cli.home / ".partilha" / "reports" / "lab" / "probe.json").is_file()

    rules, vfzz = admin_token.cluster.firewall.rules, admin_token.cluster.firewall.ipset("vfzz")
    declared = rules.get()
    (pos,) = [r["pos"] for r in declared if r.get("comment") == "flow abrantes -> cim-medio-tejo-gis"]
    rules(pos).delete()  # by hand, behind the platform stack's back
    (prefix,) = [e["cidr"] for e in vfzz.get()]
    vfzz(prefix.replace("/", "%2F")).delete()  # Ferreira do Zêzere's VNet leaves its IP set
    broken = cli("probe", "--env", "lab")
    assert broken.returncode == 1 and "Traceback" not in broken.stderr, broken.stderr
    for guest in ("abrantes-portal", "abrantes-dms", "abrantes-intranet"):
        assert f"{guest} -> cim-medio-tejo-gis:443 expected open, observed filtered" in broken.stderr
    for guest in ("ferreira-do-zezere-portal", "ferreira-do-zezere-intranet"):
        for service in ("eprocurement", "gis"):
            assert f"{guest} -> cim-medio-tejo-{service}:443 expected open, observed filtered" in (
                broken.stderr)
    assert "constancia" not in broken.stderr and "abrantes-portal -> ferreira" not in broken.stderr
    found_drift = cli("refresh", "--env", "lab", "--only", "platform")
    _ok(found_drift)
    assert "datacenter-rules" in found_drift.stdout and "ipset-vfzz" in found_drift.stdout
    _ok(cli("up", "--env", "lab", "--only", "platform"))
    assert [{k: v for k, v in r.items() if k != "digest"} for r in rules.get()] == [
        {k: v for k, v in r.items() if k != "digest"} for r in declared]
    assert [e["cidr"] for e in vfzz.get()] == [prefix]


def _ipfilter_drops(lab: LabInstance, vmid: int) -> int:
    """Packets the lab's bridge table dropped for guest `vmid` claiming another address."""
    listed = subprocess.run(["nft", "-j", "list", "table", "bridge", lab.nft_table], capture_output=True,
                            text=True, timeout=30, check=True).stdout
    rules = [item["rule"] for item in json.loads(listed)["nftables"] if "rule" in item]
    return sum(e["counter"]["packets"] for r in rules if r.get("comment") == f"guest {vmid} ipfilter"
               for e in r["expr"] if "counter" in e)


def test_a_guest_sending_from_another_guests_address_is_dropped(
        cli: Cli, first_up: Up, admin_token: ProxmoxAPI, expected: Guests) -> None:
    _ok(first_up.run)
    spy, victim = expected["abrantes-dms"], expected["abrantes-portal"]
    service = expected["cim-medio-tejo-gis"]
    assert admin_token.nodes(spy.node).lxc(spy.vmid).firewall.options.get()["ipfilter"] == 1
    assert _ipfilter_drops(cli.lab, spy.vmid) == 0  # its own traffic (the probe's too) passes
    address, target = str(victim.address.ip), str(service.address.ip)  # type: ignore[union-attr]
    pose = (f"ip address add {address}/32 dev eth0 && python3 -c \"import socket; s = socket.socket(); "
            f"s.settimeout(2); s.bind(('{address}', 0)); print(s.connect_ex(('{target}', 443)))\"; "
            f"ip address del {address}/32 dev eth0")
    posed = cli("ssh", "abrantes-dms", "--", pose)
    _ok(posed)
    assert posed.stdout.strip() != "0"  # no connection as abrantes-portal
    assert _ipfilter_drops(cli.lab, spy.vmid) > 0


def test_refresh_reports_drift_and_up_puts_it_back(
        cli: Cli, first_up: Up, admin_token: ProxmoxAPI, expected: Guests) -> None:
    _ok(first_up.run)
    guest = expected["abrantes-portal"]
    config = admin_token.nodes(guest.node).lxc(guest.vmid).config
    declared = int(config.get()["memory"])
    config.put(memory=declared + 128)  # by hand, behind the stack's back
    found = cli("refresh", "--env", "lab", "--only", "abrantes")
    _ok(found)
    assert "abrantes-portal" in found.stdout and "memory" in found.stdout
    assert f"{declared}" in found.stdout and f"{declared + 128}" in found.stdout
    _ok(cli("up", "--env", "lab", "--only", "abrantes"))
    assert int(config.get()["memory"]) == declared


def test_a_guest_deleted_or_a_rule_opened_behind_its_back_is_put_back_by_up(
        cli: Cli, first_up: Up, admin_token: ProxmoxAPI, expected: Guests) -> None:
    """`up` reads the municipality's resources back first (with its own token, which gets 403 for
    a guest no longer in its pool): a protected data guest deleted through the API is made again
    with its firewall, and a rule added by hand to another guest's firewall is taken out."""
    _ok(first_up.run)
    deleted, opened = expected["abrantes-dms"], expected["abrantes-portal"]
    assert deleted.vmid is not None and opened.vmid is not None
    pve = Pve(admin_token)
    doomed = f"/nodes/{deleted.node}/lxc/{deleted.vmid}"
    rules = f"/nodes/{opened.node}/lxc/{opened.vmid}/firewall/rules"

    def firewall(path: str) -> tuple[Any, list[tuple[str, str, int]]]:
        return (pve.get(f"{path}/options")["enable"],
                [(r["type"], r["action"], int(r.get("enable", 0))) for r in pve.get(f"{path}/rules")])

    was = firewall(f"{doomed}/firewall"), firewall(rules.removesuffix("/rules"))
    pve.call("POST", rules, type="in", action="ACCEPT", proto="tcp", dport="23", enable=1)
    pve.run("POST", f"{doomed}/status/stop")
    pve.run("DELETE", doomed, purge=1)
    assert deleted.vmid not in lab_vmids(admin_token)
    again = cli("up", "--env", "lab", "--only", "abrantes")
    _ok(again)
    for made in ("Guest abrantes-dms created", "GuestFirewall abrantes-dms-firewall created"):
        assert made in again.stdout, again.stdout
    assert deleted.vmid in lab_vmids(admin_token)
    assert (firewall(f"{doomed}/firewall"), firewall(rules.removesuffix("/rules"))) == was


# -- placement and protection: each test changes the inventory copy the stacks read ------------
def _inventory(cli: Cli) -> Path:
    config = yaml.safe_load((cli.project / "Pulumi.lab-platform.yaml").read_text())["config"]
    return Path(config["partilha:inventory"])


def _edit(cli: Cli, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = _inventory(cli) / name
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def _municipality(data: dict[str, Any], slug: str) -> dict[str, Any]:
    return next(m for m in data["municipalities"] if m["slug"] == slug)


def _placed(api: ProxmoxAPI) -> dict[int, str]:
    """vmid -> node of every guest the lab has."""
    return {int(r["vmid"]): str(r["node"]) for r in api.cluster.resources.get(type="vm")}


def _host_keys(lab: LabInstance) -> dict[str, set[str]]:
    """address -> the host key lines the lab pinned for it (a re-made guest gets new ones)."""
    pins: dict[str, set[str]] = {}
    for line in lab.known_hosts.read_text().splitlines():
        if line.strip():
            pins.setdefault(line.split()[0], set()).add(line)
    return pins


def _guest_urn(cli: Cli, stack: str, guest: str) -> str:
    deployment = cli.pulumi("stack", "export", "--stack", stack)["deployment"]
    return next(r["urn"] for r in deployment["resources"]
                if r["type"] == GUEST_TYPE and r["urn"].endswith(f"::{guest}"))


def _unprotect(cli: Cli, stack: str, *what: str) -> None:
    env = {**cli.env, **project.run_env(Workspace(cli.home))}
    subprocess.run([str(ROOT / ".tools" / "bin" / "pulumi"), "state", "unprotect", "--yes", "--stack",
                    stack, *what], cwd=cli.project, env=env, capture_output=True, text=True,
                   timeout=120, check=True)


def test_adding_removing_or_resizing_a_service_moves_and_remakes_no_other_guest(
        cli: Cli, first_up: Up, lab: LabInstance, admin_token: ProxmoxAPI, expected: Guests) -> None:
    _ok(first_up.run)
    before, keys = _placed(admin_token), _host_keys(lab)
    gis = expected["cim-medio-tejo-gis"]

    def change(data: dict[str, Any]) -> None:
        _municipality(data, "ferreira-do-zezere")["services"]["einvoice"] = None  # upstream of 4 guests
        _municipality(data, "abrantes")["services"]["dms"]["memory_mib"] = 1280  # the first tenant
        del data["shared"]["services"]["gis"]  # public data: not protected

    _edit(cli, "municipalities.yaml", change)
    done = cli("up", "--env", "lab")
    _ok(done)
    assert "replaced" not in done.stdout and "Guest ferreira-do-zezere-einvoice created" in done.stdout
    after = _placed(admin_token)
    kept = {vmid: node for vmid, node in before.items() if vmid != gis.vmid}
    assert {vmid: after.get(vmid) for vmid in kept} == kept and gis.vmid not in after
    assert len(after) == len(before)  # gis gone, Ferreira's einvoice made
    assert all(_host_keys(lab)[address] == pins for address, pins in keys.items()
               if address != str(gis.address.ip if gis.address else ""))
    # the inventory's placement has shifted under guests that stayed: a rebalance would move them
    moved = {g.name for g in guests(load_inventory(_inventory(cli))) if after[g.vmid or 0] != g.node}
    assert moved
    shown = cli("preview", "--env", "lab", "--rebalance")
    _ok(shown)
    assert set(re.findall(r"Guest ([a-z0-9-]+)\b[^\n]* to update", shown.stdout)) == moved


def test_pinning_another_node_migrates_the_guest_with_its_data_and_host_keys(
        cli: Cli, first_up: Up, lab: LabInstance, admin_token: ProxmoxAPI, expected: Guests) -> None:
    _ok(first_up.run)
    guest = expected["abrantes-einvoice"]  # personal data: protected, and still free to move
    assert guest.vmid and guest.address
    address = str(guest.address.ip)
    source = _placed(admin_token)[guest.vmid]
    target = next(n for n in ("pve1", "pve2", "pve3") if n != source)
    ssh = ["ssh", "-F", "/dev/null", "-i", str(cli.home / ".partilha" / "ssh" / "id_ed25519"),
           "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={lab.known_hosts}",
           "-o", "GlobalKnownHostsFile=/dev/null", "-o", "BatchMode=yes", f"root@{address}"]
    wrote = subprocess.run([*ssh, "echo faturas > /root/data"], capture_output=True, text=True, timeout=60)
    assert wrote.returncode == 0, wrote.stderr
    keys = _host_keys(lab)[address]
    _edit(cli, "municipalities.yaml",
          lambda data: _municipality(data, "abrantes")["services"].update(einvoice={"node": target}))
    since = cli.mark()
    _ok(cli("up", "--env", "lab", "--only", "abrantes"))
    assert _placed(admin_token)[guest.vmid] == target
    assert cli.outputs("lab-abrantes")["guests"]["abrantes-einvoice"]["node"] == target
    migrations = [e for e in cli.calls(since) if e.path.endswith(f"/lxc/{guest.vmid}/migrate")]
    assert [(e.method, e.caller.partition("!")[0]) for e in migrations] == [("POST", "abrantes@pve")]
    kept = subprocess.run([*ssh, "cat /root/data"], capture_output=True, text=True, timeout=60)
    assert (kept.returncode, kept.stdout.strip()) == (0, "faturas"), kept.stderr
    assert _host_keys(lab)[address] == keys


def test_a_data_guest_dropped_from_the_inventory_stays_until_unprotected(
        cli: Cli, first_up: Up, admin_token: ProxmoxAPI, expected: Guests) -> None:
    _ok(first_up.run)
    crm = expected["abrantes-crm"]  # personal data
    _edit(cli, "municipalities.yaml",
          lambda data: _municipality(data, "abrantes")["services"].pop("crm"))
    since = cli.mark()
    refused = cli("up", "--env", "lab", "--only", "abrantes")
    _one_clear_error(refused, 1, "abrantes-crm")
    assert "protect" in refused.stderr and crm.vmid in _placed(admin_token)
    assert [e for e in cli.calls(since) if e.write] == []  # its firewall too is left as it is
    _unprotect(cli, "lab-abrantes", _guest_urn(cli, "lab-abrantes", "abrantes-crm"))
    _ok(cli("up", "--env", "lab", "--only", "abrantes"))
    assert crm.vmid not in _placed(admin_token)


def test_a_municipality_removed_from_the_inventory_goes_guests_first_and_nobody_else_moves(
        cli: Cli, first_up: Up, admin_token: ProxmoxAPI, expected: Guests) -> None:
    _ok(first_up.run)
    theirs = {g.vmid for g in expected.values() if g.tenant == "constancia"}
    _edit(cli, "municipalities.yaml", lambda data: data["municipalities"].remove(
        _municipality(data, "constancia")))
    _edit(cli, "networks.yaml", lambda data: data["networks"].update(vnets=[
        v for v in data["networks"]["vnets"] if v.get("municipality") != "constancia"]))
    shown = cli("preview", "--env", "lab", "--only", "constancia")
    assert "lab-constancia (not in the inventory: destroyed)" in shown.stdout
    assert "constancia-dms" in shown.stdout + shown.stderr
    before = _placed(admin_token)
    since = cli.mark()
    refused = cli("up", "--env", "lab")  # its data guests are protected: nothing else happens
    _one_clear_error(refused, 1, "its data guests are protected (constancia-dms, constancia-einvoice")
    assert "not run: lab-platform" in refused.stderr and _placed(admin_token) == before
    assert [e for e in cli.calls(since) if e.write] == []
    assert admin_token.cluster.sdn.vnets("vcnt").get()  # still under its guests
    alone = cli("up", "--env", "lab", "--only", "platform")  # the platform's program refuses too
    _one_clear_error(alone, 1, "constancia is no longer in the inventory, but its stack lab-constancia")
    assert [e for e in cli.calls(since) if e.write] == []

    _unprotect(cli, "lab-constancia", "--all")  # the operator's explicit step
    # and one destroyed with plain Pulumi already: only its stack config is left, and it goes
    sardoal = cli.project / "Pulumi.lab-sardoal.yaml"
    sardoal.write_text(yaml.safe_dump({"config": {
        "partilha:env": "lab", "partilha:inventory": "x", "partilha:tokenStore": "lab-sardoal"}}))
    since = cli.mark()
    _ok(cli("up", "--env", "lab"))
    assert not sardoal.exists()
    after = _placed(admin_token)
    assert {vmid: after.get(vmid) for vmid in before if vmid not in theirs} == {
        vmid: node for vmid, node in before.items() if vmid not in theirs}
    assert not theirs & set(after)
    deletes = [e.path for e in cli.calls(since) if e.method == "DELETE"]
    last_guest = max(i for i, path in enumerate(deletes) if any(f"/lxc/{v}" in path for v in theirs))
    assert deletes.index("/cluster/sdn/vnets/vcnt") > last_guest  # guests first, then the VNet
    assert not (cli.project / "Pulumi.lab-constancia.yaml").exists()
    assert not (cli.home / ".partilha" / "tokens" / "lab-constancia.token").exists()


def test_destroy_asks_first_then_leaves_no_guest(
        cli: Cli, first_up: Up, lab: LabInstance,
        admin_token: ProxmoxAPI) -> None:
    _ok(first_up.run)
    since = cli.mark()
    _one_clear_error(cli("destroy", "--env", "lab"), 1, "confirm with --yes")
    assert cli.calls(since) == []
    _ok(cli("destroy", "--env", "lab", "--yes"))
    assert lab_vmids(admin_token) == set()
    assert containers.list_guests(lab.prefix) == []
    assert not list((cli.home / ".partilha" / "tokens").glob("lab-*.token"))  # the tokens went too
