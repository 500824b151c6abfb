"""A conformance run of a PVE client the project did not write, installed from PyPI unmodified:
Ansible's community.proxmox modules (the `ansible` package) drive a throwaway lab as they drive
PVE: nodes, storages, a pool, a user (with a token and with a ticket login), SDN zone, VNet and
subnet, a container's whole life (created, started, declared again with `update`, listed by a
municipality's scoped token, backed up, restarted, stopped, removed), tasks and the backup
storage's contents. A second run of the same playbook changes nothing but what the modules do on
every run against PVE as well."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI

from partilha.lab.instance import LabInstance

pytestmark = pytest.mark.lab
HERE = Path(__file__).resolve().parent / "outside_client"
BIN = Path(__file__).resolve().parents[3] / ".venv" / "bin"
# What community.proxmox does on every run, on PVE too: it cannot read a password back so it sets
# it again, it updates a zone or container it is given `update` for, and a backup is an action.
ACTIONS = {"A user in the pve realm, with a ticket login (PVE takes no API token for passwords)",
           "An SDN zone", "The same container declared again (an update of what it has)",
           "A backup of it, waited for"}


def playbook(name: str, extra: dict[str, Any]) -> dict[str, Any]:
    """`ansible-playbook NAME` with `extra` as its variables; its JSON result."""
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "ANSIBLE_STDOUT_CALLBACK": "json",
           "ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0"}
    run = subprocess.run([str(BIN / "ansible-playbook"), str(HERE / name), "-e", json.dumps(extra)],
                         env=env, capture_output=True, text=True, timeout=900, check=False)
    try:
        result: dict[str, Any] = json.loads(run.stdout)
    except ValueError:
        raise AssertionError(f"{name}: {run.stdout[-3000:]}{run.stderr[-3000:]}") from None
    failures = {t["task"]["name"]: t["hosts"]["localhost"].get("msg")
                for play in result["plays"] for t in play["tasks"]
                if t["hosts"].get("localhost", {}).get("failed")}
    assert run.returncode == 0 and not failures, json.dumps(failures, indent=1, ensure_ascii=False)
    return result


def changed(result: dict[str, Any]) -> set[str]:
    return {t["task"]["name"] for play in result["plays"] for t in play["tasks"]
            if t["hosts"].get("localhost", {}).get("changed")}


def test_an_unmodified_outside_client_drives_the_lab_and_its_second_run_changes_nothing(
        lab: LabInstance, creds: dict[str, Any], admin_token: ProxmoxAPI, ssh_key: Path,
        subnet_pool: Callable[[int], list[IPv4Network]]) -> None:
    admin_token.access.users.post(userid="municipio@pve", comment="a municipality")
    scoped = admin_token.access.users("municipio@pve").token("ansible").post(privsep=1)
    # a token with privilege separation has what both it and its user are granted
    admin_token.access.acl.put(path="/pool/conformance", roles="PVEVMAdmin", users="municipio@pve",
                               tokens="municipio@pve!ansible")
    [subnet] = subnet_pool(1)
    extra = {"api_port": lab.port, "ca": str(lab.cert),
             "admin_token_id": creds["token_id"].partition("!")[2],
             "admin_token_secret": creds["token_secret"],
             "admin_password": creds["password"], "scoped_token_id": "ansible",
             "scoped_token_secret": scoped["value"], "subnet": str(subnet), "gateway": str(subnet[1]),
             "address": f"{subnet[10]}/{subnet.prefixlen}", "pubkey": str(ssh_key.with_suffix(".pub"))}
    first = playbook("playbook.yml", extra)
    assert {"A pool", "An SDN zone", "A container in the pool", "It started"} <= changed(first)
    second = playbook("playbook.yml", extra)
    assert changed(second) == ACTIONS
    playbook("removal.yml", extra)
