"""The Pulumi program (stacks/) is a user of partilha's engine, never of its lab: a stack runs the
same against a real cluster, with nothing of the lab loaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

STACKS = Path(__file__).resolve().parents[2] / "stacks"
IMPORT_ALL = """
import importlib, pathlib, sys
for path in sorted(pathlib.Path(".").rglob("*.py")):
    if path.name != "__main__.py":
        importlib.import_module(".".join(path.with_suffix("").parts).removesuffix(".__init__"))
print(sorted(m for m in sys.modules if m == "partilha.lab" or m.startswith("partilha.lab.")))
"""


def test_no_stacks_module_loads_the_lab() -> None:
    run = subprocess.run([sys.executable, "-c", IMPORT_ALL], cwd=STACKS, capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "[]\n"
