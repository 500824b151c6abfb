"""`partilha probe` of Médio Tejo (≈ 60 guests, every guest to every other and the management
network to every guest, on 5 ports) on a lab realising inventories/medio-tejo, after its `up`:
wall time of the probe (target ≤ 60 s on 2 cores) and pairs per second. `--inventory
inventories/lab` probes the small lab inventory instead.

    .venv/bin/python bench/probe.py [--inventory inventories/medio-tejo] [--parallel 4]

The storages become directories, as in bench/up_medio_tejo.py.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import labbench
import up_medio_tejo
import upbench

TARGET_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", type=Path, default=up_medio_tejo.INVENTORY)
    parser.add_argument("--parallel", type=int, default=4, help="municipality stacks side by side")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="partilha-bench-") as tmp, \
            upbench.operator(up_medio_tejo.with_dir_storages(
                labbench.ROOT / args.inventory, Path(tmp) / "inventory")) as op:
        up = op.partilha("up", "--env", upbench.ENV, "--lab", "--inventory", str(op.lab.inventory),
                         "--parallel", str(args.parallel))
        seconds = op.partilha("probe", "--env", upbench.ENV)
        found = json.loads((op.home / ".partilha" / "reports" / upbench.ENV / "probe.json").read_text())
        guests = len({p["to"] for p in found["pairs"]})
        pairs = len(found["pairs"])
        print(f"\nprobe of {args.inventory.name}: {guests} guests x {len(found['ports'])} ports, "
              f"{pairs} pairs (up before it: {up:.0f} s)")
        print(f"wall time {seconds:.1f} s (target ≤ {TARGET_SECONDS:.0f} s: "
              f"{'met' if seconds <= TARGET_SECONDS else 'MISSED'}), {pairs / seconds:.0f} pairs/s, "
              f"{len(found['unexpected'])} unexpected")


if __name__ == "__main__":
    main()
