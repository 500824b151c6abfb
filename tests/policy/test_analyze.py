"""`pulumi policy analyze --policy-pack policies` checks a stack's state without running its
program. Pulumi 3.260 gives the pack neither the stack nor its config there (no ConfigureStack
call, nothing in its environment): the caller passes them as PULUMI_STACK and PULUMI_CONFIG, and
without them the pack stops with one clear error. The state is made by `up` of a program whose
Guest has the type of partilha's but a provider that only echoes its inputs, so no lab is needed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from partilha.automation import policy_gate, project
from partilha.workspace import Workspace

from .conftest import LAB_INVENTORY

ECHOED_GUEST = """
import json
import pulumi
from pulumi.dynamic import CreateResult, Resource, ResourceProvider


class Echo(ResourceProvider):
    def create(self, props):
        return CreateResult(id_=props["hostname"], outs=dict(props))


class Guest(Resource, module="proxmox", name="Guest"):
    def __init__(self, name, props):
        super().__init__(Echo(), name, props)


Guest("abrantes-dms", json.loads(pulumi.Config("test").require("guest")))
"""

GUEST = {"node": "pve1", "kind": "lxc", "hostname": "abrantes-dms", "vmid": 10102, "cores": 1,
         "memory": 512, "disk_gib": 4, "storage": "lab-guests", "bridge": "vcnt", "ip": "10.101.0.12/24",
         "gateway": "10.101.0.1", "tags": ["municipality.abrantes", "owner.abrantes", "service.dms",
                                           "data.internal"], "pool": "abrantes"}


@pytest.mark.engine
def test_policy_analyze_of_a_stack_state_with_its_stack_and_config_in_the_environment(tmp_path: Path) -> None:
    runtime = {"name": "python", "options": {"virtualenv": str(project.CHECKOUT / ".venv")}}
    (tmp_path / "Pulumi.yaml").write_text(yaml.safe_dump({"name": "analyzetest", "runtime": runtime}))
    (tmp_path / "__main__.py").write_text(ECHOED_GUEST)
    (tmp_path / "home").mkdir()
    env = {**Workspace(tmp_path / "home").pulumi_env(), "PATH": project.run_env()["PATH"]}
    pulumi = str(project.CHECKOUT / ".tools" / "bin" / "pulumi")

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([pulumi, *args, "--non-interactive", "--stack", "t-abrantes"], cwd=tmp_path,
                              env={**env, **extra}, capture_output=True, text=True, check=False, timeout=300)

    subprocess.run([pulumi, "stack", "init", "t-abrantes", "--non-interactive"], cwd=tmp_path, env=env,
                   capture_output=True, check=True, timeout=120)
    config = {"partilha:env": "t", "partilha:inventory": str(LAB_INVENTORY), "test:guest": json.dumps(GUEST)}
    for key, value in config.items():
        assert run("config", "set", key, value).returncode == 0
    made = run("up", "--yes")
    assert made.returncode == 0, made.stdout + made.stderr
    analyze = ("policy", "analyze", "--policy-pack", str(policy_gate.PACK))

    unknown = run(*analyze)
    assert unknown.returncode != 0
    assert "stack : `partilha:env` (not set) does not name its env" in unknown.stderr, unknown.stderr
    assert "Traceback" not in unknown.stdout + unknown.stderr

    analyzed = run(*analyze, PULUMI_STACK="t-abrantes", PULUMI_CONFIG=json.dumps(config))
    output = analyzed.stdout + analyzed.stderr
    assert analyzed.returncode != 0, output
    assert "PTL-POL-NET-02" in output and "on VNet vcnt, not its own (vabt)" in output, output
    assert "Traceback" not in output
