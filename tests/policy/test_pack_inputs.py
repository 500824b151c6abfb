"""Bad input around the pack: a pack that does not load, a waiver naming no rule of it — each one
clear line naming where."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from partilha.automation import envs, policy_gate
from partilha.automation.envs import StackSpec
from partilha.errors import UserError
from partilha.inventory import load_inventory
from partilha.policy import catalogue
from partilha.policy.waivers import unknown_rules
from partilha.workspace import Workspace


def test_every_rule_carries_its_metadata_and_a_unique_id() -> None:
    rules = policy_gate.load_rules()
    assert len({r.id for r in rules}) == len(rules) >= 15
    for rule in rules:
        assert rule.title and rule.description and rule.rationale and rule.remediation, rule.id
        frameworks = {c.framework for c in rule.controls}
        assert {"NIS2", "ISO/IEC 27001:2022"} <= frameworks, rule.id


def test_a_pack_that_does_not_load_is_one_line_naming_the_file(tmp_path: Path) -> None:
    pack = tmp_path / "policies"
    shutil.copytree(policy_gate.PACK, pack, ignore=shutil.ignore_patterns("__pycache__"))
    (pack / "rules" / "quota.py").write_text("QUOTA_RULES = [\n")
    with pytest.raises(UserError) as caught:
        policy_gate.load_rules(pack)
    message = str(caught.value)
    assert "\n" not in message and "quota.py:1" in message and "does not load: SyntaxError" in message


def test_a_waiver_naming_an_unknown_rule_is_one_line_with_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "inventory"
    shutil.copytree(Path(policy_gate.CHECKOUT) / "inventories" / "lab", folder)
    (folder / "waivers.yaml").write_text(
        "waivers:\n  - rule: PTL-POL-NOPE-01\n    resource: abrantes-dms\n    who: Ana\n"
        "    why: test\n    until: '2999-01-01'\n")
    inventory = load_inventory(folder)
    ids = {r.id for r in policy_gate.load_rules()}
    [problem] = unknown_rules(folder, inventory.waivers, ids)
    assert problem.startswith(f"{folder / 'waivers.yaml'}:2: waivers[0].rule: PTL-POL-NOPE-01 is not a rule")


def test_a_waiver_missing_its_reason_is_refused_by_the_inventory(tmp_path: Path) -> None:
    folder = tmp_path / "inventory"
    shutil.copytree(Path(policy_gate.CHECKOUT) / "inventories" / "lab", folder)
    (folder / "waivers.yaml").write_text(
        "waivers:\n  - { rule: PTL-POL-NET-02, resource: x, who: Ana, until: '2999-01-01' }\n")
    with pytest.raises(Exception, match=r"waivers.yaml:2: waivers\[0\]\.why: missing"):
        load_inventory(folder)


def test_no_stack_acts_as_root_at_pam_outside_the_lab(tmp_path: Path) -> None:
    inventory = Path(__file__).resolve().parents[2] / "inventories" / "lab"
    prod = envs.load_env("prod", inventory, workspace=Workspace(tmp_path))
    root = {"PROXMOX_VE_ENDPOINT": "https://pve.cim.example:8006",
            "PROXMOX_VE_API_TOKEN": "root@pam!ops=00000000-0000-0000-0000-000000000000"}
    platform = StackSpec("prod", "platform")
    with pytest.raises(UserError, match=r"^PTL-POL-IAM-03: prod-platform would act as root@pam"):
        policy_gate.check_root(prod, platform, {}, root)
    named = {**root, "PROXMOX_VE_API_TOKEN": "partilha@pve!ops=00000000-0000-0000-0000-000000000000"}
    policy_gate.check_root(prod, platform, {}, named)
    lab = envs.load_env("trial", inventory, lab=True, workspace=Workspace(tmp_path))
    policy_gate.check_root(lab, StackSpec("trial", "platform"), {}, root)


def test_the_readme_describes_the_rules_as_generated() -> None:
    committed = catalogue.committed((policy_gate.PACK / "README.md").read_text())
    assert committed == catalogue.markdown(policy_gate.load_rules()), (
        "policies/README.md is stale: regenerate its rules with `partilha policy rules --markdown`")
