"""`partilha dr run verify-backups` of the whole lab env (15 guests) on a throwaway lab: the wall
time, each guest's seconds (p50, p90) and how much of them is restore, boot and checks.

    .venv/bin/python bench/verify_backups.py

A throwaway operator home and lab (bench/upbench.py) of a copy of inventories/lab on free
subnets: `up` of every stack, the baseline and the services deployed, partilha's vzdump hook in
the lab nodes' vzdump.conf (what `partilha deploy hypervisor` writes on real nodes), each guest
backed up (`partilha backup now`), then the runbook; everything is removed at the end.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from pathlib import Path

import dr_restore
import labbench
import upbench

from partilha.automation.envs import load_env
from partilha.deploy import stack_outputs
from partilha.deploy.fleet import Fleet
from partilha.deploy.hosts import build_hosts


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="partilha-bench-vb-") as tmp:
        inventory = dr_restore.relocated(Path(tmp) / "inventory")
        with upbench.operator(inventory) as op:
            op.partilha("up", "--env", upbench.ENV, "--lab", "--inventory", str(inventory))
            os.environ.update(op.env)
            env = load_env(upbench.ENV)
            guests = {name: g for stack in env.stacks() if stack.role != "platform"
                      for name, g in stack_outputs.stack_guests(env, stack.name).items()}
            fleet = Path(tmp) / "fleet.json"
            Fleet(env.name, tuple(build_hosts(env.inventory, guests, {}, env.name, lab=True)),
                  env.known_hosts(os.environ), env.workspace.ssh_key(True)).save(fleet)
            op.partilha("deploy", "baseline", "--fleet", str(fleet))
            op.partilha("deploy", "services", "--fleet", str(fleet))
            conf = op.lab.state_dir / "etc" / "vzdump.conf"
            conf.parent.mkdir(exist_ok=True)
            conf.write_text(f"script: {labbench.ROOT / 'backup' / 'hooks' / 'vzdump-partilha'}\n")
            for name in guests:
                op.partilha("backup", "now", name, "--env", upbench.ENV)
            wall = op.partilha("dr", "run", "verify-backups", "--yes", "--env", upbench.ENV)
            [run] = (op.home / ".partilha" / "state" / "partilha-dr" / "runs").glob("verify-backups-*")
            backups = json.loads((run / "report.json").read_text())["figures"]["backups"]
            per_guest = [b["seconds"] for b in backups]
            parts = {k: sum(b[k] or 0.0 for b in backups) for k in ("restore_s", "boot_s", "checks_s")}
            total = sum(per_guest)
            ok = sum(b["recoverable"] for b in backups)
            print(f"\nverify-backups of env {upbench.ENV}: {len(backups)} backups ({ok} recoverable), "
                  f"`dr run` {wall:.1f} s wall")
            p50, p90 = statistics.median(per_guest), percentile(per_guest, 0.9)
            print(f"per guest: p50 {p50:.1f} s, p90 {p90:.1f} s")
            for key, seconds in parts.items():
                share = seconds / total
                print(f"  {key.removesuffix('_s'):8} {seconds:7.1f} s ({share:.0%} of the guests' time)")
            rest = total - sum(parts.values())
            print(f"  {'other':8} {rest:7.1f} s ({rest / total:.0%}: checksums, clean-up, API)")


if __name__ == "__main__":
    main()
