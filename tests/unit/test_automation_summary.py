"""The summary of what exists: guests from tenant stacks' outputs in a table that fits 80 columns
and says how to log in; the known_hosts an env's host keys are pinned in."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from partilha.automation import envs, summary
from partilha.inventory import guests
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


@pytest.mark.parametrize("name", ["lab", "medio-tejo", "terras-de-tras-os-montes", "alto-alentejo"])
def test_the_guest_table_fits_80_columns_and_says_how_to_log_in(
        name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("PARTILHA_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    env = envs.load_env(name, ROOT / "inventories" / name)
    made = {"guests": {g.name: _guest(g.vmid or 0, g.tenant, str(g.address.ip if g.address else ""))
                       | {"node": g.node, "service": g.service} for g in guests(env.inventory)}}
    console = Console(width=200, record=True)  # as wide as it likes: it must not need more than 80
    console.print(summary.table(env, summary.guest_rows([made])))
    lines = console.export_text().splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80, max(lines, key=len)
    longest = max(guests(env.inventory), key=lambda g: len(g.name))
    assert any(line.split()[:2] == [longest.name, longest.service] for line in lines if line.strip())
    flag = "" if name == "lab" else f" --env {name}"
    assert f"SSH: partilha ssh{flag} GUEST [-- COMMAND]" in lines[-1]


def test_known_hosts_follow_the_lab_the_stacks_talk_to(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("PARTILHA_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    env = envs.load_env("t", ROOT / "inventories" / "lab", lab=True)
    private = tmp_path / "home" / ".partilha"
    assert env.known_hosts({}) == private / "lab" / "known_hosts"
    lab = tmp_path / "other-lab"  # a lab instance's state directory, named by its certificate
    lab.mkdir()
    (lab / "instance.json").write_text("{}")
    at_lab = {ENDPOINT: "https://127.0.0.1:18006/", CA_FILE: str(lab / "pve-ssl.pem")}
    assert env.known_hosts(at_lab) == lab / "known_hosts"
    production = {ENDPOINT: "https://pve.cim.example:8006/", CA_FILE: str(tmp_path / "ca.pem")}
    assert env.known_hosts(production) == private / "deploy" / "t" / "known_hosts"
    assert envs.load_env("p", ROOT / "inventories" / "lab").known_hosts({}) == \
        private / "deploy" / "p" / "known_hosts"  # a production env: never the local lab's
