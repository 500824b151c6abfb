"""`partilha audit` of a lab env after its `up`: wall time and the time per evidence source (the
pack over the refreshed state, verify's results, the token matrix, the probe, backups, the
root@pam preflight). By default the lab inventory and then Médio Tejo (≈ 60 guests, 13
municipalities: a 13 x 13 token matrix) on the lab. Nothing is deployed, backed up, verified or
probed first: those rows fail or read "not proven", and cost what reading their files costs
(the probe's own time is bench/probe.py's).

    .venv/bin/python bench/audit.py [--inventory inventories/lab] [--parallel 4]

The storages become directories, as in bench/up_medio_tejo.py.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import labbench
import up_medio_tejo
import upbench


def one(inventory: Path, parallel: int) -> None:
    with tempfile.TemporaryDirectory(prefix="partilha-bench-") as tmp, \
            upbench.operator(labbench.on_free_subnets(up_medio_tejo.with_dir_storages(
                labbench.ROOT / inventory, Path(tmp) / "inventory"))) as op:
        up = op.partilha("up", "--env", upbench.ENV, "--lab", "--inventory", str(op.lab.inventory),
                         "--parallel", str(parallel))
        started = time.monotonic()
        # exit 1 or 3 are verdicts here (no backup was made, verify and probe did not run)
        done = subprocess.run([str(labbench.ROOT / ".venv" / "bin" / "partilha"), "audit", "--env",
                               upbench.ENV], env=op.env, cwd=op.home, check=False)
        seconds = time.monotonic() - started
        if done.returncode not in (0, 1, 3):
            raise SystemExit(f"`partilha audit` could not run (exit {done.returncode})")
        found = json.loads((op.home / ".partilha" / "reports" / upbench.ENV / "audit.json").read_text())
        rows = sum(len(i["evidence"]) for i in found["items"])
        print(f"\naudit of {inventory.name} (up before it: {up:.0f} s): wall time {seconds:.1f} s, "
              f"{len(found['items'])} rules and tests, {rows} evidence rows, verdict {found['verdict']}")
        for source, taken in found["seconds_per_source"].items():
            print(f"  {source}: {taken:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", type=Path, action="append",
                        help="inventories to audit (default: inventories/lab, then Médio Tejo)")
    parser.add_argument("--parallel", type=int, default=4, help="municipality stacks side by side")
    args = parser.parse_args()
    for inventory in args.inventory or [Path("inventories/lab"), up_medio_tejo.INVENTORY]:
        one(inventory, args.parallel)


if __name__ == "__main__":
    main()
