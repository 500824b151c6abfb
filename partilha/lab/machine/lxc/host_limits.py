"""Kernel limits a host of many system containers needs, as pve-container sets them on every PVE
node (/usr/lib/sysctl.d/10-pve-ct-inotify.conf).

The guests are root's containers, so every guest's systemd takes its inotify instances from root's
one pool; Debian's default of 128 runs out at about twenty guests, after which a booting guest's
sshd and logind no longer start. Values are only ever raised, never lowered, and not persisted:
`lab up` applies them again after a reboot.
"""

from __future__ import annotations

from pathlib import Path

LIMITS = {
    "fs.inotify.max_queued_events": 8_388_608,
    "fs.inotify.max_user_instances": 65_536,
    "fs.inotify.max_user_watches": 4_194_304,
}


def _path(key: str) -> Path:
    return Path("/proc/sys") / key.replace(".", "/")


def current(key: str) -> int:
    return int(_path(key).read_text())


def ensure() -> dict[str, int]:
    """Raise what is below PVE's values; the settings changed, with their new values."""
    raised = {}
    for key, value in LIMITS.items():
        if current(key) < value:
            _path(key).write_text(f"{value}\n")
            raised[key] = value
    return raised
