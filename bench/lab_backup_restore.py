"""vzdump + restore of a lab guest holding 200 MiB of data, through PVE's API (proxmoxer).

    .venv/bin/python bench/lab_backup_restore.py [--data-mib 200] [--zstd-threads 1]

Builds a throwaway lab instance (own state directory, port, prefix, one VNet), creates and
starts a guest, writes its data (three quarters random, one quarter text) into it, then times a
`vzdump` (mode snapshot, zstd) and a `restore` of that archive to a new vmid, each from the API
call until its task has ended, and removes everything again. The baseline measured in the same
run is the disk's sequential read: a fresh 512 MiB file read back after its pages were dropped
from the cache (posix_fadvise DONTNEED); the restore's throughput (bytes of root filesystem
restored per second) is printed as a ratio of it.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import labbench
from proxmoxer import ProxmoxAPI

from partilha.lab import free_subnets

TARGET_SECONDS = 10.0  # vzdump + restore of a guest with 200 MiB of data
MIB = 2**20


def _write_data(root: Path, mib: int) -> None:
    """Three quarters random (incompressible), one quarter text (compressible)."""
    data = root / "srv/data"
    data.mkdir(parents=True, exist_ok=True)
    random_mib = mib * 3 // 4
    for i in range(random_mib // 8):
        (data / f"random-{i:03d}.bin").write_bytes(os.urandom(8 * MIB))
    line = b"Municipio de Abrantes; pedido de licenca; estado: em analise; 2024-05-01\n"
    (data / "registos.csv").write_bytes(line * ((mib - random_mib) * MIB // len(line)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-mib", type=int, default=200)
    parser.add_argument("--zstd-threads", type=int, default=1, help="vzdump's `zstd` (PVE's default 1)")
    args = parser.parse_args()
    if not 8 <= args.data_mib <= 4096:
        parser.error("--data-mib must be within 8..4096")

    state = Path(tempfile.mkdtemp(prefix="partilha-bench-lab-"))
    started = time.monotonic()
    with labbench.throwaway_lab(state) as (instance, creds):
        api = ProxmoxAPI("127.0.0.1", port=instance.port, user=creds["username"],
                         password=creds["password"], verify_ssl=str(instance.cert))
        net = free_subnets(1, "10.215")[0]
        api.cluster.sdn.zones.post(zone="bench", type="simple", ipam="pve")
        api.cluster.sdn.vnets.post(vnet="vbench", zone="bench")
        api.cluster.sdn.vnets("vbench").subnets.post(subnet=str(net), type="subnet",
                                                     gateway=str(net[1]))
        labbench.finished(api, api.cluster.sdn.put())
        upid = api.nodes("pve1").lxc.post(
            vmid=100, ostemplate=labbench.TEMPLATE, hostname="bench", memory=512, swap=0, start=1,
            net0=f"name=eth0,bridge=vbench,ip={net[10]}/24,gw={net[1]}", rootfs="local:8")
        labbench.finished(api, upid)
        pid = api.nodes("pve1").lxc(100).status.current.get()["pid"]
        _write_data(Path(f"/proc/{pid}/root"), args.data_mib)
        print(f"lab up, guest running with {args.data_mib} MiB of data "
              f"(setup {time.monotonic() - started:.1f} s)")

        t0 = time.monotonic()
        upid = api.nodes("pve1").vzdump.post(vmid=100, storage="local", mode="snapshot",
                                             compress="zstd", zstd=args.zstd_threads)
        labbench.finished(api, upid)
        backup_log = labbench.task_log(api, upid)
        backup_s = time.monotonic() - t0
        [item] = api.nodes("pve1").storage("local").content.get(content="backup", vmid=100)

        t0 = time.monotonic()
        upid = api.nodes("pve1").lxc.post(vmid=101, ostemplate=item["volid"], restore=1,
                                          net0=f"name=eth0,bridge=vbench,ip={net[11]}/24,gw={net[1]}")
        labbench.finished(api, upid)
        restore_s = time.monotonic() - t0

        written = _total_bytes(backup_log)
        disk = labbench.sequential_read(state)
        restore_rate = written / restore_s
        total = backup_s + restore_s
        print(f"archive: {item['volid']}")
        print(f"\nroot filesystem archived: {written / MIB:.0f} MiB (template + data), "
              f"archive {item['size'] / MIB:.0f} MiB (zstd, {args.zstd_threads} thread(s))")
        print(f"{'vzdump (suspend, zstd)':28}{backup_s:8.2f} s   {written / MIB / backup_s:7.0f} MiB/s")
        print(f"{'restore to a new vmid':28}{restore_s:8.2f} s   {restore_rate / MIB:7.0f} MiB/s")
        print(f"{'vzdump + restore':28}{total:8.2f} s   target <= {TARGET_SECONDS:.0f} s: "
              f"{'met' if total <= TARGET_SECONDS else 'MISSED'}")
        print(f"baseline: sequential read of a fresh 512 MiB file (page cache dropped) "
              f"{disk / MIB:.0f} MiB/s; restore throughput is {restore_rate / disk:.2f}x that")
    return 0


def _total_bytes(log: list[str]) -> int:
    """tar's `Total bytes written: N (...)` line in the vzdump task log."""
    for line in log:
        match = re.search(r"Total bytes written: (\d+)", line)
        if match:
            return int(match.group(1))
    raise SystemExit("no tar totals in the vzdump log")


if __name__ == "__main__":
    sys.exit(main())
