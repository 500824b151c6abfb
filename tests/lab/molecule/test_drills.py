"""The Molecule drills (molecule/), run as CI runs them: `molecule test` of baseline and dr-restore,
each on its own throwaway lab. The baseline drill is kept after its run for the faults: a control
broken on a guest makes verify fail naming the control and the guest, and a guest whose host key
changed after it was pinned makes converge and verify fail naming it (Molecule's own host-key
settings do not reach partilha). dr-restore-corrupt's side effect and verify run on dr-restore's
lab, whose create and converge it shares. Then destroy leaves no container, bridge or nftables
table of a drill."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from partilha.inventory import guests, load_inventory

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[3]
BIN = ROOT / ".venv" / "bin"


@dataclass
class Drill:
    scenario: str
    ephemeral: Path
    output: str = ""  # of `molecule test`

    def __call__(self, *args: str, timeout: float = 1500) -> subprocess.CompletedProcess[str]:
        """`molecule ARGS -s SCENARIO`, from the checkout, as a user runs it."""
        env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "NO_COLOR": "1",
               "ANSIBLE_NOCOLOR": "1", "MOLECULE_EPHEMERAL_DIRECTORY": str(self.ephemeral)}
        return subprocess.run([str(BIN / "molecule"), *args, "-s", self.scenario], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=timeout, check=False)

    @property
    def prefix(self) -> str:
        found = re.search(r"drill lab: prefix (\S+),", self.output)
        assert found, self.output[-3000:]
        return found[1]

    def container(self, guest: str) -> str:
        inventory = load_inventory(self.ephemeral / "home" / "inventory")
        [vmid] = [g.vmid for g in guests(inventory) if g.name == guest]
        return f"{self.prefix}{vmid}"

    def attach(self, guest: str, script: str) -> None:
        done = subprocess.run(["lxc-attach", "-n", self.container(guest), "--", "sh", "-c", script],
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr


def passed(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    return run.stdout + run.stderr


def failed(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode != 0, run.stdout[-6000:]
    assert "Traceback" not in run.stdout + run.stderr, run.stdout[-6000:]
    return run.stdout + run.stderr


def leftovers(prefix: str) -> list[str]:
    """Containers, bridges and the nftables table of a drill's lab that are still there."""
    found = [n for n in subprocess.run(["lxc-ls", "-1"], capture_output=True, text=True,
                                       check=False).stdout.split() if n.startswith(prefix)]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=False).stdout
    found += re.findall(rf"^\d+: ({re.escape(prefix)}\S*?)[:@]", links, re.MULTILINE)
    table = f"partilha_{prefix.rstrip('-')}"
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=False).stdout
    return found + ([table] if table in tables.split() else [])


def kept(scenario: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drill]:
    """`molecule test` of the scenario, its lab kept for the tests; destroyed at the end whatever they did."""
    drill = Drill(scenario, tmp_path_factory.mktemp(f"molecule-{scenario}"))
    try:
        run = drill("test", "--destroy", "never")
        drill.output = run.stdout + run.stderr
        yield drill
    finally:
        drill("destroy")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drill]:
    yield from kept("baseline", tmp_path_factory)


def test_the_baseline_drill_converges_then_changes_nothing_then_verifies(baseline: Drill) -> None:
    out = baseline.output
    assert "Traceback" not in out and "failed=0" in out, out[-6000:]
    converges = re.findall(r"TASK \[The baseline on the node hosts and the guests \(partilha deploy\)\]"
                           r"\s*\*+\s*(changed|ok): \[localhost\]", out)
    assert converges == ["changed", "ok"], out[-6000:]  # the idempotence step saw pyinfra change nothing
    assert re.search(r"idempotence.*Executed: Successful", out), out[-6000:]
    assert re.search(r"verify.*Executed: Successful", out) and "4 failed" not in out, out[-6000:]


def test_a_broken_control_and_a_changed_host_key_fail_the_drill_naming_them(baseline: Drill) -> None:
    """One guest breaks a control, the other's host key changes after it was pinned: verify names
    both, converge names the second (and puts the first's control back); with the pinned key back,
    the same drill verifies again."""
    baseline.attach("abrantes-portal",
                    "echo 'PasswordAuthentication yes' > /etc/ssh/sshd_config.d/00-broken.conf")
    baseline.attach("cim-medio-tejo-gis",
                    "mkdir -p /root/keys && cp -a /etc/ssh/ssh_host_* /root/keys/ "
                    "&& rm /etc/ssh/ssh_host_* && ssh-keygen -A -q && systemctl restart ssh")
    try:
        verify = failed(baseline("verify"))
        assert "PTL-SSH-01 on abrantes-portal" in verify, verify[-6000:]
        assert "passwordauthentication" in verify
        assert "cim-medio-tejo-gis refused" in verify and "not the one pinned" in verify, verify[-6000:]
        converge = failed(baseline("converge"))
        pinned = r"cim-medio-tejo-gis \(\S+\): its SSH host key is not the one pinned in"
        assert re.search(pinned, converge), converge[-6000:]
    finally:
        baseline.attach("cim-medio-tejo-gis", "rm /etc/ssh/ssh_host_* && cp -a /root/keys/* /etc/ssh/ "
                                              "&& rm -r /root/keys && systemctl restart ssh")
    passed(baseline("verify"))  # the drop-in that broke PTL-SSH-01 went with that converge


def test_destroy_leaves_nothing_of_the_drill(baseline: Drill) -> None:
    passed(baseline("destroy"))
    assert leftovers(baseline.prefix) == []
    assert not (baseline.ephemeral / "home").exists()


@pytest.fixture(scope="module")
def restored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drill]:
    yield from kept("dr-restore", tmp_path_factory)


def test_the_dr_restore_drill_brings_the_data_back_and_reports_rto_and_rpo(restored: Drill) -> None:
    out = restored.output
    assert "Traceback" not in out, out[-6000:]
    assert re.search(r"dr-restore > verify\] Executed: Successful", out), out[-6000:]
    assert re.search(r"idempotence\] Executed: Successful", out) and "The same as before the disaster" in out
    achieved = r"RTO achieved [\d.]+ s \(target [\d.]+ s\); RPO achieved [\d.]+ s \(target [\d.]+ s\)"
    assert re.search(achieved, out), out[-6000:]


def test_the_corrupt_archive_drill_falls_back_to_the_archive_before(restored: Drill) -> None:
    """dr-restore-corrupt's side effect and verify, on dr-restore's lab (its create and converge are
    dr-restore's own playbooks): a newer backup, cut in half, skipped and said so; the records back."""
    corrupt = Drill("dr-restore-corrupt", restored.ephemeral)
    out = passed(corrupt("side-effect"))
    assert "The runbook said it skipped the altered archive" in out
    out = passed(corrupt("verify"))
    assert re.search(r"restored \S+vzdump-lxc-\d+-\S+; skipped \S+vzdump-lxc-\d+-", out), out[-6000:]


def test_the_dr_drills_leave_nothing(restored: Drill) -> None:
    passed(restored("destroy"))
    assert leftovers(restored.prefix) == []
