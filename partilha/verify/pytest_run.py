"""`partilha verify`: tests/infra run by pytest over a fleet, then the reports.

pytest runs as its own process, as a user would run it (`pytest tests/infra --fleet ...`);
it writes JUnit XML and the per-control outcomes, from which the Markdown report is made; the
latest probe found beside them (partilha.verify.isolation) joins both reports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from partilha.deploy.catalogue import all_controls
from partilha.errors import UserError
from partilha.verify.isolation import Isolation, section
from partilha.verify.report import Outcomes, markdown
from partilha.workspace import CHECKOUT

TIMEOUT = 3600


@dataclass(frozen=True)
class Verification:
    outcomes: Outcomes
    isolation: Isolation | None  # the latest probe's
    junit: Path
    report: Path
    seconds: float


SUITES = {"baseline": ("test_baseline.py",), "hypervisor": ("test_hypervisor.py",),
          "services": ("test_services*.py",), "all": ("test_*.py",)}


def suite_files(what: str, infra: Path) -> list[Path]:
    """tests/infra's files for `what` (baseline | hypervisor | services | all)."""
    if what not in SUITES:
        raise UserError(f"unknown suite {what!r}: choose {', '.join(SUITES)}")
    files = sorted({p for pattern in SUITES[what] for p in infra.glob(pattern)})
    if not files:
        raise UserError(f"no {what} tests in {infra}")
    return files


def verify_fleet(fleet_file: Path, out_dir: Path, *, what: str = "all", hosts: Sequence[str] = (),
                 on_line: Callable[[str], None] | None = None) -> Verification:
    """Run tests/infra's `what` suite on the fleet's hosts (or `hosts` of it)."""
    root = CHECKOUT
    out_dir.mkdir(parents=True, exist_ok=True)
    junit, report = out_dir / "verify.junit.xml", out_dir / "verify.md"
    outcomes_json = out_dir / "verify.json"
    outcomes_json.unlink(missing_ok=True)
    tests = [str(p) for p in suite_files(what, root / "tests" / "infra")]
    argv = [sys.executable, "-m", "pytest", *tests, "--rootdir", str(root),
            "--fleet", str(fleet_file), "--junitxml", str(junit), "--controls-json", str(outcomes_json),
            "-p", "no:cacheprovider", "-q", "--no-header", "-o", "console_output_style=classic"]
    if hosts:
        argv.append(f"--hosts={','.join(hosts)}")
    started = time.monotonic()
    lines: list[str] = []
    with subprocess.Popen(argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          stdin=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"}) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if on_line:
                on_line(lines[-1])
        proc.wait(timeout=TIMEOUT)
    if not outcomes_json.is_file():
        tail = "; ".join(line for line in lines[-5:] if line.strip())
        raise UserError(f"the infra tests did not run (pytest exit {proc.returncode}): {tail}")
    outcomes = Outcomes.load(outcomes_json)
    isolation = Isolation.load(out_dir)
    data = json.loads(outcomes_json.read_text())
    outcomes_json.write_text(json.dumps({**data, "isolation": isolation and isolation.as_json()}, indent=1))
    titles = {cid: c.title for cid, c in all_controls().items()}
    when = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    report.write_text(markdown(outcomes, titles, when) + section(isolation))
    return Verification(outcomes, isolation, junit, report, time.monotonic() - started)
