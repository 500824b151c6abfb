"""How fast `partilha` starts: the median wall and CPU time of a few quick commands over N runs,
against the floor any typer CLI pays (`python -c "import typer"`) and Python's own start
(`python -c pass`), both measured in the same run, interleaved with the commands.

    .venv/bin/python bench/cli_start.py [--runs 10]

Nothing is touched: `lab status` and `env` run with PARTILHA_HOME in a throwaway folder (no lab
there: one line says so), the rest only read the checkout.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PYTHON = [sys.executable, "-c"]
PARTILHA = [str(BIN / "partilha")]
BASELINE = "python -c 'import typer'"
CASES: dict[str, list[str]] = {
    "python -c pass": [*PYTHON, "pass"],
    BASELINE: [*PYTHON, "import typer"],
    "partilha --help": [*PARTILHA, "--help"],
    "partilha up --help": [*PARTILHA, "up", "--help"],
    "partilha lab status (no lab)": [*PARTILHA, "lab", "status"],
    "partilha env": [*PARTILHA, "env"],
    "partilha dr list": [*PARTILHA, "dr", "list"],
    "partilha policy rules": [*PARTILHA, "policy", "rules"],
    "partilha inventory validate lab": [*PARTILHA, "inventory", "validate", "inventories/lab"],
}


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU user+system) seconds of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False, timeout=120)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each command")
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="cli-start-") as home:
        env = {**os.environ, "PARTILHA_HOME": home, "COLUMNS": "120"}
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in CASES}
        for _ in range(runs):  # interleaved: a burst of load hits every command alike
            for name, argv in CASES.items():
                samples[name].append(timed(argv, env))
    wall = {n: statistics.median(w for w, _ in s) for n, s in samples.items()}
    cpu = {n: statistics.median(c for _, c in s) for n, s in samples.items()}
    print(f"median of {runs} runs; load average {Path('/proc/loadavg').read_text().strip()}")
    print(f"{'command':<34} {'wall s':>7} {'CPU s':>7} {'wall / baseline':>16} {'CPU / baseline':>15}")
    for name in CASES:
        print(f"{name:<34} {wall[name]:7.3f} {cpu[name]:7.3f} {wall[name] / wall[BASELINE]:16.2f} "
              f"{cpu[name] / cpu[BASELINE]:15.2f}")
    print(f"baseline: {BASELINE}")


if __name__ == "__main__":
    main()
