"""The summary of what exists: guests from tenant stacks' outputs, SSH commands that verify host
keys against the right known_hosts."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from partilha.automation import envs, summary
from partilha.proxmox.endpoint import CA_FILE, ENDPOINT

ROOT = Path(__file__).resolve().parents[2]


def _guest(vmid: int, tenant: str, address: str) -> dict[str, object]:
    return {"vmid": vmid, "node": "pve1", "address": address, "vnet": "vabt", "tenant": tenant,
            "service": "portal", "role": "web", "kind": "lxc", "data_class": "personal", "ports": [443]}


def test_guest_rows_merge_tenant_stacks_in_vmid_order() -> None:
    rows = summary.guest_rows([
        {"guests": {"abrantes-portal": _guest(10101, "abrantes", "10.101.0.11")}},
        {},  # a stack not made yet
        {"guests": {"cim-medio-tejo-gis": _guest(10002, "cim-medio-tejo", "10.100.0.12")}, "other": 1},
    ])
    assert [(r.name, r.vmid, r.address, r.node) for r in rows] == [
        ("cim-medio-tejo-gis", 10002, "10.100.0.12", "pve1"),
        ("abrantes-portal", 10101, "10.101.0.11", "pve1")]


def test_the_ssh_command_pins_host_keys_and_uses_the_operator_key(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    command = shlex.split(summary.ssh_command("10.101.0.11", tmp_path / "ssh" / "id_ed25519",
                                              Path("/srv/lab/known_hosts")))
    assert command == ["ssh", "-i", "ssh/id_ed25519", "-o", "UserKnownHostsFile=/srv/lab/known_hosts",
                       "-o", "StrictHostKeyChecking=yes", "root@10.101.0.11"]


def test_known_hosts_follow_the_lab_the_stacks_talk_to(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("PARTILHA_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    env = envs.load_env("t", ROOT / "inventories" / "lab", lab=True)
    private = tmp_path / "home" / ".partilha"
    assert summary.known_hosts_for(env, {}) == private / "lab" / "known_hosts"
    lab = tmp_path / "other-lab"  # a lab instance's state directory, named by its certificate
    lab.mkdir()
    (lab / "instance.json").write_text("{}")
    at_lab = {ENDPOINT: "https://127.0.0.1:18006/", CA_FILE: str(lab / "pve-ssl.pem")}
    assert summary.known_hosts_for(env, at_lab) == lab / "known_hosts"
    production = {ENDPOINT: "https://pve.cim.example:8006/", CA_FILE: str(tmp_path / "ca.pem")}
    assert summary.known_hosts_for(env, production) == private / "deploy" / "t" / "known_hosts"
