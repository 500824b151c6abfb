"""`partilha up` of the lab inventory from empty: wall time, and the API calls it made by method
and route (from the lab's access log).

    .venv/bin/python bench/up_lab.py [--parallel 4]

A throwaway lab instance of inventories/lab and a throwaway operator home (bench/upbench.py);
everything is removed at the end.
"""

from __future__ import annotations

import argparse

import labbench
import upbench

from partilha.lab import access_log

INVENTORY = labbench.ROOT / "inventories" / "lab"

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parallel", type=int, default=4, help="municipality stacks side by side")
    args = parser.parse_args()
    with upbench.operator(INVENTORY) as op:
        mark = access_log.mark(op.lab.state_dir)
        with upbench.PeakMemory() as memory:
            seconds = op.partilha("up", "--env", upbench.ENV, "--inventory", str(INVENTORY),
                                  "--parallel", str(args.parallel))
        entries = access_log.read(op.lab.state_dir, mark)
        print(f"\nup of the lab env from empty: {seconds:.0f} s wall time, {op.resources()} resources")
        upbench.print_calls(entries)
        print(memory.report())


if __name__ == "__main__":
    main()
