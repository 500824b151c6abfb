"""DOT text to SVG with Graphviz's `dot` (Debian's graphviz package, which `make setup` installs)."""

from __future__ import annotations

import shutil
import subprocess

from partilha.errors import UserError

TIMEOUT = 60


def svg(dot_text: str) -> str:
    program = shutil.which("dot")
    if program is None:
        raise UserError("Graphviz's `dot` is not installed (Debian: `apt-get install graphviz`, "
                        "or `make setup`)")
    try:
        done = subprocess.run([program, "-Tsvg"], input=dot_text, capture_output=True, text=True,
                              timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise UserError(f"dot: no layout within {TIMEOUT} s") from None
    if done.returncode != 0:
        raise UserError(f"dot: {done.stderr.strip() or f'exit {done.returncode}'}")
    return done.stdout
