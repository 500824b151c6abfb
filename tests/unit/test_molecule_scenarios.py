"""A static check of the Molecule scenarios, beside the run-time proof in tests/lab/molecule: each
one replaces Molecule's StrictHostKeyChecking=no and UserKnownHostsFile=/dev/null with the lab's
pinned keys, turns Ansible's host-key checking on, and no file under molecule/ turns any of it off;
every scenario is one `make test` runs."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.parent for p in (ROOT / "molecule").glob("*/molecule.yml"))
OFF = re.compile(r"StrictHostKeyChecking\s*=\s*(no|off|accept-new)|UserKnownHostsFile\s*=\s*/dev/null"
                 r"|host_key_checking\s*[:=]\s*(false|no|0)\b", re.IGNORECASE)


def test_there_are_scenarios_and_the_drills_test_runs_each() -> None:
    drills = (ROOT / "tests" / "lab" / "molecule" / "test_drills.py").read_text()
    assert [s.name for s in SCENARIOS] == ["baseline", "dr-restore", "dr-restore-corrupt"]
    assert all(re.search(rf'(Drill|kept)\("{s.name}"', drills) for s in SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_a_scenario_checks_host_keys_against_the_labs_pins(scenario: Path) -> None:
    config = yaml.safe_load((scenario / "molecule.yml").read_text())
    options = config["driver"]["ssh_connection_options"]
    assert "-o StrictHostKeyChecking=yes" in options
    assert "-o UserKnownHostsFile=${MOLECULE_EPHEMERAL_DIRECTORY}/home/.partilha/lab/known_hosts" in options
    assert config["provisioner"]["config_options"]["defaults"]["host_key_checking"] is True


def test_no_file_under_molecule_turns_host_key_checking_off() -> None:
    offending = [f"{p.relative_to(ROOT)}: {m[0]}" for p in (ROOT / "molecule").rglob("*")
                 if p.is_file() and p.suffix in (".yml", ".yaml", ".cfg", ".py", ".sh", ".ini")
                 for m in OFF.finditer(p.read_text())]
    assert offending == []


def test_lab_up_refuses_a_prefix_that_cannot_name_its_bridges(tmp_path: Path) -> None:
    """The drills' `partilha lab up --prefix`: a bad one is one line naming it, before any lab exists."""
    run = subprocess.run([str(ROOT / ".venv" / "bin" / "partilha"), "lab", "up", "--prefix", "Drill_"],
                         env={**os.environ, "PARTILHA_HOME": str(tmp_path), "NO_COLOR": "1"},
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert "lab prefix 'Drill_' must be a letter, up to 4 letters or digits and a hyphen" in run.stderr
    assert not (tmp_path / ".partilha" / "lab").exists()
