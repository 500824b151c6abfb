"""One pass over a vzdump archive that passes on to GNU tar, as raw blocks, only the members
that differ from an overlay's lower layer, then whiteouts in the upper layer for what the lower
one has and the archive lacks: upper over lower then shows exactly the archive's tree.

A regular file is the lower layer's when type, owner, mode, mtime and size match, no xattr is
kept on either side, and either the archive's ctime is the lower file's (a file of the
guest that was never copied up into its own layer: overlayfs shows the lower inode's ctime,
which no one can set) or the bytes are the same (compared while the archive is read; the bytes
read are kept in case they differ, spilled to disk past `_SPOOL`).
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import IO

from partilha.lab.machine.lxc.commands import run
from partilha.lab.machine.lxc.tar_blocks import (
    DIRECTORY,
    END,
    FIFO,
    HARD_LINK,
    REGULAR,
    SYMLINK,
    Member,
    Stream,
)

_NOT_RESTORED = "dev/"  # `--exclude ./dev/*`: LXC gives a container its own /dev
_SPOOL = 16 << 20
_READ = 1 << 20
_KINDS = {**dict.fromkeys(REGULAR, stat.S_ISREG), SYMLINK: stat.S_ISLNK, FIFO: stat.S_ISFIFO}


class Seen:
    """The archive's paths (relative, no `./`), its directories' mtimes (ns) to put back once
    whiteouts have been made in them, and the members passed on to tar."""

    def __init__(self) -> None:
        self.paths: set[str] = set()
        self.dirs: dict[str, int] = {}
        self.passed_on: set[str] = set()


def _relative(name: str) -> str:
    return os.path.normpath(name.removeprefix("./")).removeprefix(".").lstrip("/")


def pass_on(fd: int, sink: IO[bytes], upper: Path, lower: Path) -> Seen:
    """Read the tar stream from `fd`; write to `sink` the tar stream of what differs."""
    seen, stream, below = Seen(), Stream(fd), f"{lower}/"
    for member in stream.members():
        if stream.global_headers:
            sink.write(stream.global_headers)
            stream.global_headers = b""
        rel = _relative(member.name)
        if rel.startswith(_NOT_RESTORED):
            continue
        seen.paths.add(rel)
        if member.type == DIRECTORY:
            seen.dirs[rel] = member.mtime_ns
        if _written_if_it_differs(stream, member, rel, seen, sink, upper, below):
            seen.passed_on.add(rel)
    sink.write(END)
    stream.drain()
    return seen


def _written_if_it_differs(stream: Stream, member: Member, rel: str, seen: Seen, sink: IO[bytes],
                           upper: Path, below: str) -> bool:
    """Whether the member differs from the lower layer (`below` is its path and a slash); if
    so it has been written to `sink`."""
    if member.type == HARD_LINK:
        target = _relative(member.linkname)
        if target not in seen.passed_on:
            if _same_inode(below + rel, below + target):
                return False
            _copy_up(Path(below), upper, target)  # the link's other name stays as the lower layer has it
    elif member.type != DIRECTORY and not member.sparse and (st := _same_entry(member, below + rel)):
        if member.type not in REGULAR or member.ctime_ns == st.st_ctime_ns:
            return False
        return _written_if_bytes_differ(stream, member, Path(below + rel), sink)
    sink.write(member.head)
    for chunk in stream.data():
        sink.write(chunk)
    return True


def _same_entry(member: Member, path: str) -> os.stat_result | None:
    """`path`'s status if it (in the lower layer) is the member but for its bytes: type, owner, mode,
    mtime, size, the xattrs tar keeps (none), a symlink's target. (Its other names, if any, are
    the archive's hard links to it, which are then the lower layer's too.)"""
    kind = _KINDS.get(member.type)
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if kind is None or not kind(st.st_mode) or (st.st_uid, st.st_gid) != (member.uid, member.gid) \
            or st.st_mtime_ns != member.mtime_ns or member.xattrs:
        return None
    if member.type == SYMLINK:
        return st if str(Path(path).readlink()) == member.linkname else None
    same = (stat.S_IMODE(st.st_mode), st.st_size) == (member.mode, member.size) and not _kept_xattrs(path)
    return st if same else None


def _written_if_bytes_differ(stream: Stream, member: Member, path: Path, sink: IO[bytes]) -> bool:
    """The member's bytes read and compared with `path`'s; if they differ, the member written."""
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL) as copy, path.open("rb", buffering=0) as mine:
        left, chunks = member.size, stream.data()
        for chunk in chunks:
            copy.write(chunk)
            if chunk[:left] != mine.read(min(left, len(chunk))):
                break
            left -= len(chunk)
        else:
            return False
        sink.write(member.head)
        copy.seek(0)
        while block := copy.read(_READ):
            sink.write(block)
        for chunk in chunks:
            sink.write(chunk)
    return True


def _kept_xattrs(path: str) -> bool:
    return any(name.startswith("user.") or name == "security.capability"
               for name in os.listxattr(path, follow_symlinks=False))


def _same_inode(a: str, b: str) -> bool:
    try:
        return os.lstat(a).st_ino == os.lstat(b).st_ino
    except OSError:
        return False


def _copy_up(lower: Path, upper: Path, rel: str) -> None:
    """A file the archive has as `lower` has it, written into `upper` after all: another name
    the archive gives it (a hard link) must be linked to a file of the upper layer."""
    parent = Path(rel).parent
    (upper / parent).mkdir(parents=True, exist_ok=True)
    run(["cp", "-a", "--", str(lower / rel), str(upper / rel)], timeout=600)


def white_out(upper: Path, lower: Path, seen: Seen) -> None:
    """A whiteout (a 0/0 character device) for each topmost path of `lower` the archive lacks,
    then the mtimes of the directories they went into as the archive has them."""
    touched: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(lower):
        rel_dir = _relative(os.path.relpath(dirpath, lower))
        for name in [*dirnames, *filenames]:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if rel not in seen.paths:
                os.mknod(upper / rel, stat.S_IFCHR | 0o600, os.makedev(0, 0))
                touched.add(rel_dir)
        dirnames[:] = [d for d in dirnames if (f"{rel_dir}/{d}" if rel_dir else d) in seen.dirs]
    for rel in touched:
        mtime = seen.dirs[rel]
        os.utime(upper / rel if rel else upper, ns=(mtime, mtime), follow_symlinks=False)
