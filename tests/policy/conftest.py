"""The policy pack through the real Pulumi engine: `pulumi preview --policy-pack policies` of a
small program (tests/policy/program) declaring the resources a case lists. Previews of new
resources make no API call, so no lab is needed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi import automation as auto

from partilha.automation import engine, policy_gate, project
from partilha.automation.policy_gate import PolicyResult
from partilha.workspace import Workspace

PROGRAM = Path(__file__).parent / "program"
LAB_INVENTORY = project.CHECKOUT / "inventories" / "lab"

Preview = Callable[..., list[PolicyResult]]


@pytest.fixture
def preview(tmp_path: Path) -> Preview:
    """preview(stack, resources, inventory=lab, pack=policies/) -> the pack's results."""
    (tmp_path / "Pulumi.yaml").write_text(yaml.safe_dump({
        "name": "policytest", "main": str(PROGRAM),
        "runtime": {"name": "python", "options": {"virtualenv": str(project.CHECKOUT / ".venv")}}}))
    (tmp_path / "home").mkdir()
    env = {**Workspace(tmp_path / "home").pulumi_env(), "PATH": project.run_env()["PATH"]}

    def run(stack: str, resources: list[dict[str, Any]], inventory: Path = LAB_INVENTORY,
            pack: Path = policy_gate.PACK) -> list[PolicyResult]:
        case = tmp_path / f"{stack}.json"
        case.write_text(json.dumps(resources))
        options = auto.LocalWorkspaceOptions(env_vars=env, pulumi_command=project.pulumi_command())
        made = auto.create_or_select_stack(stack, work_dir=str(tmp_path), opts=options)
        made.set_all_config({"partilha:env": auto.ConfigValue("t"),
                             "partilha:inventory": auto.ConfigValue(str(inventory)),
                             "test:case": auto.ConfigValue(str(case))})
        found: list[PolicyResult] = []

        def on_event(event: auto.EngineEvent) -> None:
            if (result := policy_gate.result(stack, event)) is not None:
                found.append(result)

        try:
            engine.run(made, "preview", on_event, policy_packs=[pack])
        except auto.CommandError:
            assert any(r.blocks for r in found), "the preview failed without a mandatory violation"
        return found

    return run


@pytest.fixture
def inventory_copy(tmp_path: Path) -> Callable[[str], Path]:
    """A copy of the lab inventory with `waivers.yaml` holding the text given."""
    def make(waivers: str) -> Path:
        folder = tmp_path / "inventory"
        shutil.copytree(LAB_INVENTORY, folder)
        (folder / "waivers.yaml").write_text(waivers)
        return folder
    return make
