"""vzdump's container archives: a tar of the guest's whole root filesystem with its config first
(`./etc/vzdump/pct.conf`, `./etc/vzdump/pct.fw`), piped through the compressor, and the way
pve-container reads them back (the config alone; the whole tree into a new root, or onto the
upper directory of an overlay so that only what differs from its lower layer is written).

The tar flags are pve-storage's `COMMON_TAR_FLAGS` (numeric owners, ACLs, `user.*` and
`security.capability` xattrs, sparse files, one file system) plus what PVE::VZDump::LXC and
PVE::LXC::Create add; tar keeps hard links as links within one archive by itself.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from partilha.lab.machine.lxc.commands import MachineError, run

COMMON_TAR_FLAGS = ("--one-file-system", "-p", "--sparse", "--numeric-owner", "--acls", "--xattrs",
                    "--xattrs-include=user.*", "--xattrs-include=security.capability",
                    "--warning=no-file-ignored", "--warning=no-xattr-write")
ARCHIVE_CONFIG, ARCHIVE_FIREWALL = "./etc/vzdump/pct.conf", "./etc/vzdump/pct.fw"
# GNU tar's options for the compressed archives vzdump writes (`decompressor_info`).
_TAR_DECOMPRESS = {".zst": "--zstd", ".gz": "-z", ".lzo": "--lzop", ".bz2": "-j"}
_DECOMPRESSORS = {".zst": "zstd", ".gz": "gzip", ".lzo": "lzop", ".bz2": "bzip2"}
_EXTRACT = ("--totals", *COMMON_TAR_FLAGS)
_NOT_RESTORED = "dev/"  # `--exclude ./dev/*`: LXC gives a container its own /dev
ARCHIVE_TIMEOUT = 3600.0
_CHUNK = 1 << 20
_SPOOL = 16 << 20  # a file's bytes kept in memory while compared; larger ones spill to disk


def compressor(compress: str, zstd_threads: int) -> tuple[list[str], str]:
    """PVE::VZDump `compressor_info`: (command, extension); no compression: ([], "")."""
    if compress in ("", "0"):
        return [], ""
    if compress in ("1", "lzo"):
        return ["lzop"], "lzo"
    if compress == "gzip":
        return ["gzip", "--rsyncable"], "gz"
    return ["zstd", "--rsyncable", f"--threads={zstd_threads}"], "zst"


def _pump(source: IO[bytes], sink: IO[bytes], kib_per_s: int) -> None:
    """Copy at no more than `kib_per_s` (vzdump's `bwlimit`, which PVE applies with cstream)."""
    started, sent = time.monotonic(), 0
    while chunk := source.read(min(_CHUNK, kib_per_s * 1024)):
        sink.write(chunk)
        sent += len(chunk)
        ahead = sent / (kib_per_s * 1024) - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)
    sink.close()


def write(target: Path, reader: Sequence[str], root: Path, config: str, firewall: str,
          excludes: Sequence[str], compress_cmd: Sequence[str], bwlimit_kib: int = 0,
          timeout: float = ARCHIVE_TIMEOUT) -> str:
    """Write the archive of `root` (as seen by a process started with the `reader` argv
    prefix) to `target`, leaving out `excludes`; returns tar's totals line."""
    with tempfile.TemporaryDirectory(prefix="vzdumptmp") as tmp, target.open("wb") as out, \
            tempfile.TemporaryFile() as tar_err, tempfile.TemporaryFile() as comp_err:
        conf_dir = Path(tmp) / "etc/vzdump"
        conf_dir.mkdir(parents=True)
        (conf_dir / "pct.conf").write_text(config)
        (conf_dir / "pct.fw").write_text(firewall)
        tar = [*reader, "tar", "cpf", "-", "--totals", *COMMON_TAR_FLAGS, f"--directory={tmp}",
               ARCHIVE_CONFIG, ARCHIVE_FIREWALL, f"--directory={root}", *_exclusions(excludes), "."]
        piped = bool(compress_cmd) or bwlimit_kib > 0
        tar_proc = subprocess.Popen(tar, stdout=subprocess.PIPE if piped else out, stderr=tar_err)
        procs: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = [(tar_proc, tar_err)]
        pump = None
        try:
            source: IO[bytes] | None = tar_proc.stdout
            if compress_cmd:
                comp = subprocess.Popen(list(compress_cmd), stdin=subprocess.PIPE if bwlimit_kib
                                        else source, stdout=out, stderr=comp_err)
                procs.append((comp, comp_err))
                sink: IO[bytes] | None = comp.stdin
            else:
                sink = out
            if bwlimit_kib and source is not None and sink is not None:
                pump = threading.Thread(target=_pump, args=(source, sink, bwlimit_kib), daemon=True)
                pump.start()
            elif source is not None:
                source.close()  # the compressor holds it now
            _wait(procs, timeout)
        finally:
            for proc, _ in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            if pump is not None:
                pump.join(timeout=10)
        tar_err.seek(0)
        totals = [line for line in tar_err.read().decode(errors="replace").splitlines()
                  if line.startswith("Total bytes written")]
    return totals[-1] if totals else ""


def _exclusions(paths: Sequence[str]) -> list[str]:
    """vzdump's `exclude-path` globs: `/...` anchored at the root, others matching anywhere."""
    args: list[str] = []
    for path in paths:
        if path.startswith("/"):
            args += ["--anchored", f"--exclude=.{path}"]
        else:
            args += ["--no-anchored", f"--exclude={path}"]
    return [*args, "--anchored"]


def _wait(procs: list[tuple[subprocess.Popen[bytes], IO[bytes]]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for proc, err in procs:
        argv = [str(a) for a in proc.args] if isinstance(proc.args, list) else [str(proc.args)]
        try:
            code = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise MachineError(f"{argv[0]}: no answer within {timeout:g} s") from None
        if code != 0:
            err.seek(0)
            detail = err.read().decode(errors="replace").strip()
            raise MachineError(f"command '{' '.join(argv)}' failed: exit code {code}"
                               + (f": {detail}" if detail else ""))


def _decompress_flag(archive: Path) -> list[str]:
    match = re.search(r"\.tar(\.[^.]+)?$", archive.name)
    if match is None:
        raise MachineError(f"file does not look like a template archive: {archive}")
    if match.group(1) is None:
        return []
    if match.group(1) not in _TAR_DECOMPRESS:
        raise MachineError(f"unrecognized compression format: {match.group(1)}")
    return [_TAR_DECOMPRESS[match.group(1)]]


def read_config(archive: Path) -> str:
    """`recover_config_from_tar`: the pct.conf at the head of the archive."""
    proc = run(["tar", "-x", "-O", *_decompress_flag(archive), "-f", str(archive), "--occurrence=1",
                ARCHIVE_CONFIG], timeout=120, check=False)
    if proc.returncode != 0 or not proc.stdout:
        raise MachineError("ERROR: archive contains no configuration file")
    return proc.stdout


def extract(archive: Path, upper: Path, lower: Path, timeout: float = ARCHIVE_TIMEOUT) -> str:
    """`restore_tar_archive` onto an overlay: `upper` (empty) over `lower` shows exactly the
    archive's tree, but only the members that differ from `lower` are written into `upper`, and
    what `lower` has that the archive lacks gets a whiteout. One pass over the archive: this
    process reads it and compares, GNU tar writes what differs (owners, modes, ACLs, xattrs,
    hard links) from the members passed on to it; tar's totals line counts those."""
    flag = _decompress_flag(archive)  # refuses what is not an archive
    decompressor = _DECOMPRESSORS[archive.suffix] if flag else None
    with tempfile.TemporaryFile() as tar_err, tempfile.TemporaryFile() as comp_err:
        decompress = subprocess.Popen([decompressor, "-dc", "--", str(archive)], stdout=subprocess.PIPE,
                                      stderr=comp_err) if decompressor else None
        tar = subprocess.Popen(["tar", "xpf", "-", *_EXTRACT, "-C", str(upper)], stdin=subprocess.PIPE,
                               stderr=tar_err)
        procs: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = [(tar, tar_err)]
        if decompress is not None:
            procs.append((decompress, comp_err))
        assert tar.stdin is not None
        try:
            with decompress.stdout if decompress and decompress.stdout else archive.open("rb") as source, \
                    tar.stdin as sink:
                seen = _pass_on(source, sink, upper, lower)
            _wait(procs, timeout)
        except (tarfile.TarError, EOFError, BrokenPipeError, MachineError) as exc:
            raise MachineError(f"command 'tar xpf - {' '.join(flag)} ... -C {upper}' failed: "
                               f"{archive.name}: {exc or type(exc).__name__}") from None
        finally:
            for proc, _ in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        tar_err.seek(0)
        err = tar_err.read().decode(errors="replace")
    _white_out(upper, lower, seen)
    return next((line for line in err.splitlines() if line.startswith("Total bytes")), "")


class _Seen:
    """The archive's paths (relative, no `./`), and its directories' mtimes (ns) to put back
    once whiteouts have been made in them."""

    def __init__(self) -> None:
        self.paths: set[str] = set()
        self.dirs: dict[str, int] = {}
        self.passed_on: set[str] = set()


def _relative(name: str) -> str:
    return os.path.normpath(name.removeprefix("./")).removeprefix(".").lstrip("/")


def _pass_on(source: IO[bytes], sink: IO[bytes], upper: Path, lower: Path) -> _Seen:
    seen = _Seen()
    with tarfile.open(fileobj=source, mode="r|") as tin, \
            tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tout:
        for member in tin:
            rel = _relative(member.name)
            if rel.startswith(_NOT_RESTORED):
                continue
            seen.paths.add(rel)
            if member.isdir():
                seen.dirs[rel] = _mtime_ns(member)
            if member.islnk():
                target = _relative(member.linkname)
                if target not in seen.passed_on:
                    if _same_inode(lower / rel, lower / target):
                        continue
                    _copy_up(lower, upper, target)  # the link's other name stays as `lower` has it
                tout.addfile(member)
                seen.passed_on.add(rel)
                continue
            data = tin.extractfile(member) if member.isreg() else None
            if member.sparse is not None:  # passed on whole: the pax sparse map describes no data
                member.pax_headers = {k: v for k, v in member.pax_headers.items()
                                      if not k.startswith("GNU.sparse.")}
                member.type, member.sparse = tarfile.REGTYPE, None
            if member.isdir() or not _same_entry(member, lower / rel):
                tout.addfile(member, data)
            elif data is not None:
                with tempfile.SpooledTemporaryFile(max_size=_SPOOL) as copy:
                    if _same_bytes(data, lower / rel, copy):
                        continue
                    copy.seek(0)
                    tout.addfile(member, copy)
            else:
                continue
            seen.passed_on.add(rel)
    return seen


def _mtime_ns(member: tarfile.TarInfo) -> int:
    exact = member.pax_headers.get("mtime")
    if exact is None:
        return int(member.mtime) * 10**9
    whole, _, fraction = exact.partition(".")
    return int(whole) * 10**9 + int((fraction + "000000000")[:9])


def _same_entry(member: tarfile.TarInfo, path: Path) -> bool:
    """Whether `path` (in the lower layer) is the member but for its bytes: type, owner, mode,
    mtime, size, one name, the xattrs tar keeps (none), a symlink's target."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    kind = {tarfile.REGTYPE: stat.S_ISREG, tarfile.AREGTYPE: stat.S_ISREG, tarfile.SYMTYPE: stat.S_ISLNK,
            tarfile.FIFOTYPE: stat.S_ISFIFO}.get(member.type)
    if kind is None or not kind(st.st_mode) or (st.st_uid, st.st_gid) != (member.uid, member.gid):
        return False
    if member.issym():
        return str(path.readlink()) == member.linkname
    return (stat.S_IMODE(st.st_mode), st.st_mtime_ns, st.st_size, st.st_nlink) == \
        (member.mode, _mtime_ns(member), member.size, 1) \
        and not any(k.startswith("SCHILY.") for k in member.pax_headers) and not _kept_xattrs(path)


def _same_bytes(data: IO[bytes], path: Path, copy: IO[bytes]) -> bool:
    """Whether the member's bytes are the file's; what was read of them is kept in `copy`."""
    same = True
    with path.open("rb") as mine:
        while chunk := data.read(_CHUNK):
            copy.write(chunk)
            same = same and mine.read(len(chunk)) == chunk
    return same


def _kept_xattrs(path: Path) -> bool:
    return any(name.startswith("user.") or name == "security.capability"
               for name in os.listxattr(path, follow_symlinks=False))


def _same_inode(a: Path, b: Path) -> bool:
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


def _white_out(upper: Path, lower: Path, seen: _Seen) -> None:
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
