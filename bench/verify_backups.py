"""`partilha dr run verify-backups` of the whole lab env (15 guests with a backup tier) on a
throwaway lab: the wall time, each guest's seconds (p50, p90) and how much of them is restore, boot
and checks (sum and share), with /proc/loadavg at the start and the end (the figures are under
whatever else the machine runs).

    .venv/bin/python bench/verify_backups.py [--guests N]

A throwaway operator home and lab (bench/upbench.py) of a copy of inventories/lab on free
subnets: `up` of every stack, the baseline and the services deployed, partilha's vzdump hook in
the lab nodes' vzdump.conf (what `partilha deploy hypervisor` writes on real nodes), each guest
with a backup tier backed up (`partilha backup now`), then the runbook; everything is removed at
the end. `--guests N` keeps only the first N municipal services of the copy (the shared services
stay), for a shorter run on a loaded machine; the figures say how many guests they cover.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import dr_restore
import labbench
import upbench
import yaml

from partilha.automation.envs import load_env
from partilha.deploy import stack_outputs
from partilha.deploy.sources import fleet_for
from partilha.inventory import guests as placed


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def keep_municipal(inventory: Path, count: int) -> None:
    """The inventory copy with only its first `count` municipal services (every municipality
    stays, with its VNet, some with no service)."""
    path = inventory / "municipalities.yaml"
    data = yaml.safe_load(path.read_text())
    for municipality in data["municipalities"]:
        names = list(municipality["services"])[:max(count, 0)]
        count -= len(names)
        municipality["services"] = {n: municipality["services"][n] for n in names}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def print_figures(backups: list[dict[str, Any]], wall: float) -> None:
    per_guest = [b["seconds"] for b in backups]
    total = sum(per_guest)
    ok = [b for b in backups if b["recoverable"]]
    print(f"\nverify-backups of env {upbench.ENV}: {len(backups)} backups ({len(ok)} recoverable), "
          f"`dr run` {wall:.1f} s wall")
    for b in backups:
        if not b["recoverable"]:
            print(f"  NOT recoverable: {b['guest']} at {b['site']}: {'; '.join(b['why'])}")
    print(f"per guest: p50 {labbench.quantile(per_guest, 0.5):.1f} s, "
          f"p90 {labbench.quantile(per_guest, 0.9):.1f} s, max {max(per_guest):.1f} s; "
          f"sum {total:.1f} s ({total / wall:.0%} of the wall time)")
    parts = {k: sum(b[k] or 0.0 for b in backups) for k in ("restore_s", "boot_s", "checks_s")}
    parts["other"] = total - sum(parts.values())
    for key, seconds in parts.items():
        what = " (checksum, throwaway removal, API)" if key == "other" else ""
        print(f"  {key.removesuffix('_s'):8} {seconds:7.1f} s  {seconds / total:4.0%} of the guests' "
              f"time{what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, help="keep only the first N municipal services")
    given = parser.parse_args()
    print(f"loadavg at the start: {loadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="partilha-bench-vb-") as tmp:
        inventory = dr_restore.relocated(Path(tmp) / "inventory")
        if given.guests is not None:
            keep_municipal(inventory, given.guests)
        with upbench.operator(inventory) as op:
            setup = time.monotonic()
            op.partilha("up", "--env", upbench.ENV, "--lab", "--inventory", str(inventory))
            os.environ.update(op.env)
            env = load_env(upbench.ENV)
            guests = stack_outputs.guest_outputs(env)
            fleet = Path(tmp) / "fleet.json"
            fleet_for(env).select(list(guests)).save(fleet)  # the guests, the front door's certificate
            op.partilha("deploy", "baseline", "--fleet", str(fleet))
            op.partilha("deploy", "services", "--fleet", str(fleet))
            labbench.record_with_hook(op.lab)
            data = [g.name for g in placed(env.inventory) if g.spec.backup_tier]
            for name in data:
                op.partilha("backup", "now", name, "--env", upbench.ENV)
            print(f"\nset-up (up, baseline, services of {len(guests)} guests, backups of {len(data)}): "
                  f"{time.monotonic() - setup:.0f} s; loadavg {loadavg()}", flush=True)
            wall = op.partilha("dr", "run", "verify-backups", "--yes", "--env", upbench.ENV, check=False)
            [run] = (op.home / ".partilha" / "state" / "partilha-dr" / "runs").glob("verify-backups-*")
            print_figures(json.loads((run / "report.json").read_text())["figures"]["backups"], wall)
            print(f"loadavg at the end: {loadavg()} (2 cores, shared)", flush=True)


if __name__ == "__main__":
    main()
