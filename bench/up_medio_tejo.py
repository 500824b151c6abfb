"""`partilha up` of Médio Tejo (13 municipalities and the CIM's shared services) on a lab realising
inventories/medio-tejo, guests realised: wall time (target ≤ 15 min on 2 cores) and the machine's
peak memory in use. bench/noop_up.py runs a second `up` after it.

    .venv/bin/python bench/up_medio_tejo.py [--parallel 4]

The lab realises `dir` storages only, so the inventory is used with its Ceph RBD, LVM-thin, ZFS
and PBS storages turned into directories (same ids, sites, sharing and content): every other
part of it (nodes, VNets, municipalities, services, tiers) is as written.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import labbench
import upbench
import yaml

from partilha.lab import access_log

TARGET_SECONDS = 15 * 60
INVENTORY = labbench.ROOT / "inventories" / "medio-tejo"


def with_dir_storages(source: Path, target: Path) -> Path:
    """A copy of the inventory in `source` whose storages are all directories."""
    shutil.copytree(source, target)
    data = yaml.safe_load((target / "storage.yaml").read_text())
    for storage in data["storage"]:
        if storage["type"] != "dir":
            for key in ("server", "export", "datastore", "pool", "vgname", "thinpool"):
                storage.pop(key, None)
            storage.update(type="dir", path=f"/var/lib/partilha/lab/{storage['id']}")
    (target / "storage.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    return target


def up_medio_tejo(parallel: int, then: Callable[[upbench.Operator], None] | None = None) -> None:
    with tempfile.TemporaryDirectory(prefix="partilha-bench-") as tmp, \
            upbench.operator(with_dir_storages(INVENTORY, Path(tmp) / "medio-tejo")) as op:
        mark = access_log.mark(op.lab.state_dir)
        with upbench.PeakMemory() as memory:
            seconds = op.partilha("up", "--env", upbench.ENV, "--inventory", str(op.lab.inventory),
                                  "--parallel", str(parallel))
        entries = access_log.read(op.lab.state_dir, mark)
        print(f"\nup of Médio Tejo from empty: {seconds:.0f} s wall time (target ≤ {TARGET_SECONDS} s: "
              f"{'met' if seconds <= TARGET_SECONDS else 'MISSED'}), {op.resources()} resources, "
              f"parallel {parallel}")
        print(memory.report())
        upbench.print_calls(entries, top=12)
        if then is not None:
            then(op)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parallel", type=int, default=4, help="municipality stacks side by side")
    up_medio_tejo(parser.parse_args().parallel)


if __name__ == "__main__":
    main()
