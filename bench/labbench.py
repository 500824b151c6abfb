"""What the lab benchmarks share: a throwaway lab instance, free subnets, task waits and
quantiles. Imported by the scripts next to it (`python bench/<name>.py` puts bench/ on sys.path)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from proxmoxer import ProxmoxAPI

from partilha.lab import LabInstance, free_subnets, throwaway
from partilha.proxmox.template import TEMPLATE_FILE

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = f"local:vztmpl/{TEMPLATE_FILE}"  # the lab's Debian 12 template, as clients name it


def on_free_subnets(folder: Path) -> Path:
    """The inventory in `folder` with its VNets moved to /24s no route uses (a user's lab may hold
    the inventory's own)."""
    data = yaml.safe_load((folder / "networks.yaml").read_text())
    vnets = data["networks"]["vnets"]
    for vnet, net in zip(vnets, free_subnets(len(vnets), "10.215"), strict=True):
        vnet.update(prefix=str(net), gateway=str(net[1]))
    (folder / "networks.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    return folder


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextmanager
def throwaway_lab(state_dir: Path, inventory: Path = ROOT / "inventories" / "lab",
                  ) -> Iterator[tuple[LabInstance, dict[str, Any]]]:
    """The lab's throwaway instance of `inventory` (partilha.lab.throwaway), and how long its
    reset took."""
    with throwaway(state_dir, inventory, "b") as lab:
        try:
            yield lab
        finally:
            started = time.monotonic()
    print(f"lab reset: {time.monotonic() - started:.1f} s")


def record_with_hook(lab: LabInstance) -> None:
    """partilha's vzdump hook in the lab nodes' vzdump.conf (what `partilha deploy hypervisor`
    writes on real nodes): each backup records its archive's sha256 and the guest's data digest."""
    conf = lab.state_dir / "etc" / "vzdump.conf"
    conf.parent.mkdir(exist_ok=True)
    conf.write_text(f"script: {ROOT / 'backup' / 'hooks' / 'vzdump-partilha'}\n")


def finished(api: ProxmoxAPI, upid: str, timeout: float = 600.0, poll: float = 0.05) -> dict[str, Any]:
    """The task's final status once it ended OK; the run stops with its log otherwise."""
    node = upid.split(":")[1]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = dict(api.nodes(node).tasks(upid).status.get())
        if status["status"] == "stopped":
            if status["exitstatus"] != "OK":
                raise SystemExit(f"task {upid} failed: {status['exitstatus']}\n"
                                 + "\n".join(task_log(api, upid)))
            return status
        time.sleep(poll)
    raise SystemExit(f"task {upid} still running after {timeout:g} s")


def task_log(api: ProxmoxAPI, upid: str) -> list[str]:
    return [line["t"] for line in api.nodes(upid.split(":")[1]).tasks(upid).log.get(limit=1000)]


def sequential_read(directory: Path, size: int = 512 * 2**20) -> float:
    """Bytes per second reading a fresh file whose pages are not in the page cache."""
    path = directory / "seqread.bin"
    chunk = os.urandom(8 * 2**20)
    with path.open("wb") as out:
        for _ in range(size // len(chunk)):
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        started = time.monotonic()
        while os.read(fd, 8 * 2**20):
            pass
        return size / (time.monotonic() - started)
    finally:
        os.close(fd)
        path.unlink()
