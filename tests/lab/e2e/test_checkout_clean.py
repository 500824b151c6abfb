"""`make demo` leaves the checkout clean: the lab env's stack config (into which Pulumi writes a
per-machine `encryptionsalt` when a stack is made) is generated under .partilha/envs/, never in
the checkout. An `up` of a lab env from the checkout, on a throwaway lab, changes no file git sees.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from partilha.inventory import load_inventory
from partilha.lab.instance import LabInstance
from partilha.proxmox.endpoint import lab_env

from .conftest import ROOT, TIMEOUT, relocated

pytestmark = pytest.mark.lab


def _status() -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout


def test_an_up_of_the_lab_env_changes_no_file_of_the_checkout(
        lab: LabInstance, tmp_path: Path, subnet_pool: Callable[[int], list[IPv4Network]]) -> None:
    source = ROOT / "inventories" / "lab"
    inventory = relocated(source, tmp_path / "inventory",
                          subnet_pool(len(load_inventory(source).networks.vnets)))
    home = tmp_path / "home"
    home.mkdir()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_VE_", "PULUMI_"))}
    before = _status()
    run = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "partilha"), "up", "--env", "lab", "--lab", "--inventory",
         str(inventory), "--only", "platform"], cwd=ROOT, capture_output=True, text=True,
        timeout=TIMEOUT, stdin=subprocess.DEVNULL, check=False,
        env={**environ, "PARTILHA_HOME": str(home), "NO_COLOR": "1", **lab_env(lab.credentials, lab.cert)})
    assert run.returncode == 0, run.stderr + run.stdout[-3000:]
    assert _status() == before
    made = home / ".partilha" / "envs" / "lab" / "Pulumi.lab-platform.yaml"
    assert "encryptionsalt:" in made.read_text()  # Pulumi's salt went to the generated file
