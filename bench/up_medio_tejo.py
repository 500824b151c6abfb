"""`partilha up` of Médio Tejo (13 municipalities and the CIM's shared services) on a lab realising
inventories/medio-tejo, guests realised: wall time (target ≤ 15 min on 2 cores) and the machine's
peak memory in use. With --noop, then a second `up` (bench/noop_up.py).

    .venv/bin/python bench/up_medio_tejo.py [--parallel 4]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import labbench
import upbench

from partilha.lab import access_log

TARGET_SECONDS = 15 * 60
INVENTORY = "inventories/medio-tejo"


def up_medio_tejo(parallel: int, then: Callable[[upbench.Operator], None] | None = None) -> None:
    with upbench.operator(labbench.ROOT / INVENTORY) as op:
        mark = access_log.mark(op.lab.state_dir)
        with upbench.PeakMemory() as memory:
            seconds = op.partilha("up", "--env", upbench.ENV, "--inventory", INVENTORY,
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
