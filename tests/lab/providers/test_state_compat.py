"""State made by older code still works: Pulumi stores each dynamic provider pickled by its module
path, and refresh and destroy run the provider found there, so a moved or renamed provider module
(or one whose outputs changed shape) strands every stack made before. A stack of a pool, a guest
and its firewall is made with the providers of BASELINE (a commit before placement became
stable and node changes migrations, extracted with `git archive`), then refreshed, previewed and
destroyed with the current code: no drift, no change, nothing left.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI

from ..api import conftest as api
from .conftest import ROOT, LabStack

make_vnets, wait_task, ostemplate = api.make_vnets, api.wait_task, api.ostemplate
pytestmark = pytest.mark.lab

BASELINE = "4d0da583886aaef700558cbff327e2a221ffad50"
# The program both codes run: the resources a tenant stack declares for one service.
PROGRAM = '''
import json, os
import pulumi
from partilha.proxmox.resources.firewall import GuestFirewall
from partilha.proxmox.resources.guest import Guest
from partilha.proxmox.resources.pool import Pool


def program() -> None:
    spec = json.loads(os.environ["COMPAT_SPEC"])
    pool = Pool("pool", poolid=spec["pool"], comment="partilha: compat")
    guest = Guest("g", pool=pool.poolid, **spec["guest"])
    GuestFirewall("g-firewall", node=guest.node, vmid=guest.vmid, kind=guest.kind, enable=True,
                  policy_in="DROP", policy_out="ACCEPT", rules=[])
    pulumi.export("vmid", guest.vmid)
'''
# Run by the old code: the same stack (project, backend, work dir) brought up with its providers.
OLD_UP = '''
import sys
from pulumi import automation as auto
import compat_program
import partilha
assert partilha.__file__.startswith(sys.argv[1]), partilha.__file__  # the old code, not ours
stack = auto.select_stack(stack_name=sys.argv[2], project_name="partilha-providers",
                          program=compat_program.program,
                          opts=auto.LocalWorkspaceOptions(
                              work_dir=sys.argv[3],
                              pulumi_command=auto.PulumiCommand(sys.argv[4], skip_version_check=True)))
stack.up(color="never", on_output=print)
'''


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """BASELINE's partilha package, extracted from the repository's history."""
    tree = tmp_path_factory.mktemp("baseline")
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", BASELINE, "partilha"],
                             capture_output=True, check=True, timeout=60).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True, timeout=60)
    return tree


def test_a_stack_made_by_older_code_refreshes_previews_and_destroys_with_this_code(
        stack: LabStack, baseline: Path, admin_token: ProxmoxAPI, ssh_key: Path, ostemplate: str,
        make_vnets: Callable[..., dict[str, IPv4Network]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    net = make_vnets("compz", "vcompat")["vcompat"]
    spec: dict[str, Any] = {"pool": "tcompat", "guest": {
        "node": "pve1", "kind": "lxc", "hostname": "compat", "template": ostemplate, "cores": 1,
        "memory": 256, "swap": 64, "disk_gib": 4, "storage": "lab-guests", "bridge": "vcompat",
        "ip": f"{net[10]}/{net.prefixlen}", "gateway": str(net[1]),
        "ssh_public_keys": ssh_key.with_suffix(".pub").read_text(), "tags": ["compat"]}}
    code = tmp_path / "code"
    code.mkdir()
    (code / "compat_program.py").write_text(PROGRAM)
    monkeypatch.setenv("COMPAT_SPEC", json.dumps(spec))

    env = {**os.environ, **stack.env, "PYTHONPATH": f"{baseline}{os.pathsep}{code}"}
    made = subprocess.run([sys.executable, "-c", textwrap.dedent(OLD_UP), str(baseline), stack.stack.name,
                           str(stack.work), str(ROOT / ".tools")],
                          env=env, cwd=code, capture_output=True, text=True, timeout=600, check=False)
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    vmid = int(stack.outputs()["vmid"])
    assert {int(r["vmid"]) for r in admin_token.cluster.resources.get(type="vm")} == {vmid}

    loader = importlib.util.spec_from_file_location("compat_program", code / "compat_program.py")
    assert loader is not None and loader.loader is not None
    compat_program = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(compat_program)
    assert stack.refresh() == {}  # the stored providers (this code's modules) read it back as is
    assert set(stack.preview(compat_program.program)) == {"same"}
    assert stack.writes() == []
    stack.destroy()
    assert admin_token.cluster.resources.get(type="vm") == []
    assert "tcompat" not in {p["poolid"] for p in admin_token.pools.get()}
