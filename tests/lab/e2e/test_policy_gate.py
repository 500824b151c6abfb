"""The policy pack stops `partilha up` before any write, on a throwaway lab: a municipality's
guest put on another municipality's VNet (a test-only override of the real program, moved_guest/)
stops `up` with 0 API writes, naming rule, stack, resource and why; an expired waiver does not
change that; valid ones (the guest's VNet, and its municipality's grants on that VNet) let it
through and are reported."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from ipaddress import IPv4Network
from pathlib import Path

import pytest
import yaml

from partilha.automation import project
from partilha.lab.instance import LabInstance
from partilha.workspace import Workspace

from .conftest import ROOT, Cli, lab_cli

pytestmark = pytest.mark.lab
PROGRAM = Path(__file__).parent / "moved_guest"
MOVE = {"PARTILHA_TEST_MOVE": "abrantes-intranet=vcnt"}
WAIVED = [("PTL-POL-NET-02", "abrantes-intranet"), ("PTL-POL-IAM-02", "abrantes-user-vnet-vcnt"),
          ("PTL-POL-IAM-02", "abrantes-token-vnet-vcnt")]


@pytest.fixture(scope="module")
def small(lab: LabInstance, tmp_path_factory: pytest.TempPathFactory,
          subnet_pool: Callable[[int], list[IPv4Network]]) -> Cli:
    """The lab inventory with one guest (abrantes-intranet), run by the moved_guest program."""

    def one_guest_moved(work: Path, inventory: Path) -> None:
        tenants = yaml.safe_load((inventory / "municipalities.yaml").read_text())
        for tenant in tenants["municipalities"]:
            tenant["services"] = {"intranet": None} if tenant["slug"] == "abrantes" else {}
        tenants["shared"]["services"] = {}
        (inventory / "municipalities.yaml").write_text(yaml.safe_dump(tenants, allow_unicode=True))
        settings = yaml.safe_load((work / "Pulumi.yaml").read_text())
        (work / "Pulumi.yaml").write_text(yaml.safe_dump({**settings, "main": str(PROGRAM)}, sort_keys=False))

    return lab_cli(lab, tmp_path_factory.mktemp("policy"), subnet_pool, one_guest_moved)


def _waivers(cli: Cli, until: str) -> None:
    config = yaml.safe_load((cli.project / "Pulumi.lab-abrantes.yaml").read_text())["config"]
    waivers = [{"rule": rule, "resource": resource, "who": "Ana Costa (CISO)",
                "why": "moving to Constância's network (change 114)", "until": until}
               for rule, resource in WAIVED]
    (Path(config["partilha:inventory"]) / "waivers.yaml").write_text(
        yaml.safe_dump({"waivers": waivers}, allow_unicode=True))


def _stopped(cli: Cli, run: subprocess.CompletedProcess[str], since: int) -> None:
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert "PTL-POL-NET-02 [mandatory] lab-abrantes abrantes-intranet: guest abrantes-intranet of tenant " \
           "abrantes is on VNet vcnt, not its own (vabt)" in run.stderr
    assert [f"{e.method} {e.path}" for e in cli.calls(since) if e.write] == []


def test_a_guest_on_another_municipalitys_vnet_stops_up_before_any_write(small: Cli) -> None:
    platform = small("up", "--only", "platform")
    assert platform.returncode == 0, platform.stdout + platform.stderr
    since = small.mark()
    _stopped(small, small("up", "--only", "abrantes", **MOVE), since)
    shown = small("preview", "--only", "abrantes", **MOVE)  # shows the results, changes nothing
    assert shown.returncode == 1 and "Traceback" not in shown.stdout + shown.stderr
    assert any("PTL-POL-NET-02" in row and "mandatory" in row and "abrantes-intranet" in row
               for row in shown.stdout.splitlines()), shown.stdout
    env = {**small.env, **project.run_env(Workspace(small.home)), **MOVE}
    plain = subprocess.run([str(ROOT / ".tools" / "bin" / "pulumi"), "preview", "--stack", "lab-abrantes",
                            "--policy-pack", str(ROOT / "policies"), "--color", "never"], cwd=small.project,
                           env=env, capture_output=True, text=True, timeout=300, check=False)
    # Pulumi 3.260 shows "- [mandatory] [severity: critical]  PTL-POL-NET-02 (...)"
    assert plain.returncode != 0 and any("[mandatory]" in line and "PTL-POL-NET-02" in line
                                         for line in plain.stdout.splitlines()), plain.stdout
    assert [f"{e.method} {e.path}" for e in small.calls(since) if e.write] == []


def test_an_expired_waiver_does_not_count(small: Cli) -> None:
    _waivers(small, "2020-01-31")
    since = small.mark()
    run = small("up", "--only", "abrantes", **MOVE)
    _stopped(small, run, since)
    assert "(waiver expired 2020-01-31)" in run.stderr


def test_a_waiver_naming_no_rule_is_one_line_before_any_call(small: Cli) -> None:
    config = yaml.safe_load((small.project / "Pulumi.lab-abrantes.yaml").read_text())["config"]
    waivers = Path(config["partilha:inventory"]) / "waivers.yaml"
    waivers.write_text("waivers:\n  - { rule: PTL-POL-NOPE-01, resource: abrantes-intranet, who: Ana,\n"
                       "      why: test, until: '2999-01-31' }\n")
    since = small.mark()
    run = small("up", "--only", "abrantes", **MOVE)
    assert run.returncode == 1 and "Traceback" not in run.stdout + run.stderr
    [line] = run.stderr.strip().splitlines()
    assert f"{waivers}:2: waivers[0].rule: PTL-POL-NOPE-01 is not a rule of the policy pack" in line
    assert small.calls(since) == []


def test_a_valid_waiver_lets_it_through_and_is_reported(small: Cli) -> None:
    _waivers(small, "2999-01-31")
    run = small("up", "--only", "platform", "--only", "abrantes", **MOVE)
    assert run.returncode == 0, run.stdout + run.stderr
    rows = [line for line in run.stdout.splitlines() if "PTL-POL-WAIVED" in line]
    for rule, resource in WAIVED:
        assert any(f" {resource} " in row and f" {rule}: " in row for row in rows), run.stdout
    assert "waived by Ana Costa (CISO) until 2999-01-31" in " ".join(run.stdout.split())
    assert small.outputs("lab-abrantes")["guests"]["abrantes-intranet"]["vnet"] == "vcnt"
