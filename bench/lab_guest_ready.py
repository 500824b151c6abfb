"""Create + start + SSH-ready of lab guests (template cached), and the memory idle guests use.

    .venv/bin/python bench/lab_guest_ready.py [--guests 10] [--idle 10]

Builds a throwaway instance (own prefix, one VNet bridge, the instance's nftables table), creates
and starts N guests one after the other, timing each until sshd answers with the pinned host key,
lets them idle, reads their memory cgroups, and removes everything again. The baseline measured
in the same run is one SSH key exchange with an already running guest: the floor of "ready".
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import labbench

from partilha.lab import free_subnets
from partilha.lab.machine.lxc import containers, known_hosts, network, nftables
from partilha.lab.machine.lxc.ssh_ready import wait_for_ssh
from partilha.lab.machine.lxc.template import ensure_template

TARGET_P50 = 2.0  # seconds, issue 3: "Create + start + SSH-ready of one guest, template cached"


def _cgroup_memory(name: str) -> tuple[int, int]:
    """(usage incl. page cache, RSS) in bytes from the guest's v1 memory cgroup."""
    base = Path(f"/sys/fs/cgroup/memory/lxc.payload.{name}")
    usage = int((base / "memory.usage_in_bytes").read_text())
    stat = dict(line.split() for line in (base / "memory.stat").read_text().splitlines())
    return usage, int(stat.get("total_rss", "0")) + int(stat.get("total_shmem", "0"))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--guests", type=int, default=10)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds to let the guests settle")
    args = parser.parse_args()
    if not 1 <= args.guests <= 200:
        parser.error("--guests must be within 1..200")

    started = time.monotonic()
    template = ensure_template()
    print(f"template: {template} (ready in {time.monotonic() - started:.1f} s)")
    prefix = f"pb{secrets.token_hex(2)}"
    table = f"partilha_{prefix}"
    subnet = free_subnets(1, "10.214")[0]
    gateway = IPv4Interface(f"{subnet[1]}/24")
    bridge = network.bridge_name(prefix, "v1")
    work = Path(tempfile.mkdtemp(prefix="partilha-bench-"))
    kh = work / "known_hosts"
    names: list[str] = []
    create_s: list[float] = []
    ready_s: list[float] = []
    total_s: list[float] = []
    try:
        network.ensure_vnet(bridge, gateway=gateway)
        nftables.apply(nftables.LabFirewall(table, (nftables.VNetNet(bridge, gateway),), cache_port=None))
        for i in range(args.guests):
            spec = containers.GuestSpec(
                name=f"{prefix}-{100 + i}", vmid=100 + i, hostname=f"bench{i}", bridge=bridge,
                ip=IPv4Interface(f"{subnet[10 + i]}/24"), gateway=IPv4Address(subnet[1]), guests_root=work,
                memory_mib=512, swap_mib=0, apt_proxy_port=None,
            )  # fmt: skip
            names.append(spec.name)
            t0 = time.monotonic()
            containers.create(spec, template, kh)
            t1 = time.monotonic()
            containers.start(spec)
            t2 = time.monotonic()
            create_s.append(t1 - t0)
            ready_s.append(t2 - t1)
            total_s.append(t2 - t0)
        first = names[0]
        address = str(IPv4Address(subnet[10]))
        baseline = min(wait_for_ssh(address, known_hosts.pinned(kh, address)) for _ in range(5))
        time.sleep(args.idle)
        memory = [_cgroup_memory(name) for name in names]
        print(f"\nguests: {args.guests} (created and started one after the other), first: {first}")
        print(f"{'':28}{'p50':>9}{'p90':>9}{'max':>9}")
        for label, values in (
            ("create (overlay, keys, cfg)", create_s),
            ("start until SSH-ready", ready_s),
            ("create + start + SSH-ready", total_s),
        ):
            p50, p90 = labbench.quantile(values, 0.5), labbench.quantile(values, 0.9)
            print(f"{label:28}{p50:8.3f}s{p90:8.3f}s{max(values):8.3f}s")
        p50 = labbench.quantile(total_s, 0.5)
        verdict = "met" if p50 <= TARGET_P50 else "MISSED"
        print(f"target (issue 3): p50 <= {TARGET_P50:.1f} s -> measured p50 {p50:.3f} s: {verdict}")
        print(f"baseline: one SSH key exchange with a running guest {baseline * 1000:.1f} ms; "
              f"ready p50 is {p50 / baseline:.0f}x that")  # fmt: skip
        usage = [u for u, _ in memory]
        rss = [r for _, r in memory]
        mib = 1024 * 1024
        print(
            f"\nidle memory after {args.idle:g} s (memory cgroups): per guest mean "
            f"{statistics.mean(usage) / mib:.1f} MiB (RSS+shmem {statistics.mean(rss) / mib:.1f} MiB), "
            f"total {sum(usage) / mib:.0f} MiB"
        )
        print(f"projected for 60 guests: {60 * statistics.mean(usage) / mib / 1024:.2f} GiB (target < 3 GiB)")
    finally:
        for name in names:
            containers.destroy(name, work, kh)
        network.remove_all(prefix)
        nftables.remove(table)
        subprocess.run(["rm", "-rf", str(work)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
