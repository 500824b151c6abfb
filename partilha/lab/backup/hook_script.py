"""vzdump's hook script on the lab (PVE::VZDump `run_hook_script`): the `script` of the call or
job, else the `script:` line of the node's /etc/vzdump.conf, run at each phase as
`<script> <phase>` (job phases) or `<script> <phase> <mode> <vmid>` with VMTYPE, DUMPDIR, STOREID,
HOSTNAME, TARGET (backup-end) and LOGFILE (log-end) in its environment; its output goes to the
log, and a non-zero exit fails the phase (`command '...' failed: exit code N`).

The lab's nodes share this machine, as they share its storages, so one file stands for every
lab node's /etc/vzdump.conf: `<lab state>/etc/vzdump.conf`. The script runs on the machine (where
the archive is) with a `pct` on its PATH whose `pct exec <vmid> -- <command>` runs in the guest's
container, as on a PVE node."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from partilha.lab.instance import LabInstance
from partilha.lab.machine import machine

HOOK_TIMEOUT = 600  # seconds: a bound, PVE has none


def vzdump_conf(instance: LabInstance) -> Path:
    return instance.state_dir / "etc" / "vzdump.conf"


def configured_script(instance: LabInstance) -> str:
    """The `script:` of the nodes' vzdump.conf ('' without one)."""
    path = vzdump_conf(instance)
    if not path.is_file():
        return ""
    for line in path.read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "script" and not line.lstrip().startswith("#"):
            return value.strip()
    return ""


def _pct(instance: LabInstance) -> Path:
    """A `pct` knowing `exec <vmid> -- <command>`, in a folder the hook finds first on its PATH."""
    folder = instance.state_dir / "node-bin"
    folder.mkdir(exist_ok=True)
    pct = folder / "pct"
    name = f'"{instance.prefix}$vmid"'  # guest_apply.container_name
    argv = " ".join(name if a == "@" else shlex.quote(a) for a in machine.exec_argv("@"))
    pct.write_text(
        "#!/bin/sh\n# the lab node's pct: `pct exec <vmid> -- <command>` only\n"
        '[ "${1:-}" = exec ] || { echo "the lab\'s pct runs pct exec only" >&2; exit 2; }\n'
        f'vmid=$2; shift 2; [ "${{1:-}}" = -- ] && shift\nexec {argv} "$@"\n')
    pct.chmod(0o755)
    return folder


@dataclass(frozen=True)
class Hook:
    script: str
    instance: LabInstance
    storage: str
    dumpdir: Path
    log: Callable[[str], None]

    def job(self, phase: str) -> None:
        self._run([phase], {})

    def guest(self, phase: str, mode: str, vmid: int, hostname: str,
              extra: Mapping[str, str] | None = None) -> None:
        self._run([phase, mode, str(vmid)], {"VMTYPE": "lxc", "HOSTNAME": hostname, **(extra or {})})

    def _run(self, args: list[str], env: Mapping[str, str]) -> None:
        if not self.script:
            return
        path = os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        done = subprocess.run(
            [self.script, *args], capture_output=True, text=True, timeout=HOOK_TIMEOUT, check=False,
            stdin=subprocess.DEVNULL,
            env={"PATH": f"{_pct(self.instance)}:{path}", "LANG": "C.UTF-8",
                 "DUMPDIR": str(self.dumpdir), "STOREID": self.storage, **env})
        for line in (done.stdout + done.stderr).splitlines():
            self.log(line)
        if done.returncode:
            raise RuntimeError(f"command '{self.script} {' '.join(args)}' failed: exit code "
                               f"{done.returncode}")
