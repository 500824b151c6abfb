"""Reading a file of an inventory folder, refusing before a byte is read what is not a small
regular file of that folder: a symlink leading out of it (its content is someone else's), a FIFO
(reading waits forever), a device (/dev/zero never ends), a directory, a huge file."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import NoReturn

from partilha.inventory.errors import InventoryError, Problem

# The largest reference inventory's largest file is ~4 KB and 10,000 municipalities take ~3.5 MB;
# the cap bounds the memory a file can take while it is parsed.
MAX_BYTES = 16 * 1024 * 1024
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_text(path: Path, folder: Path) -> str:
    """The UTF-8 text of `path`, a file of inventory `folder`, or InventoryError naming it."""
    try:
        real = path.resolve(strict=True)
    except FileNotFoundError:
        _refuse(path, "a symbolic link to nothing")
    except (OSError, RuntimeError) as exc:  # a symlink loop, a permission
        _refuse(path, f"cannot read: {exc.strerror if isinstance(exc, OSError) else exc}")
    if not real.is_relative_to(folder.resolve()):
        _refuse(path, f"a symbolic link leading outside the inventory folder (to {real}): "
                      "copy the file into the folder")
    try:
        _check(path, real.stat())
        # O_NONBLOCK: should a FIFO take the file's place after the check, opening it does not wait
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError as exc:
        _refuse(path, f"cannot read: {exc.strerror}")
    try:
        _check(path, os.fstat(fd))
        data = b""
        while chunk := os.read(fd, MAX_BYTES + 1 - len(data)):
            data += chunk
            if len(data) > MAX_BYTES:
                _refuse(path, f"over the {MAX_BYTES // 2**20} MiB an inventory file may hold (it grew)")
    except OSError as exc:
        _refuse(path, f"cannot read: {exc.strerror}")
    finally:
        os.close(fd)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        _refuse(path, f"not UTF-8 text (byte {exc.start + 1}: {exc.reason})")


def _check(path: Path, st: os.stat_result) -> None:
    for test, kind in _KINDS:
        if test(st.st_mode):
            _refuse(path, f"{kind}, not a regular file")
    if not stat.S_ISREG(st.st_mode):
        _refuse(path, "not a regular file")
    if st.st_size > MAX_BYTES:
        _refuse(path, f"{st.st_size} bytes, over the {MAX_BYTES // 2**20} MiB an inventory file may hold")


def _refuse(path: Path, message: str) -> NoReturn:
    raise InventoryError([Problem(path, "", message)])
