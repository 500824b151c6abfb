"""The Proxmox VE nodes, proved on each one: one test per control of
deploys/hypervisor_controls.py, with the values the deploy applies.

Cluster checks look at every node of the fleet file (`cluster`, whatever --hosts selects) and
run from the node itself: its root logs in to each other node over the cluster's SSH, with the
host keys deploys/hypervisor.py pinned there.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from testinfra.host import Host as Remote  # not Test*: pytest would collect it

from partilha.deploy.catalogue import load_controls
from partilha.deploy.fleet import FLEET_FILE, Fleet
from partilha.deploy.hosts import Host
from partilha.deploy.paths import workdir_for

load_controls()  # puts the checkout on sys.path: `deploys` is content, imported from there
hv = importlib.import_module("deploys.hypervisor_controls")


def control(control_id: str) -> pytest.MarkDecorator:
    return pytest.mark.control(control_id)


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest) -> list[Host]:
    """Every node of the fleet file, however --hosts narrowed the hosts under test: a node's
    cluster settings name all of them."""
    path = request.config.option.fleet or workdir_for(request.config.option.env) / FLEET_FILE
    return [h for h in Fleet.load(Path(path)).hosts if h.kind == "node"]


def pinned(fleet: Fleet, address: str) -> set[str]:
    return {" ".join(line.split()[1:3]) for line in fleet.known_hosts.read_text().splitlines()
            if line.split()[:1] == [address]}


def sources(host: Remote) -> list[str]:
    """chronyd's time sources as it parses its whole configuration (conf.d, sources.d too)."""
    return [line for line in host.check_output("chronyd -p").splitlines()
            if line.split()[:1] in (["server"], ["pool"], ["peer"])]


@control("PTL-HV-01")
def test_node_names_resolve(host: Remote, spec: Host, cluster: list[Host]) -> None:
    assert host.check_output("hostname") == spec.name
    for node in cluster:
        resolved = host.check_output(f"getent ahostsv4 {node.name}").split()
        assert resolved[:1] == [node.address], f"{node.name} resolves to {resolved[:1]}, not {node.address}"
    names = {node.name: node.address for node in cluster}
    stray = [line for line in host.file("/etc/hosts").content_string.splitlines()
             if not line.startswith("#") and any(names.get(name, line.split()[0]) != line.split()[0]
                                                  for name in line.split()[1:])]
    assert not stray, f"/etc/hosts names a node at another address: {stray}"


@control("PTL-HV-02")
def test_chrony_site_sources_only(host: Remote, spec: Host) -> None:
    found = sources(host)
    assert found and all(line.split()[0] == "server" for line in found), f"chrony sources: {found}"
    if spec.lab:  # the lab's site time source is the lab's host, the nodes' gateway
        gateway = host.check_output("ip -4 route show default").split()[2]
        assert [line.split()[1] for line in found] == [gateway]


@control("PTL-HV-03")
def test_chronyd_follows_the_site(host: Remote) -> None:
    assert host.service("chrony").is_running
    servers = {line.split()[1] for line in sources(host)}
    tracked = {line.split()[1] for line in host.check_output("chronyc -n sources").splitlines()
               if line[:1] == "^"}
    assert tracked == servers, f"chronyd tracks {tracked}, configured {servers}"


@control("PTL-HV-04")
def test_no_subscription_repository(host: Remote, spec: Host) -> None:
    lines = host.file(hv.PVE_SOURCES).content_string.splitlines()
    fields = dict(line.split(": ", 1) for line in lines if not line.startswith("#") and ": " in line)
    enabled = "no" if spec.lab else "yes"  # the lab reaches no Proxmox archive
    assert fields == {**hv.PVE_REPO, "Enabled": enabled}
    if enabled == "yes":
        assert host.file(hv.PVE_KEYRING).is_file, f"{hv.PVE_KEYRING}: Proxmox's release key is missing"
        assert hv.PVE_REPO["URIs"] in host.check_output("apt-get indextargets --format '$(URI)'")


@control("PTL-HV-05")
def test_enterprise_repositories_disabled(host: Remote) -> None:
    for path in hv.ENTERPRISE_LISTS:
        active = [line for line in host.file(path).content_string.splitlines()
                  if line.strip() and not line.lstrip().startswith("#")]
        assert not active, f"{path}: {active}"
    assert hv.ENTERPRISE_HOST not in host.check_output("apt-get indextargets --format '$(URI)'")


@control("PTL-HV-06")
def test_cluster_ssh_by_root_key(host: Remote, spec: Host, fleet: Fleet, cluster: list[Host]) -> None:
    keys = {fleet.public_key}
    for node in cluster:
        if node.name == spec.name:
            keys.add(host.file(f"{hv.ROOT_KEY}.pub").content_string.strip())
            continue
        result = host.run(f"ssh {node.name} 'hostname; cat {hv.ROOT_KEY}.pub'")
        assert result.rc == 0, f"{spec.name} -> {node.name}: {result.stderr.strip()}"
        name, key = result.stdout.splitlines()
        assert name == node.name
        keys.add(key.strip())
    authorised = {line.strip() for line in host.file("/root/.ssh/authorized_keys").content_string.splitlines()
                  if line.strip() and not line.startswith("#")}
    assert authorised == keys, f"authorised beyond the cluster and the operator: {authorised - keys}"


@control("PTL-HV-07")
def test_cluster_host_keys_pinned(host: Remote, spec: Host, fleet: Fleet, cluster: list[Host]) -> None:
    trusted = host.file(hv.CLUSTER_KNOWN_HOSTS).content_string.splitlines()
    for node in cluster:
        mine = {" ".join(line.split()[1:3]) for line in trusted
                if line.split()[:1] == [f"{node.name},{node.address}"]}
        assert mine == pinned(fleet, node.address), f"{node.name}'s keys differ from the pinned ones"
        options = dict(line.split(" ", 1) for line in host.check_output(f"ssh -G {node.name}").splitlines())
        assert (options["stricthostkeychecking"], options["userknownhostsfile"],
                options["globalknownhostsfile"]) == ("true", "/dev/null", hv.CLUSTER_KNOWN_HOSTS)
    other = next((n for n in cluster if n.name != spec.name), None)
    if other:  # without the pinned file a node's key is refused, not learnt (ssh exits 255,
        # which testinfra's ssh backend would take for its own connection failing)
        refused = host.check_output(f"ssh -o GlobalKnownHostsFile=/dev/null {other.name} true 2>&1; echo $?")
        assert "Host key verification failed" in refused and refused.endswith("255"), refused


@control("PTL-HV-08")
def test_one_time_zone(host: Remote) -> None:
    assert host.check_output("readlink -f /etc/localtime") == f"/usr/share/zoneinfo/{hv.TIMEZONE}"


@control("PTL-HV-09")
def test_hypervisor_memory(host: Remote) -> None:
    for key, value in hv.SYSCTL_MEMORY.items():
        assert host.sysctl(key) == value, key
    assert host.service("ksmtuned").is_running


@control("PTL-HV-10")
def test_nftables_firewall(host: Remote, spec: Host) -> None:
    config = host.file(hv.HOST_FIREWALL.format(node=spec.name)).content_string.splitlines()
    assert "[OPTIONS]" in config
    start = config.index("[OPTIONS]") + 1
    end = next((i for i in range(start, len(config)) if config[i].startswith("[")), len(config))
    options = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in config[start:end])
               if k.strip() and not k.startswith("#")}
    assert {k: options.get(k) for k in hv.HOST_FIREWALL_OPTIONS} == hv.HOST_FIREWALL_OPTIONS


@control("PTL-HV-11")
def test_backups_record_checksums(host: Remote) -> None:
    hook = host.file(hv.VZDUMP_HOOK)
    assert hook.is_file and hook.mode & 0o111 and hook.user == "root"
    assert "backup-end" in hook.content_string
    lines = [line.partition(":") for line in host.file(hv.VZDUMP_CONF).content_string.splitlines()
             if not line.lstrip().startswith("#")]
    assert [v.strip() for k, _, v in lines if k.strip() == "script"] == [hv.VZDUMP_HOOK]
