"""pyinfra facts the deploys share."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from pyinfra.api.facts import FactBase


class Container(FactBase[str]):
    """The container technology the host runs in ("lxc", "docker", ...), or "" on a host that
    owns its kernel (systemd-detect-virt --container)."""

    def command(self) -> str:
        return "systemd-detect-virt --container || true"

    def process(self, output: list[str]) -> str:
        value = output[0].strip() if output else "none"
        return "" if value == "none" else value


@dataclass(frozen=True)
class FileState:
    kind: str  # "file", "dir", "link" or "missing"
    sha256: str = ""  # a file's content hash
    user: str = ""
    group: str = ""
    mode: int = 0
    target: str = ""  # a link's target


class FileStates(FactBase[dict[str, FileState]]):
    """Kind, content hash, owner, group and mode (a link's target) of many paths in one command,
    so a deploy can tell what already matches without a round trip per file."""

    def command(self, paths: list[str]) -> str:
        return (f"for p in {' '.join(shlex.quote(p) for p in paths)}; do "
                'if [ -L "$p" ]; then echo "link $(readlink "$p") $p"; '
                'elif [ -f "$p" ]; then echo "file $(sha256sum < "$p" | cut -c1-64) '
                '$(stat -c "%U %G %a" "$p") $p"; '
                'elif [ -d "$p" ]; then echo "dir - $(stat -c "%U %G %a" "$p") $p"; '
                'else echo "missing $p"; fi; done')

    def process(self, output: list[str]) -> dict[str, FileState]:
        states: dict[str, FileState] = {}
        for line in output:
            kind, _, rest = line.partition(" ")
            if kind == "link":
                target, _, path = rest.partition(" ")
                states[path] = FileState("link", target=target)
            elif kind in ("file", "dir"):
                sha, user, group, mode, path = rest.split(" ", 4)
                states[path] = FileState(kind, "" if sha == "-" else sha, user, group, int(mode, 8))
            elif kind == "missing":
                states[rest] = FileState("missing")
        return states
