"""The program in stacks/ run with Pulumi's mocks, stack by stack, with the stack config partilha
writes for the lab inventory's env: the resource graph it declares (no Proxmox VE, no engine;
providers' CRUD does not run).

- every data-holding guest (personal or internal data) is in its tier's backup job, offsite too
  when the tier says so (the platform's jobs against the tenant stacks' `guests`);
- every municipality has its own VNet, and its token is granted its own pool and VNet only;
- a municipality stack declares no admin object (roles, users, ACLs, tokens, SDN, storage, backup
  jobs, firewall groups, HA) and its config names its own token store;
- guests are default-deny with only SSH from management and their service's declared ports;
- the same inventory as a production env declares the same graph without the lab's allowances;
- an invalid inventory or stack config stops the program before any resource is declared.
"""

from __future__ import annotations

import json
import runpy
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import mocks, settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from partilha.automation import envs
from partilha.inventory import guests, load_inventory

ROOT = Path(__file__).resolve().parents[2]
STACKS = ROOT / "stacks"
INVENTORY = load_inventory(ROOT / "inventories" / "lab")
GUESTS = {g.name: g for g in guests(INVENTORY)}
MUNICIPALITIES = [m.slug for m in INVENTORY.municipalities]
DYNAMIC = "pulumi-python:dynamic/proxmox:"
ADMIN_ONLY = {"Role", "User", "Acl", "ExclusiveAcl", "ApiToken", "SdnZone", "SdnVnet", "SdnSubnet",
              "SdnApply", "Storage", "BackupJob", "HaGroup", "HaResource", "SecurityGroup", "ClusterFirewall",
              "ClusterRules", "IPSet", "Alias", "VNetFirewall"}


@dataclass
class Recorder(mocks.Mocks):  # type: ignore[misc]  # pulumi's mocks are untyped
    """Records every resource the program declares; a StackReference answers `platform`."""

    platform: dict[str, Any]
    declared: list[mocks.MockResourceArgs] = field(default_factory=list)

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.declared.append(args)
        if args.typ == "pulumi:pulumi:StackReference":
            return args.name, {"name": args.name, "outputs": self.platform, "secretOutputNames": []}
        outputs = {k: v for k, v in args.inputs.items() if k != "__provider"}
        if args.typ == f"{DYNAMIC}Guest":
            outputs["address"] = outputs["ip"].partition("/")[0]
        if args.typ == f"{DYNAMIC}ApiToken":
            outputs["full_tokenid"] = f"{outputs['userid']}!{outputs['tokenid']}"
        return f"{args.name}-id", outputs

    def call(self, args: mocks.MockCallArgs) -> dict[str, Any]:
        return {}


@dataclass
class Run:
    stack: str
    declared: list[mocks.MockResourceArgs]
    outputs: dict[str, Any]

    def of(self, kind: str) -> list[dict[str, Any]]:
        """The inputs of every declared resource of a partilha.proxmox type (`Guest`, ...)."""
        return [a.inputs for a in self.declared if a.typ == f"{DYNAMIC}{kind}"]

    def kinds(self) -> set[str]:
        return {a.typ.removeprefix(DYNAMIC) for a in self.declared if a.typ.startswith(DYNAMIC)}


def stack_config(stack: str, lab: bool = True) -> dict[str, str]:
    """The config `partilha up` writes for `stack` of an env of the lab inventory (a lab env,
    as `partilha lab up` makes it, unless `lab` is False)."""
    env = envs.load_env(stack.partition("-")[0], ROOT / "inventories" / "lab", lab=lab)
    return env.config(next(s for s in env.stacks if s.name == stack))


def run(stack: str, config: dict[str, str], platform: dict[str, Any] | None = None) -> Run:
    """The program, imported afresh, as the engine would run it for `stack`."""
    recorder = Recorder(platform or {})
    settings.ROOT.set(None)
    mocks.set_mocks(recorder, project="partilha", stack=stack, preview=False)
    pulumi.runtime.set_all_config(config)
    program = ("platform_stack", "tenants", "stack_settings", "keyed_outputs")
    for name in [m for m in sys.modules if m.split(".")[0] in program]:
        del sys.modules[name]
    root = settings.get_root_resource()
    assert root is not None
    outputs: dict[str, Any] = {}

    def program() -> None:
        runpy.run_path(str(STACKS), run_name="__main__")
        outputs.update(_sync_await(pulumi.Output.from_input(root.outputs).future()))

    _sync_await(run_pulumi_func(program))
    return Run(stack, recorder.declared, outputs)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A throwaway PARTILHA_HOME: the operator's SSH key the tenant stacks read is made there."""
    folder = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PARTILHA_HOME", str(folder))
        yield folder


@pytest.fixture(scope="module")
def platform(home: Path) -> Run:
    return run("lab-platform", stack_config("lab-platform"))


@pytest.fixture(scope="module")
def tenants(platform: Run) -> dict[str, Run]:
    return {stack: run(stack, stack_config(stack), platform.outputs)
            for stack in ("lab-shared", *(f"lab-{slug}" for slug in MUNICIPALITIES))}


def test_every_data_holding_guest_is_in_its_tiers_backup_jobs(platform: Run, tenants: dict[str, Run]) -> None:
    jobs = platform.outputs["backup_jobs"]
    exported = {name: g for t in tenants.values() for name, g in t.outputs["guests"].items()}
    assert sorted(exported) == sorted(GUESTS)
    holding = {n: g for n, g in exported.items() if g["data_class"] in ("personal", "internal")}
    assert holding  # the lab's catalogue holds such data: the check below checks something
    for name, guest in holding.items():
        tier = INVENTORY.backup.tiers[guest["backup_tier"]]
        covering = {(j["site"], j["offsite"]) for j in jobs.values()
                    if j["tier"] == guest["backup_tier"] and guest["vmid"] in j["vmids"]}
        wanted = {("primary", False)} | ({("dr", True)} if tier.offsite else set())
        assert covering == wanted, name
    declared = {j["jobid"]: j for j in platform.of("BackupJob")}
    for job_id, job in jobs.items():
        assert sorted(declared[job_id]["vmids"]) == job["vmids"]
        assert job["storage"] == INVENTORY.backup.storages[job["site"]]
        assert declared[job_id]["prune_backups"]  # the tier's retention, never PVE's keep-all


def test_every_municipality_has_its_own_vnet_and_only_its_own_grants(platform: Run) -> None:
    vnets = {v["vnet"]: v for v in platform.of("SdnVnet")}
    own = {slug: [v.id for v in INVENTORY.networks.vnets if v.municipality == slug]
           for slug in MUNICIPALITIES}
    assert all(len(ids) == 1 and ids[0] in vnets for ids in own.values()), own
    assert len({ids[0] for ids in own.values()}) == len(MUNICIPALITIES)
    subnets = {s["vnet"] for s in platform.of("SdnSubnet")}
    assert subnets == set(vnets) == {v.id for v in INVENTORY.networks.vnets}
    (apply,) = platform.of("SdnApply")  # one apply, after every zone, VNet and subnet
    assert len(apply["changes"]) == len(platform.of("SdnZone")) + len(vnets) + len(subnets)
    tokens = {t["store_as"]: t for t in platform.of("ApiToken")}
    assert set(tokens) == {f"lab-{slug}" for slug in MUNICIPALITIES}
    assert all(t["privsep"] for t in tokens.values())
    acls = platform.of("Acl")
    for slug, (vnet,) in own.items():
        for kind, ugid in (("user", f"{slug}@pve"), ("token", f"{slug}@pve!partilha")):
            paths = {a["path"] for a in acls if (a["kind"], a["ugid"]) == (kind, ugid)}
            assert paths == {f"/pool/{slug}", f"/sdn/zones/{vnets[vnet]['zone']}/{vnet}",
                             "/storage/lab-guests", "/storage/local"}, (slug, kind)
    # and nothing else: each municipality's exclusive list is exactly its Acl entries
    exclusive = {tuple(e["ugids"]): sorted(e["entries"]) for e in platform.of("ExclusiveAcl")}
    assert len(exclusive) == len(MUNICIPALITIES)
    for slug in MUNICIPALITIES:
        ugids = (f"{slug}@pve", f"{slug}@pve!partilha")
        assert exclusive[ugids] == sorted(f"{a['kind']}:{a['ugid']}:{a['path']}:{a['roleid']}" for a in acls
                                          if a["ugid"] in ugids)
    roles = {r["roleid"]: set(r["privs"]) for r in platform.of("Role")}
    granted = set().union(*(roles[a["roleid"]] for a in acls))
    assert not granted & {"Sys.Console", "Sys.Modify", "Permissions.Modify", "SDN.Allocate",
                          "Datastore.Allocate", "User.Modify", "Sys.Audit"}


def test_municipality_stacks_act_with_their_own_token_and_make_no_admin_object(
        tenants: dict[str, Run]) -> None:
    for slug in MUNICIPALITIES:
        stack = f"lab-{slug}"
        assert stack_config(stack)["partilha:tokenStore"] == stack
        assert "partilha:proxmoxApiToken" not in stack_config(stack)
        made = tenants[stack]
        assert made.kinds() == {"Pool", "Guest", "GuestFirewall"}, stack
        assert not made.kinds() & ADMIN_ONLY
        assert [p["poolid"] for p in made.of("Pool")] == [slug]
        assert {g["pool"] for g in made.of("Guest")} == {slug}
    for stack in ("lab-platform", "lab-shared"):
        assert "partilha:tokenStore" not in stack_config(stack)


def test_guests_are_default_deny_but_for_ssh_and_their_declared_ports(
        platform: Run, tenants: dict[str, Run]) -> None:
    groups = {g["group"]: g["rules"] for g in platform.of("SecurityGroup")}
    ssh = platform.outputs["ssh_group"]
    assert [(r["dport"], r["source"]) for r in groups[ssh]] == [("22", "10.10.0.0/24," + ",".join(
        str(v.gateway) for v in INVENTORY.networks.vnets))]  # management, and the lab's host
    for made in tenants.values():
        firewalls = {f["vmid"]: f for f in made.of("GuestFirewall")}
        for guest in made.of("Guest"):
            spec = GUESTS[guest["hostname"]]
            assert (guest["vmid"], guest["ip"], guest["node"]) == (spec.vmid, str(spec.address), spec.node)
            assert guest["firewall"] and guest["template"].startswith("local:vztmpl/")
            assert set(guest["tags"]) >= {f"service.{spec.service}", f"data.{spec.spec.data_class}",
                                          f"owner.{spec.tenant}"}
            wall = firewalls[spec.vmid]
            assert (wall["enable"], wall["ipfilter"], wall["policy_in"]) == (True, True, "DROP")
            service_group = platform.outputs["security_groups"][spec.service]
            assert [r["action"] for r in wall["rules"]] == [ssh, service_group]
            assert sorted(int(r["dport"]) for r in groups[service_group]) == sorted(spec.spec.ports)


def test_a_production_env_declares_the_same_graph_without_the_labs_allowances(home: Path,
                                                                            platform: Run) -> None:
    production = run("prod-platform", stack_config("prod-platform", lab=False))

    def graph(made: Run) -> dict[tuple[str, str], str]:  # the env's name as the lab env's
        return {(a.typ, a.name): json.dumps({k: v for k, v in a.inputs.items() if k != "__provider"},
                                            sort_keys=True).replace("prod-", "lab-")
                for a in made.declared}

    lab, prod = graph(platform), graph(production)
    assert lab.keys() == prod.keys()
    differ = {key for key in lab if lab[key] != prod[key]}
    assert differ == {(f"{DYNAMIC}SecurityGroup", "group-ssh")}
    (ssh,) = [g for g in production.of("SecurityGroup") if g["group"] == production.outputs["ssh_group"]]
    assert [r["source"] for r in ssh["rules"]] == ["10.10.0.0/24"]  # management only
    gateways = {str(v.gateway) for v in INVENTORY.networks.vnets if v.purpose != "management"}
    assert not any(g in prod[key] for key in prod for g in gateways
                   if key[0] == f"{DYNAMIC}SecurityGroup")


def test_the_shared_stack_puts_every_ha_guest_in_its_sites_ha_group(
        platform: Run, tenants: dict[str, Run]) -> None:
    shared = tenants["lab-shared"]
    wanted = {f"ct:{g.vmid}": platform.outputs["ha_groups"][g.site] for g in GUESTS.values() if g.spec.ha}
    assert len({g for g in wanted}) > len(INVENTORY.municipalities)  # municipalities' and the CIM's
    assert {r["sid"]: r["group"] for r in shared.of("HaResource")} == wanted
    (group,) = platform.of("HaGroup")
    assert group["restricted"] and set(group["nodes"]) == {"pve1", "pve2", "pve3"}


def test_qemu_services_are_cloned_from_the_template_vm_their_token_may_clone(
        home: Path, tmp_path: Path) -> None:
    inventory = tmp_path / "qemu"
    shutil.copytree(ROOT / "inventories" / "lab", inventory)
    catalogue = {name: service.model_dump(mode="json", exclude_defaults=True)
                 for name, service in load_inventory(inventory).services.items()}
    catalogue["intranet"]["kind"] = "qemu"  # the lab's catalogue written out, intranet a VM
    (inventory / "services.yaml").write_text(yaml.safe_dump({"services": catalogue}, allow_unicode=True))
    config = {**stack_config("lab-platform"), "partilha:inventory": str(inventory)}
    with pytest.raises(pulumi.RunError, match="intranet are QEMU services"):
        run("lab-platform", config)
    platform = run("lab-platform", {**config, "partilha:qemuTemplate": "9000"})
    grants = {(a["ugid"], a["roleid"]) for a in platform.of("Acl") if a["path"] == "/vms/9000"}
    assert grants == {(ugid, "PVETemplateUser") for slug in MUNICIPALITIES
                      for ugid in (f"{slug}@pve", f"{slug}@pve!partilha")}
    assert "VM.Config.Cloudinit" in {p for r in platform.of("Role") for p in r["privs"]}
    abrantes = run("lab-abrantes", {**stack_config("lab-abrantes"), "partilha:inventory": str(inventory),
                                    "partilha:qemuTemplate": "9000"}, platform.outputs)
    kinds = {g["hostname"]: (g["kind"], g["template"]) for g in abrantes.of("Guest")}
    assert kinds["abrantes-intranet"] == ("qemu", "9000") and kinds["abrantes-portal"][0] == "lxc"


@pytest.mark.parametrize(("stack", "change", "words"), [
    ("lab-platform", {"partilha:inventory": "BROKEN"}, "networks.yaml"),
    ("lab-lisboa", {}, "'lisboa' is not platform, shared or a municipality"),
    ("lab-abrantes", {"partilha:tokenStore": ""}, "must be 'lab-abrantes'"),
    ("lab-shared", {"partilha:tokenStore": "lab-abrantes"}, "is for municipality stacks only"),
])
def test_bad_input_stops_before_any_resource(home: Path, tmp_path: Path, stack: str,
                                             change: dict[str, str], words: str) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(ROOT / "inventories" / "lab", broken)
    networks = broken / "networks.yaml"
    networks.write_text(networks.read_text().replace("gateway: 10.101.0.1", "gateway: 10.9.0.1"))
    config = {**stack_config("lab-abrantes" if stack == "lab-lisboa" else stack), **change}
    config = {k: str(broken) if v == "BROKEN" else v for k, v in config.items() if v}
    recorder = Recorder({})
    settings.ROOT.set(None)
    mocks.set_mocks(recorder, project="partilha", stack=stack, preview=False)
    pulumi.runtime.set_all_config(config)
    with pytest.raises(pulumi.RunError, match=words):
        runpy.run_path(str(STACKS), run_name="__main__")
    assert recorder.declared == []


def test_only_the_declared_flows_cross_vnets(platform: Run) -> None:
    """The lab inventory declares no flows: the default, written out here by hand — each
    municipality to the CIM's two services on 443; anyone to the front door on 80 and 443, and
    the front door to each public service on 443; SSH from management, the API from management —
    as IP sets (one per tenant VNet, the DMZ's, management's), aliases (the guests flows reach,
    and the front door, whence its flows come), the datacenter's rules and each VNet's firewall."""
    (options,) = platform.of("ClusterFirewall")
    assert (options["enable"], options["policy_forward"]) == (True, "DROP")
    assert {s["ipset"]: [e["cidr"] for e in s["entries"]] for s in platform.of("IPSet")} == {
        "vabt": ["10.101.0.0/24"], "vcnt": ["10.103.0.0/24"], "vfzz": ["10.105.0.0/24"],
        "shared": ["10.30.0.0/24"], "dmz": ["10.20.0.0/24"], "management": ["10.10.0.0/24"]}
    door, eproc, gis = "cim-medio-tejo-frontdoor", "cim-medio-tejo-eprocurement", "cim-medio-tejo-gis"
    abt, cnt, fzz = "abrantes-portal", "constancia-portal", "ferreira-do-zezere-portal"
    assert {a["alias"]: a["cidr"] for a in platform.of("Alias")} == {
        eproc: "10.30.0.16", gis: "10.30.0.17", door: "10.20.0.18",
        abt: "10.101.0.11", cnt: "10.103.0.11", fzz: "10.105.0.11"}
    (cluster,) = platform.of("ClusterRules")
    rules = [(r["type"], r.get("source"), r.get("dest"), r["dport"]) for r in cluster["rules"]]
    anyone = ("forward", None, door, "80,443")  # the outside's flow: no source
    assert rules == [
        ("forward", "+vabt", eproc, "443"), ("forward", "+vabt", gis, "443"),
        ("forward", "+vcnt", eproc, "443"), ("forward", "+vcnt", gis, "443"),
        ("forward", "+vfzz", eproc, "443"), ("forward", "+vfzz", gis, "443"),
        anyone,
        ("forward", door, abt, "443"), ("forward", door, cnt, "443"), ("forward", door, fzz, "443"),
        ("forward", door, eproc, "443"), ("forward", door, gis, "443"),
        ("forward", "+management", None, "22"),
        ("in", "+management", None, "8006"),
    ]
    assert "source" not in cluster["rules"][6]
    vnets = {f["vnet"]: f for f in platform.of("VNetFirewall")}
    assert {(f["enable"], f["policy_forward"]) for f in vnets.values()} == {(True, "DROP")}
    forward = {vnet: [(r.get("source"), r.get("dest"), r.get("dport")) for r in f["rules"]]
               for vnet, f in vnets.items()}
    to_door, ssh = (None, door, "80,443"), ("+management", None, "22")
    assert forward == {
        # out to the CIM's services, out to the front door (anyone may), in from it to the portal
        "vabt": [("+vabt", "+vabt", None), ("+vabt", eproc, "443"), ("+vabt", gis, "443"),
                 to_door, (door, abt, "443"), ssh],
        "vcnt": [("+vcnt", "+vcnt", None), ("+vcnt", eproc, "443"), ("+vcnt", gis, "443"),
                 to_door, (door, cnt, "443"), ssh],
        "vfzz": [("+vfzz", "+vfzz", None), ("+vfzz", eproc, "443"), ("+vfzz", gis, "443"),
                 to_door, (door, fzz, "443"), ssh],
        "shared": [("+shared", "+shared", None),
                   ("+vabt", eproc, "443"), ("+vabt", gis, "443"),
                   ("+vcnt", eproc, "443"), ("+vcnt", gis, "443"),
                   ("+vfzz", eproc, "443"), ("+vfzz", gis, "443"),
                   to_door, (door, eproc, "443"), (door, gis, "443"), ssh],
        # in from anyone to the front door, out from it to every back end
        "dmz": [("+dmz", "+dmz", None), to_door,
                (door, abt, "443"), (door, cnt, "443"), (door, fzz, "443"),
                (door, eproc, "443"), (door, gis, "443"), ssh],
        "mgmt": [("+management", "+management", None), to_door, ssh],
    }
    assert {(r["action"], r.get("proto")) for r in cluster["rules"]} == {("ACCEPT", "tcp")}
