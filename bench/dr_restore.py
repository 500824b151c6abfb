"""`partilha dr run restore-municipality` of a 5-guest municipality (abrantes) on a throwaway lab:
the RTO achieved (disaster declared to every guest verified; lab target <= 120 s), and per guest
(disaster to the guest restored, started and logged into against its pinned key), and the
restore throughput (bytes of root filesystem restored per second of restore steps) as a ratio
of the disk's sequential read measured in the same run (target >= 0.5). Then the restore pass
alone on the same archives (each extracted onto an empty upper layer over the template, synced):
its seconds, CPU seconds, throughput and ratio, and the bytes it wrote; with `--baseline`, the
same archives extracted whole into empty directories and synced, as the lab's restore did
before it wrote onto the template's overlay, and the new pass against it. /proc/loadavg at the
start, before the runbook and at the end: the machine may be shared.

    .venv/bin/python bench/dr_restore.py [--baseline]

A throwaway operator home and lab (bench/upbench.py) of a copy of inventories/lab on free
subnets: `up` of the platform and abrantes, the baseline deployed on its guests, each backed up
(`partilha backup now`), then the runbook; everything is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import labbench
import upbench

from partilha.automation.envs import load_env
from partilha.deploy import stack_outputs
from partilha.deploy.fleet import Fleet
from partilha.deploy.hosts import build_hosts
from partilha.lab.machine.lxc import archive
from partilha.lab.machine.lxc.template import ensure_template

SLUG = "abrantes"
RTO_TARGET, RATIO_TARGET = 120.0, 0.5
MIB = 2**20


def relocated(target: Path) -> Path:
    shutil.copytree(labbench.ROOT / "inventories" / "lab", target)
    return labbench.on_free_subnets(target)


def load() -> str:
    return Path("/proc/loadavg").read_text().strip()


def unpacked_bytes(archive_path: Path) -> int:
    with subprocess.Popen(["zstd", "-dc", str(archive_path)], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        total = 0
        while chunk := proc.stdout.read(8 * MIB):
            total += len(chunk)
    return total


def _disk_bytes(root: Path) -> int:
    done = subprocess.run(["du", "-s", "--block-size=1", str(root)], capture_output=True, text=True,
                          check=True)
    return int(done.stdout.split()[0])


def _cpu() -> float:
    return sum(getattr(resource.getrusage(who), field) for who in
               (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for field in ("ru_utime", "ru_stime"))


def timed(archives: list[Path], scratch: Path, one: Callable[[Path, Path], None]) -> tuple[float, float, int]:
    """(seconds, CPU seconds of this process and its children, bytes on disk) of `one(archive,
    empty directory)` for each archive, synced to disk."""
    started, cpu = time.monotonic(), _cpu()
    for n, path in enumerate(archives):
        root = scratch / f"{n}"
        root.mkdir(parents=True)
        one(path, root)
        os.sync()
    seconds, cpu = time.monotonic() - started, _cpu() - cpu
    written = _disk_bytes(scratch)
    shutil.rmtree(scratch)
    return seconds, cpu, written


def whole(path: Path, root: Path) -> None:
    """What a restore wrote before it wrote onto the template's overlay: the archive whole."""
    subprocess.run(["tar", "xpf", str(path), "--zstd", "--numeric-owner", "--xattrs", "--acls",
                    "--xattrs-include=user.*", "--xattrs-include=security.capability", "-C", str(root),
                    "--anchored", "--exclude", "./dev/*"], check=True)


def passes(archives: list[Path], scratch: Path, disk: float, baseline: bool) -> None:
    restored = sum(map(unpacked_bytes, archives))
    template = ensure_template()
    seconds, cpu, written = timed(archives, scratch / "overlay",
                                  lambda path, upper: print(f"  {archive.extract(path, upper, template)}"))
    rate = restored / seconds
    print(f"the restore pass alone (onto the template's overlay, synced), {len(archives)} archives, "
          f"{restored / MIB:.0f} MiB unpacked: {seconds:.1f} s, {cpu:.1f} CPU s, {rate / MIB:.0f} MiB/s "
          f"= {rate / disk:.2f}x the disk's sequential read; {written / MIB:.0f} MiB written")
    if baseline:
        old_s, old_cpu, old_written = timed(archives, scratch / "whole", whole)
        print(f"baseline, the same archives extracted whole (the former restore's writes), synced: "
              f"{old_s:.1f} s, {old_cpu:.1f} CPU s, {restored / MIB / old_s:.0f} MiB/s = "
              f"{restored / old_s / disk:.2f}x; {old_written / MIB:.0f} MiB written")
        print(f"the overlay pass against it: {old_s / seconds:.2f}x as fast, "
              f"{old_written / max(written, 1):.1f}x fewer bytes written")


def report(run: dict[str, Any], seconds: float, restored: int, disk: float) -> None:
    figures, steps = run["figures"], run["journal"]["steps"]
    restore_s = sum(s["finished"] - s["started"] for s in steps if s["id"].startswith("RB-RM-02."))
    rate, rto = restored / restore_s, figures["rto_s"]
    print(f"\nrestore-municipality {SLUG}: {len(figures['restored'])} guests, `dr run` {seconds:.1f} s")
    for s in steps:
        print(f"  {s['id']:14} {s['finished'] - s['started']:7.1f} s  {s['title']}")
    for s in steps:
        if s["id"].startswith("RB-RM-03."):
            print(f"  RTO of {s['title'].split(';')[0].removeprefix('Start ')}: "
                  f"{s['finished'] - figures['disaster_at']:.1f} s (restored, started, logged in)")
    print(f"RTO achieved {rto:.1f} s (from the run's start to every guest verified); "
          f"lab target <= {RTO_TARGET:.0f} s: {'met' if rto <= RTO_TARGET else 'MISSED'}")
    print(f"restored {restored / MIB:.0f} MiB of root filesystems in {restore_s:.1f} s of "
          f"restore steps: {rate / MIB:.0f} MiB/s")
    print(f"baseline: sequential read of a fresh 512 MiB file (page cache dropped) "
          f"{disk / MIB:.0f} MiB/s; restore throughput is {rate / disk:.2f}x that "
          f"(target >= {RATIO_TARGET})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", action="store_true",
                        help="also time the same archives extracted whole, as restores did before")
    args = parser.parse_args()
    print(f"load average at the start: {load()}")
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
            print(f"load average before the runbook: {load()}")
            seconds = op.partilha("dr", "run", "restore-municipality", SLUG, "--yes", "--env", upbench.ENV)
            runs = op.home / ".partilha" / "state" / "partilha-dr" / "runs"
            [folder] = runs.glob("restore-municipality-*")
            run = json.loads((folder / "report.json").read_text())
            dump = op.lab.state_dir / "storage" / "lab-backup" / "dump"
            archives = [dump / r["archive"].split("/")[-1] for r in run["figures"]["restored"]]
            report(run, seconds, sum(map(unpacked_bytes, archives)), disk)
            uppers = [op.lab.guests_root / f"{op.lab.prefix}{r['vmid']}" / "upper"
                      for r in run["figures"]["restored"]]
            print(f"the restored guests' own layers on disk: {sum(map(_disk_bytes, uppers)) / MIB:.0f} MiB "
                  "(the rest is the template they overlay)")
            passes(archives, Path(tmp) / "passes", disk, args.baseline)
    print(f"load average at the end: {load()}")


if __name__ == "__main__":
    main()
