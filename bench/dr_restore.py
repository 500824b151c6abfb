"""`partilha dr run restore-municipality` of a 5-guest municipality (abrantes) on a throwaway lab:
the RTO achieved (disaster declared to every guest verified; lab target <= 120 s) and the restore
throughput (bytes of root filesystem restored per second of restore steps) as a ratio of the
disk's sequential read measured in the same run (target >= 0.5). Then, on the same archives in the
same run, what a restore writes: the restored guests' own layers on disk (a restore writes onto
the template's overlay only what differs from it), and the same archives extracted whole into
empty directories and synced, as the lab's restore did before.

    .venv/bin/python bench/dr_restore.py

A throwaway operator home and lab (bench/upbench.py) of a copy of inventories/lab on free
subnets: `up` of the platform and abrantes, the baseline deployed on its guests, each backed up
(`partilha backup now`), then the runbook; everything is removed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import labbench
import upbench

from partilha.automation.envs import load_env
from partilha.deploy import stack_outputs
from partilha.deploy.fleet import Fleet
from partilha.deploy.hosts import build_hosts

SLUG = "abrantes"
RTO_TARGET, RATIO_TARGET = 120.0, 0.5
MIB = 2**20


def relocated(target: Path) -> Path:
    shutil.copytree(labbench.ROOT / "inventories" / "lab", target)
    return labbench.on_free_subnets(target)


def unpacked_bytes(archive: Path) -> int:
    with subprocess.Popen(["zstd", "-dc", str(archive)], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        total = 0
        while chunk := proc.stdout.read(8 * MIB):
            total += len(chunk)
    return total


def _disk_bytes(root: Path) -> int:
    done = subprocess.run(["du", "-s", "--block-size=1", str(root)], capture_output=True, text=True,
                          check=True)
    return int(done.stdout.split()[0])


def whole_extraction(archives: list[Path], scratch: Path) -> None:
    """What a restore wrote before it wrote onto the template's overlay: each archive extracted
    whole into an empty directory, synced to disk."""
    started = time.monotonic()
    for n, archive in enumerate(archives):
        root = scratch / f"{n}"
        root.mkdir(parents=True)
        subprocess.run(["tar", "xpf", str(archive), "--zstd", "--numeric-owner", "--xattrs", "--acls",
                        "--xattrs-include=user.*", "--xattrs-include=security.capability", "-C", str(root),
                        "--anchored", "--exclude", "./dev/*"], check=True)
        os.sync()
    seconds = time.monotonic() - started
    restored = sum(unpacked_bytes(a) for a in archives)
    print(f"the same archives extracted whole (the former restore's writes), synced: {seconds:.1f} s, "
          f"{restored / MIB / seconds:.0f} MiB/s; {_disk_bytes(scratch) / MIB:.0f} MiB on disk")
    shutil.rmtree(scratch)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="partilha-bench-dr-") as tmp:
        inventory = relocated(Path(tmp) / "inventory")
        with upbench.operator(inventory) as op:
            op.partilha("up", "--env", upbench.ENV, "--lab", "--inventory", str(inventory),
                        "--only", "platform", "--only", SLUG)
            os.environ.update(op.env)
            env = load_env(upbench.ENV)
            guests = stack_outputs.stack_guests(env, f"{upbench.ENV}-{SLUG}")
            fleet = Path(tmp) / "fleet.json"
            Fleet(env.name, tuple(build_hosts(env.inventory, guests, {}, env.name, lab=True)),
                  env.known_hosts(os.environ), env.workspace.ssh_key(True)).save(fleet)
            op.partilha("deploy", "baseline", "--fleet", str(fleet))
            for name in guests:
                op.partilha("backup", "now", name, "--env", upbench.ENV)
            disk = labbench.sequential_read(Path(tmp))
            seconds = op.partilha("dr", "run", "restore-municipality", SLUG, "--yes", "--env", upbench.ENV)
            [run] = (op.home / ".partilha" / "state" / "partilha-dr" / "runs").glob("restore-municipality-*")
            report = json.loads((run / "report.json").read_text())
            figures, steps = report["figures"], report["journal"]["steps"]
            restore_s = sum(s["finished"] - s["started"] for s in steps if s["id"].startswith("RB-RM-02."))
            dump = op.lab.state_dir / "storage" / "lab-backup" / "dump"
            restored = sum(unpacked_bytes(dump / r["archive"].split("/")[-1]) for r in figures["restored"])
            rate = restored / restore_s
            rto = figures["rto_s"]
            print(f"\nrestore-municipality {SLUG}: {len(figures['restored'])} guests, "
                  f"`dr run` {seconds:.1f} s")
            for s in steps:
                print(f"  {s['id']:14} {s['finished'] - s['started']:7.1f} s  {s['title']}")
            print(f"RTO achieved {rto:.1f} s (from the run's start to every guest verified); "
                  f"lab target <= {RTO_TARGET:.0f} s: {'met' if rto <= RTO_TARGET else 'MISSED'}")
            print(f"restored {restored / MIB:.0f} MiB of root filesystems in {restore_s:.1f} s of "
                  f"restore steps: {rate / MIB:.0f} MiB/s")
            print(f"baseline: sequential read of a fresh 512 MiB file (page cache dropped) "
                  f"{disk / MIB:.0f} MiB/s; restore throughput is {rate / disk:.2f}x that "
                  f"(target >= {RATIO_TARGET})")
            restored_vmids = [r["vmid"] for r in figures["restored"]]
            uppers = [op.lab.guests_root / f"{op.lab.prefix}{vmid}" / "upper" for vmid in restored_vmids]
            print(f"the restored guests' own layers on disk: {sum(map(_disk_bytes, uppers)) / MIB:.0f} MiB "
                  "(the rest is the template they overlay)")
            whole_extraction([dump / r["archive"].split("/")[-1] for r in figures["restored"]],
                             Path(tmp) / "whole")


if __name__ == "__main__":
    main()
