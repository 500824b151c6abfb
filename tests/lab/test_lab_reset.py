"""`partilha lab reset` forgets the envs `lab up` made for the lab: a lab made again is a new
cluster, and their stacks' state and their municipalities' tokens would name users, tokens and
guests it no longer has. Only those envs: another env's stacks in the same state backend and its
tokens, a production env's above all, stay as they were."""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import pytest
import yaml

from partilha.automation import project
from partilha.inventory import load_inventory
from partilha.lab import LabInstance, control, free_port, free_subnets, relocated
from partilha.proxmox.token_store import TokenStore
from partilha.workspace import Workspace

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]


def test_reset_forgets_the_state_and_tokens_of_the_labs_envs_alone(tmp_path: Path) -> None:
    home = Workspace(tmp_path / "home")
    source = ROOT / "inventories" / "lab"
    inventory = relocated(source, tmp_path / "demo", free_subnets(len(load_inventory(source).networks.vnets)))
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_VE_", "PULUMI_"))}
    environ |= {"PARTILHA_HOME": str(home.root), "NO_COLOR": "1"}
    pulumi_env = {**environ, **project.run_env(home)}

    def partilha(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(ROOT / ".venv" / "bin" / "partilha"), *args], cwd=tmp_path, env=environ,
                              capture_output=True, text=True, timeout=300, check=False)

    def stacks(where: Path) -> set[str]:
        listed = subprocess.run([str(ROOT / ".tools" / "bin" / "pulumi"), "stack", "ls", "--all", "--json"],
                                cwd=where, env=pulumi_env, capture_output=True, text=True, timeout=120,
                                check=True)
        return {s["name"] for s in yaml.safe_load(listed.stdout)}

    def init(where: Path, *names: str) -> None:
        for name in names:
            subprocess.run([str(ROOT / ".tools" / "bin" / "pulumi"), "stack", "init", name], cwd=where,
                           env=pulumi_env, capture_output=True, timeout=120, check=True)

    up = partilha("lab", "up", "--inventory", str(inventory), "--port", str(free_port()),
                  "--prefix", f"r{secrets.token_hex(2)}-")
    try:
        assert up.returncode == 0, up.stderr
        # the lab env's stacks and tokens, as `partilha up --env demo` leaves them (the env is named
        # after the inventory's folder) ...
        lab_env = home.private / "envs" / "demo"
        init(lab_env, "demo-platform", "demo-abrantes")
        tokens = TokenStore(home.private / "tokens")
        tokens.write("demo-abrantes", "abrantes@pve!partilha=old")
        # ... beside a production env's, in the same backend and token store, named to catch a glob
        production = tmp_path / "production"
        project.write_project(production)
        for stack, config in (("demo-prod-platform", {}), ("demo-prod-abrantes",
                                                          {"partilha:tokenStore": "demo-prod-abrantes"})):
            config |= {"partilha:env": "demo-prod", "partilha:inventory": str(inventory)}
            (production / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))
        init(production, "demo-prod-platform", "demo-prod-abrantes")
        tokens.write("demo-prod-abrantes", "abrantes@pve!prod=kept")
        assert stacks(production) == {"demo-platform", "demo-abrantes", "demo-prod-platform",
                                      "demo-prod-abrantes"}

        reset = partilha("lab", "reset")
        assert reset.returncode == 0, reset.stderr
        assert "demo" in reset.stdout
    finally:
        if (home.private / "lab" / "instance.json").is_file():
            control.reset(LabInstance.load(home.private / "lab"))
    assert stacks(production) == {"demo-prod-platform", "demo-prod-abrantes"}
    state = home.private / "state"  # and nothing of the removed stacks' state is kept (no .json.bak)
    kept = [str(p.relative_to(state)) for p in state.rglob("*") if p.is_file()]
    assert [p for p in kept if "demo-platform" in p or "demo-abrantes" in p] == [], kept
    assert tokens.read("demo-abrantes") is None
    assert tokens.read("demo-prod-abrantes") == "abrantes@pve!prod=kept"
    assert (lab_env / "Pulumi.demo-platform.yaml").is_file()  # the env itself stays, for the next `lab up`
