"""Running host tools (lxc-*, ip, nft, debootstrap) with bounded time and readable failures."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence


class MachineError(RuntimeError):
    """A host tool failed; the message names the command and carries its stderr."""


def run(
    argv: Sequence[str],
    *,
    timeout: float = 60.0,
    input_text: str | None = None,
    check: bool = True,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `argv` (never through a shell), capture its output, raise MachineError on failure."""
    try:
        proc = subprocess.run(
            list(argv),
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=dict(env) if env is not None else None,
        )
    except subprocess.TimeoutExpired as exc:
        raise MachineError(f"{' '.join(argv)}: no answer within {timeout:g} s") from exc
    except FileNotFoundError as exc:
        raise MachineError(f"{argv[0]}: not installed (see scripts/debian-packages.txt)") from exc
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise MachineError(f"{' '.join(argv)} exited {proc.returncode}: {detail}")
    return proc
