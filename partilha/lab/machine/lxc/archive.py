"""vzdump's container archives: a tar of the guest's whole root filesystem with its config first
(`./etc/vzdump/pct.conf`, `./etc/vzdump/pct.fw`), piped through the compressor, and the way
pve-container reads them back (the config alone; the whole tree into a new root, or onto the
upper directory of an overlay so that only what differs from its lower layer is written).

The tar flags are pve-storage's `COMMON_TAR_FLAGS` (numeric owners, ACLs, `user.*` and
`security.capability` xattrs, sparse files, one file system) plus what PVE::VZDump::LXC and
PVE::LXC::Create add; tar keeps hard links as links within one archive by itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from partilha.lab.machine.lxc import overlay_pass
from partilha.lab.machine.lxc.commands import MachineError, run
from partilha.lab.machine.lxc.tar_blocks import TarFormatError

COMMON_TAR_FLAGS = ("--one-file-system", "-p", "--sparse", "--numeric-owner", "--acls", "--xattrs",
                    "--xattrs-include=user.*", "--xattrs-include=security.capability",
                    "--warning=no-file-ignored", "--warning=no-xattr-write")
ARCHIVE_CONFIG, ARCHIVE_FIREWALL = "./etc/vzdump/pct.conf", "./etc/vzdump/pct.fw"
# GNU tar's options for the compressed archives vzdump writes (`decompressor_info`).
_TAR_DECOMPRESS = {".zst": "--zstd", ".gz": "-z", ".lzo": "--lzop", ".bz2": "-j"}
_DECOMPRESSORS = {".zst": "zstd", ".gz": "gzip", ".lzo": "lzop", ".bz2": "bzip2"}
_EXTRACT = ("--totals", *COMMON_TAR_FLAGS)
ARCHIVE_TIMEOUT = 3600.0
_CHUNK = 1 << 20


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
    what `lower` has that the archive lacks gets a whiteout. One pass over the archive: the
    decompressor's output is read here and compared (overlay_pass), GNU tar writes what differs
    (owners, modes, ACLs, xattrs, hard links, sparse files) from the members passed on to it as
    they were archived; tar's totals line counts those."""
    flag = _decompress_flag(archive)  # refuses what is not an archive
    decompressor = _DECOMPRESSORS[archive.suffix] if flag else None
    try:
        raw = archive.open("rb")
    except OSError as exc:
        raise MachineError(f"can't open '{archive}': {exc.strerror}") from None
    with raw, tempfile.TemporaryFile() as tar_err, tempfile.TemporaryFile() as comp_err:
        decompress = subprocess.Popen([decompressor, "-dc"], stdin=raw, stdout=subprocess.PIPE,
                                      stderr=comp_err) if decompressor else None
        tar = subprocess.Popen(["tar", "xpf", "-", *_EXTRACT, "-C", str(upper)], stdin=subprocess.PIPE,
                               stderr=tar_err)
        procs: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = [(tar, tar_err)]
        if decompress is not None:
            procs.append((decompress, comp_err))
        assert tar.stdin is not None
        source = decompress.stdout if decompress and decompress.stdout else raw
        try:
            try:
                with source, tar.stdin as sink:
                    for pipe in (source, sink):
                        _widen(pipe)
                    seen = overlay_pass.pass_on(source.fileno(), sink, upper, lower)
            except BrokenPipeError:
                _wait(procs, timeout)  # tar stopped reading: its exit status and message say why
                raise
            _wait(procs, timeout)
        except (TarFormatError, BrokenPipeError, MachineError) as exc:
            raise MachineError(f"command '{' '.join(['tar', 'xpf', '-', *flag])} ... -C {upper}' failed: "
                               f"{archive.name}: {exc or type(exc).__name__}") from None
        finally:
            for proc, _ in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        tar_err.seek(0)
        err = tar_err.read().decode(errors="replace")
    overlay_pass.white_out(upper, lower, seen)
    return next((line for line in err.splitlines() if line.startswith("Total bytes")), "")


def _widen(pipe: IO[bytes]) -> None:
    """A pipe of `_CHUNK` bytes rather than 64 KiB: fewer wake-ups of reader and writer."""
    if stat.S_ISFIFO(os.fstat(pipe.fileno()).st_mode):
        with contextlib.suppress(OSError):  # past the user's pipe quota: the pipe stays as it is
            fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, _CHUNK)
