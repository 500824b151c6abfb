"""The security baseline over N lab guests: first run, second (no-op) run, and their ratio.

    .venv/bin/python bench/deploy_baseline.py [--guests 20] [--verify]

Brings up a throwaway lab instance, makes one VNet (the lab inventory's `vabt`, on a free
/24) and N guests on it through the PVE API, builds the host model with the same pure
function `partilha deploy` uses (the guests exported as a tenant stack would), then runs
deploys/baseline.py twice with partilha.deploy.run: the first run installs and configures
everything (its packages come through the lab's cold package cache), the second finds
nothing to do. Targets (issue 5): 20 hosts, first run <= 5 min on 2 cores, second run <= 20 %
of the first, and 0 changes on the second. With --verify, `partilha verify baseline` too.
Everything is removed at the end (`lab reset`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import labbench
from proxmoxer import ProxmoxAPI

from partilha.deploy import Fleet, Result, build_hosts, deploy_path, run
from partilha.inventory import load_inventory
from partilha.lab import free_subnets
from partilha.verify import verify_fleet

TARGET_FIRST = 300.0
TARGET_RATIO = 0.20
VNET = "vabt"


def guests(api: ProxmoxAPI, count: int, key: Path) -> tuple[Any, dict[str, dict[str, Any]]]:
    """The lab inventory with `vabt` on a free subnet, and N guests on it (started)."""
    inventory = load_inventory(labbench.ROOT / "inventories" / "lab")
    subnet = free_subnets(1, "10.217")[0]
    vnets = [v.model_copy(update={"prefix": subnet, "gateway": subnet[1]}) if v.id == VNET else v
             for v in inventory.networks.vnets]
    inventory = inventory.model_copy(
        update={"networks": inventory.networks.model_copy(update={"vnets": vnets})})
    vnet = next(v for v in vnets if v.id == VNET)
    api.cluster.sdn.zones.post(zone="cim", type="vlan", bridge="vmbr0", ipam="pve")
    api.cluster.sdn.vnets.post(vnet=VNET, zone="cim", tag=vnet.tag)
    api.cluster.sdn.vnets(VNET).subnets.post(subnet=str(subnet), type="subnet", gateway=str(subnet[1]))
    labbench.finished(api, api.cluster.sdn.put())
    outputs: dict[str, dict[str, Any]] = {}
    started = time.monotonic()
    for i in range(count):
        name, address, vmid = f"abrantes-bench{i + 1:02d}", subnet[11 + i], 9100 + i
        node = ("pve1", "pve2", "pve3")[i % 3]
        labbench.finished(api, api.nodes(node).lxc.post(
            vmid=vmid, hostname=name, ostemplate=labbench.TEMPLATE, memory=512, swap=256,
            rootfs="lab-guests:4", start=1, net0=f"name=eth0,bridge={VNET},ip={address}/24,gw={subnet[1]}",
            **{"ssh-public-keys": key.with_suffix(".pub").read_text()}))
        outputs[name] = {"vmid": vmid, "node": node, "address": str(address), "vnet": VNET,
                         "tenant": "abrantes", "service": "portal", "role": "portal", "kind": "lxc",
                         "data_class": "personal", "ports": [80, 443]}
    print(f"{count} guests created and started in {time.monotonic() - started:.1f} s")
    return inventory, outputs


def report(label: str, result: Result) -> None:
    changed = sum(1 for n in result.changes.values() if n)
    print(f"{label}: {result.seconds:6.1f} s, {result.total_changes} changes on {changed} of "
          f"{len(result.hosts)} hosts, {len(result.failures)} failed")
    for host, why in result.failures.items():
        print(f"  {host}: {why}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=20)
    parser.add_argument("--verify", action="store_true", help="also time `partilha verify baseline`")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        work = Path(tmp)
        key = work / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        with labbench.throwaway_lab(work / "lab") as (lab, creds):
            api = ProxmoxAPI("127.0.0.1", port=lab.port, user=creds["username"], password=creds["password"],
                             verify_ssl=str(lab.cert))
            inventory, outputs = guests(api, args.guests, key)
            hosts = build_hosts(inventory, outputs, {}, "lab", lab=True)
            fleet = Fleet("lab", tuple(hosts), lab.known_hosts, key)
            fleet.save(work / "run" / "fleet.json")
            baseline = [deploy_path("baseline")]
            first = run(baseline, fleet, work / "run")
            report("first run ", first)
            second = run(baseline, fleet, work / "run")
            report("second run", second)
            ratio = second.seconds / first.seconds
            print(f"ratio second/first: {ratio:.2f} (target <= {TARGET_RATIO:.2f}); first run target "
                  f"<= {TARGET_FIRST:.0f} s: {'met' if first.seconds <= TARGET_FIRST else 'MISSED'}; second "
                  f"run {'a no-op' if second.total_changes == 0 else 'NOT a no-op'}")
            if args.verify:
                proof = verify_fleet(work / "run" / "fleet.json", work / "reports", what="baseline")
                out = proof.outcomes
                print(f"verify baseline: {proof.seconds:.1f} s, {out.count('passed')} passed, "
                      f"{out.count('failed')} failed, {out.count('na')} not applicable")
            if first.failures or second.failures:
                sys.exit(1)


if __name__ == "__main__":
    main()
