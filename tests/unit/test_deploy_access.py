"""How partilha reaches hosts: the ssh_config every connection uses (pinned host keys only) and
the pyinfra inventory a run writes (strict host keys, sudo for the guests' admin)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from partilha.deploy.access import Login, write_ssh_config
from partilha.deploy.fleet import Fleet
from partilha.deploy.hosts import Host
from partilha.deploy.pyinfra_inventory import deploy_name, render

GUEST = Host(name="abrantes-portal", address="10.101.0.11", kind="guest", env="lab", site="primary",
             groups=("guests", "role_portal"), ssh_sources=("10.10.0.0/24",), admin_user="partilha")
NODE = Host(name="pve1", address="10.216.7.11", kind="node", env="lab", site="primary", groups=("nodes",),
            ssh_sources=("10.10.0.0/24",))


@pytest.fixture
def fleet(tmp_path: Path) -> Fleet:
    (tmp_path / "id_ed25519.pub").write_text("ssh-ed25519 AAAAkey operator\n")
    return Fleet("lab", (NODE, GUEST), tmp_path / "known_hosts", tmp_path / "id_ed25519")


def test_ssh_config_trusts_only_the_pinned_keys(fleet: Fleet, tmp_path: Path) -> None:
    path = write_ssh_config(fleet, {"abrantes-portal": Login("partilha")}, tmp_path / "ssh_config")
    text = path.read_text()
    lines = [line.strip() for line in text.splitlines()]
    assert lines[1:5] == ["Host pve1", "HostName 10.216.7.11", "Host abrantes-portal", "HostName 10.101.0.11"]
    assert "User partilha" in lines and "User root" not in lines  # only logins resolved are written
    for option in ("StrictHostKeyChecking yes", f"UserKnownHostsFile {fleet.known_hosts}",
                   "GlobalKnownHostsFile /dev/null", "UpdateHostKeys no", "BatchMode yes",
                   f"IdentityFile {fleet.ssh_key}", "IdentitiesOnly yes", "ForwardAgent no"):
        assert option in lines, option
    assert "accept-new" not in text and "StrictHostKeyChecking no" not in text


def test_pyinfra_inventory_is_python_data_with_strict_host_keys(fleet: Fleet, tmp_path: Path) -> None:
    files = {"pve1": [Path("/x/deploys/baseline.py"), Path("/x/deploys/hypervisor.py")],
             "abrantes-portal": [Path("/x/deploys/services/portal.py")]}
    logins = {"pve1": Login("root"), "abrantes-portal": Login("partilha")}
    tree = ast.parse(render(fleet, logins, tmp_path / "ssh_config", files))
    values = {t.targets[0].id: ast.literal_eval(t.value) for t in tree.body if isinstance(t, ast.Assign)}
    assert values["nodes"] == ["pve1"] and values["role_portal"] == ["abrantes-portal"]
    data = dict(values["all"])
    assert data["pve1"]["ssh_user"] == "root" and data["pve1"]["_sudo"] is False
    assert data["abrantes-portal"]["ssh_user"] == "partilha" and data["abrantes-portal"]["_sudo"] is True
    for host in data.values():
        assert host["ssh_strict_host_key_checking"] == "yes"
        assert host["ssh_known_hosts_file"] == str(fleet.known_hosts)
        assert host["ssh_allow_agent"] is False and host["ssh_look_for_keys"] is False
        assert host["operator_keys"] == ["ssh-ed25519 AAAAkey operator"]
    assert data["pve1"]["deploy_files"] == [["baseline", "/x/deploys/baseline.py"],
                                            ["hypervisor", "/x/deploys/hypervisor.py"]]
    assert Host.from_json(data["abrantes-portal"]["partilha"]) == GUEST
    assert deploy_name(Path("/x/deploys/services/portal.py")) == "services/portal"
