"""A second `partilha up` of Médio Tejo, nothing having changed: API writes (must be 0), reads per
resource (≤ 2) and wall time (target ≤ 60 s). The first `up` is bench/up_medio_tejo.py's, whose
figures are printed too.

    .venv/bin/python bench/noop_up.py [--parallel 4]
"""

from __future__ import annotations

import argparse

import up_medio_tejo
import upbench

from partilha.lab import access_log

TARGET_SECONDS = 60.0
READS_PER_RESOURCE = 2.0


def second_up(op: upbench.Operator, parallel: int) -> None:
    mark = access_log.mark(op.lab.state_dir)
    seconds = op.partilha("up", "--env", upbench.ENV, "--parallel", str(parallel))
    entries = access_log.read(op.lab.state_dir, mark)
    writes = [f"{e.method} {e.path}" for e in entries if e.write]
    resources = op.resources()
    reads = len(entries) - len(writes)
    print(f"\nno-op up of Médio Tejo: {seconds:.1f} s wall time (target ≤ {TARGET_SECONDS:.0f} s: "
          f"{'met' if seconds <= TARGET_SECONDS else 'MISSED'})")
    print(f"API writes: {len(writes)} (must be 0){': ' + ', '.join(writes[:10]) if writes else ''}")
    print(f"API reads: {reads} for {resources} resources = {reads / max(resources, 1):.2f} per resource "
          f"(target ≤ {READS_PER_RESOURCE:g})")
    upbench.print_calls(entries, top=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parallel", type=int, default=4, help="municipality stacks side by side")
    parallel = parser.parse_args().parallel
    up_medio_tejo.up_medio_tejo(parallel, then=lambda op: second_up(op, parallel))


if __name__ == "__main__":
    main()
