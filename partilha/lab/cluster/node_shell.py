"""The commands recovery runbooks run on a node's shell (over SSH on PVE), as the lab's nodes
answer them: `pvecm expected VOTES` (corosync's votequorum, partilha.lab.cluster.votequorum) and
`mv` of a guest's config between nodes' directories of /etc/pve, which is how operators give a
dead node's guest to a live node (as PVE's HA recovery does). pmxcfs is read-only without
quorum. Failures are what the node's shell prints."""

from __future__ import annotations

import re
from collections.abc import Sequence

from partilha.lab import cluster, guests
from partilha.lab.cluster import votequorum
from partilha.lab.server.store import Store

_CONFIG = re.compile(r"/etc/pve/nodes/(?P<node>[^/]+)/(?P<dir>lxc|qemu-server)/(?:(?P<vmid>\d+)\.conf)?")
_KIND = {"lxc": guests.LXC, "qemu-server": guests.QEMU}


class ShellError(RuntimeError):
    """What the command printed on the node when it failed (its exit status is not 0)."""


def run(store: Store, node: str, argv: Sequence[str]) -> str:
    """Run `argv` on `node`'s shell; what it printed."""
    row = cluster.node(store, node)
    if row is None or not row.online:
        raise ShellError(f"ssh: connect to host {node} port 22: No route to host")
    if list(argv[:2]) == ["pvecm", "expected"] and len(argv) == 3 and argv[2].isdigit():
        try:
            votequorum.set_expected(store, int(argv[2]))
        except votequorum.VotequorumError as exc:
            raise ShellError(str(exc)) from None
        return ""
    if len(argv) == 3 and argv[0] == "mv":
        _move_config(store, argv[1], argv[2])
        return ""
    raise ShellError(f"the lab's nodes run `pvecm expected VOTES` and `mv` of a guest config, not "
                     f"{' '.join(argv)!r}")


def _move_config(store: Store, source: str, target: str) -> None:
    src, dst = _CONFIG.fullmatch(source), _CONFIG.fullmatch(target)
    if src is None or src["vmid"] is None or dst is None:
        raise ShellError(f"mv: the lab's /etc/pve holds guest configs only ({source}, {target})")
    vmid, kind = int(src["vmid"]), _KIND[src["dir"]]
    guest = guests.get(store, vmid)
    if guest is None or guest.node != src["node"] or guest.type != kind:
        raise ShellError(f"mv: cannot stat '{source}': No such file or directory")
    if cluster.node(store, dst["node"]) is None or dst["dir"] != src["dir"] \
            or dst["vmid"] not in (None, src["vmid"]):
        raise ShellError(f"mv: cannot move '{source}' to '{target}': No such file or directory")
    if not cluster.quorate(store):
        raise ShellError(f"mv: cannot move '{source}' to '{target}': Permission denied")
    guests.update(store, vmid, node=dst["node"])
