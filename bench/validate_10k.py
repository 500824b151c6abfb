"""Validating an inventory of 10,000 municipalities: wall time (target ≤ 5 s), and its ratio to
1,000 municipalities measured in the same run (about 10 when validation grows as n·log n, about
100 when it grows with the square of the VNet count).

    .venv/bin/python bench/validate_10k.py [--sizes 1000 10000] [--repeat 1]

Each inventory is written to a temporary folder from the lab inventory's catalogue, storage and
backup tiers: one VNet (shuffled, in VLAN zones of up to 3,900 tags) and five services per
municipality, enough compute nodes to hold them. The time is `load_inventory` as `partilha
inventory validate` runs it: reading the files, the models, every rule.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import yaml

from partilha.inventory import guests, load_inventory

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "inventories" / "lab"
TARGET_SECONDS = 5.0
TAGS_PER_ZONE = 3900  # VLAN tags 100-3999 on each zone's bridge
MUNICIPALITIES_PER_NODE = 200  # five lab services each: 2,560 MiB, 5 CPUs
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _dump(folder: Path, name: str, data: object) -> None:
    text = yaml.dump(data, Dumper=DUMPER, allow_unicode=True, sort_keys=False, width=200)
    (folder / name).write_text(text, encoding="utf-8")


def write_inventory(folder: Path, count: int) -> None:
    """An inventory of `count` municipalities in `folder`."""
    for name in ("services.yaml", "backup.yaml"):
        shutil.copy(LAB / name, folder / name)
    nodes = max(2, math.ceil(count / MUNICIPALITIES_PER_NODE))
    _dump(folder, "datacentre.yaml", {"datacentre": {
        "name": "scale", "display_name": f"{count} municipalities", "cpu_overcommit": 8,
        "sites": [{"name": "primary", "role": "primary", "guest_storage": "guests"},
                  {"name": "dr", "role": "dr", "guest_storage": "guests-dr"}],
        "nodes": [*({"name": f"pve{i}", "site": "primary", "cpus": 256, "memory_gib": 1024}
                    for i in range(nodes)),
                  {"name": "pve-dr1", "site": "dr", "cpus": 64, "memory_gib": 256}]}})
    disk = count * 30
    _dump(folder, "storage.yaml", {"storage": [
        {"id": "guests", "type": "dir", "site": "primary", "shared": True, "path": "/srv/guests",
         "content": ["rootdir", "images"], "capacity_gib": disk},
        {"id": "backup", "type": "dir", "site": "primary", "shared": True, "path": "/srv/backup",
         "content": ["backup"], "capacity_gib": disk},
        {"id": "guests-dr", "type": "dir", "site": "dr", "path": "/srv/guests-dr",
         "content": ["rootdir", "images"], "capacity_gib": disk},
        {"id": "backup-dr", "type": "dir", "site": "dr", "path": "/srv/backup-dr",
         "content": ["backup"], "capacity_gib": disk}]})
    backup = yaml.safe_load((LAB / "backup.yaml").read_text(encoding="utf-8"))
    backup["backup"]["storages"] = {"primary": "backup", "dr": "backup-dr"}
    _dump(folder, "backup.yaml", backup)
    zones = math.ceil(count / TAGS_PER_ZONE)
    vnets = [
        {"id": "mgmt", "zone": "z0", "purpose": "management", "tag": 10,
         "prefix": "172.16.10.0/24", "gateway": "172.16.10.1"},
        {"id": "dmz", "zone": "z0", "purpose": "dmz", "tag": 20,
         "prefix": "172.16.20.0/24", "gateway": "172.16.20.1"},
        {"id": "shared", "zone": "z0", "purpose": "shared", "tag": 30,
         "prefix": "172.16.30.0/24", "gateway": "172.16.30.1"}]
    municipalities = []
    for i in range(count):
        slug, net = f"m{i:05d}", f"10.{1 + i // 256}.{i % 256}"
        vnets.append({"id": f"v{i:05d}", "zone": f"z{i // TAGS_PER_ZONE}", "purpose": "municipality",
                      "municipality": slug, "tag": 100 + i % TAGS_PER_ZONE,
                      "prefix": f"{net}.0/24", "gateway": f"{net}.1"})
        municipalities.append({
            "slug": slug, "name": f"Município {i:05d}",
            "quota": {"cpus": 8, "memory_mib": 4096, "disk_gib": 40},
            "services": dict.fromkeys(("portal", "dms", "einvoice", "crm", "intranet"))})
    random.Random(count).shuffle(vnets)  # noqa: S311 (an order, not a secret)
    _dump(folder, "networks.yaml", {"networks": {
        "zones": [{"id": f"z{z}", "type": "vlan", "bridge": f"vmbr{z}"} for z in range(zones)],
        "vnets": vnets}})
    _dump(folder, "municipalities.yaml", {
        "municipalities": municipalities,
        "shared": {"slug": "cim", "name": "CIM", "quota": {"cpus": 4, "memory_mib": 2048, "disk_gib": 32},
                   "services": {"eprocurement": None, "gis": None}}})


def validate_seconds(folder: Path, repeat: int) -> tuple[float, float]:
    """Wall and CPU seconds, the best of `repeat` validations (the inventory must be valid, or the
    figure means nothing). CPU time says what the machine's other load does not."""
    wall = cpu = math.inf
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        inventory = load_inventory(folder)
        wall, cpu = min(wall, time.perf_counter() - start), min(cpu, time.process_time() - start_cpu)
    print(f"  {len(inventory.municipalities):>6} municipalities, {len(inventory.networks.vnets)} vnets, "
          f"{len(guests(inventory))} guests: {wall:.2f} s wall, {cpu:.2f} s CPU")
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=(1000, 10_000), metavar=("BASE", "SIZE"))
    parser.add_argument("--repeat", type=int, default=1, help="validations per size; the best counts")
    args = parser.parse_args()
    base, size = args.sizes
    with tempfile.TemporaryDirectory(prefix="partilha-validate-") as tmp:
        seconds = {}
        for count in (base, size):
            folder = Path(tmp, str(count))
            folder.mkdir()
            write_inventory(folder, count)
            megabytes = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
            print(f"{count} municipalities: {megabytes:.1f} MB of YAML")
            seconds[count] = validate_seconds(folder, args.repeat)
    (wall, cpu), (base_wall, base_cpu) = seconds[size], seconds[base]
    print(f"\nvalidation of {size} municipalities: {wall:.2f} s wall, {cpu:.2f} s CPU "
          f"(target ≤ {TARGET_SECONDS:g} s: {'met' if wall <= TARGET_SECONDS else 'MISSED'}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print(f"ratio {size} / {base}: {wall / base_wall:.1f} wall, {cpu / base_cpu:.1f} CPU (size ratio "
          f"{size / base:g}; n·log n gives about {size * math.log(size) / (base * math.log(base)):.1f})")


if __name__ == "__main__":
    main()
