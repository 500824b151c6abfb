"""vzdump's hook script on the lab (PVE::VZDump `run_hook_script`): the `script` of the call or
job, else the `script:` line of the node's /etc/vzdump.conf, run at each phase as
`<script> <phase>` (job phases) or `<script> <phase> <mode> <vmid>` with VMTYPE, DUMPDIR, STOREID,
HOSTNAME, TARGET (backup-end) and LOGFILE (log-end) in its environment; its output goes to the
log, and a non-zero exit fails the phase (`command '...' failed: exit code N`).

A node's /etc/vzdump.conf is its node host's (partilha.lab.cluster.node_hosts), where
`partilha deploy hypervisor` writes it, and the script named there is copied out of that host;
a lab without node hosts has one file for all its nodes, `<lab state>/etc/vzdump.conf`. vzdump
itself runs on this machine (where the archives are), so the script does too, with a `pct` on its
PATH whose `pct exec <vmid> -- <command>` runs in the guest's container, as on a PVE node."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from partilha.lab.cluster import node_hosts
from partilha.lab.instance import LabInstance
from partilha.lab.machine import machine

HOOK_TIMEOUT = 600  # seconds: a bound, PVE has none


def vzdump_conf(instance: LabInstance) -> Path:
    return instance.state_dir / "etc" / "vzdump.conf"


def _script_line(conf: str) -> str:
    for line in conf.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "script" and not line.lstrip().startswith("#"):
            return value.strip()
    return ""


def _node_file(instance: LabInstance, node: str, path: str) -> str | None:
    argv = [*machine.exec_argv(node_hosts.container_name(instance, node)), "cat", "--", path]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    return done.stdout if done.returncode == 0 else None


def configured_script(instance: LabInstance, node: str) -> str:
    """The `script:` of the node's vzdump.conf, as a path on this machine ('' without one)."""
    if not instance.node_hosts:
        path = vzdump_conf(instance)
        return _script_line(path.read_text()) if path.is_file() else ""
    script = _script_line(_node_file(instance, node, "/etc/vzdump.conf") or "")
    if not script:
        return ""
    body = _node_file(instance, node, script)
    if body is None:
        raise RuntimeError(f"command '{script}' failed: node {node} has no such script")
    copy = instance.state_dir / "node-scripts" / node / Path(script).name
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(body)
    copy.chmod(0o755)
    return str(copy)


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
