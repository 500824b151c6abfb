"""A restore onto an overlay: a guest (an overlay on a small lower layer, changed in the ways a
guest changes) archived as vzdump does, then extracted onto an empty upper layer over the same
lower one; mounted, the restore is the guest, byte for byte, and its upper layer holds only
what differs. Needs root (overlayfs mounts, owners, device nodes) but no lab."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from partilha.lab.machine.lxc import archive
from partilha.lab.machine.lxc.commands import MachineError

pytestmark = pytest.mark.lab

LONG = "d" * 60 + "/" + "n" * 120  # past ustar's 100-byte name field
OLD_TIME = 1_600_000_000_123_456_789


@contextmanager
def overlay(lower: Path, upper: Path, at: Path) -> Iterator[Path]:
    work = upper.with_name(upper.name + "-work")
    for d in (upper, work, at):
        d.mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={lower},upperdir={upper},workdir={work}", str(at)], check=True)
    try:
        yield at
    finally:
        subprocess.run(["umount", str(at)], check=True)


def make_lower(lower: Path) -> None:
    for rel, text in (("same.txt", "unchanged\n"), ("changed.txt", "before!\n"),
                      ("touched.txt", "same bytes\n"), ("gone.txt", "removed\n"),
                      ("thing", "a file, then a directory\n"), ("dir2/a", "a\n"), ("dir3/a", "a\n"),
                      ("dir3/b", "b\n"), ("single", "one name, then two\n"), ("pair1", "two\n"),
                      ("keys/ssh_host_ed25519_key", "template key\n")):
        (lower / rel).parent.mkdir(parents=True, exist_ok=True)
        (lower / rel).write_text(text)
    os.link(lower / "pair1", lower / "pair2")
    (lower / "link").symlink_to("same.txt")
    for path in lower.rglob("*"):
        os.utime(path, ns=(OLD_TIME, OLD_TIME), follow_symlinks=False)


def change_guest(root: Path) -> None:
    """What a guest does to its root: new, changed, removed and re-typed files."""
    (root / "changed.txt").write_text("after!!\n")  # same size and mtime, other bytes
    os.utime(root / "changed.txt", ns=(OLD_TIME, OLD_TIME))
    os.chown(root / "touched.txt", 0, 0)  # copied up, bytes as the lower layer has them
    (root / "gone.txt").unlink()
    (root / "thing").unlink()
    (root / "thing").mkdir()
    (root / "thing/inner").write_text("inside\n")
    for rel in ("dir2/a", "dir3/a", "dir3/b"):
        (root / rel).unlink()
    (root / "dir2").rmdir()
    (root / "dir2").write_text("a directory, then a file\n")
    (root / "dir3").rmdir()
    (root / "dir3").mkdir()  # opaque in the guest's own layer
    (root / "dir3/c").write_text("c\n")
    os.link(root / "single", root / "second")
    (root / "link").unlink()
    (root / "link").symlink_to("same.txt")  # the same target, another mtime
    os.utime(root / "link", ns=(OLD_TIME + 10**9, OLD_TIME + 10**9), follow_symlinks=False)
    (root / "keys/ssh_host_ed25519_key").write_text("the guest's own key\n")
    (root / "keys/ssh_host_ed25519_key").chmod(0o600)
    private = root / "srv/private"
    private.mkdir(parents=True)
    (private / "secret").write_text("segredo\n")
    os.chown(private / "secret", 1234, 5678)
    (private / "secret").chmod(0o4750)
    os.setxattr(root / "same.txt", "user.partilha", b"municipio")  # copied up for an xattr
    with (root / "srv/sparse.img").open("wb") as f:
        f.truncate(20 << 20)
        f.seek(5 << 20)
        f.write(b"data in the middle")
    os.mkfifo(root / "srv/fifo")
    os.mknod(root / "srv/null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    (root / LONG).parent.mkdir(parents=True)
    (root / LONG).write_text("a long name\n")
    (root / os.fsdecode(b"caf\xe9")).write_text("latin-1 name\n")


Entry = tuple[str, int, int, int, int, int, str, str, list[str], int, int]


def listing(root: Path) -> tuple[list[Entry], list[list[str]]]:
    """Path, type and mode, owner, size, mtime, content hash, link target, xattrs, device, link
    count, and which paths share an inode; directories' sizes and link counts are the file
    system's."""
    out: list[Entry] = []
    inodes: dict[int, list[str]] = {}
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            path = Path(dirpath, name)
            rel = str(path.relative_to(root))
            st = os.lstat(path)
            digest = ""
            if stat.S_ISREG(st.st_mode):
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            is_dir = stat.S_ISDIR(st.st_mode)
            if not is_dir:
                inodes.setdefault(st.st_ino, []).append(rel)
            out.append((rel, st.st_mode, st.st_uid, st.st_gid, 0 if is_dir else st.st_size,
                        st.st_mtime_ns, digest, str(path.readlink()) if stat.S_ISLNK(st.st_mode) else "",
                        sorted(os.listxattr(path, follow_symlinks=False)), st.st_rdev,
                        0 if is_dir else st.st_nlink))
    return out, sorted(sorted(v) for v in inodes.values() if len(v) > 1)


def test_a_restore_onto_the_overlay_is_the_guest_byte_for_byte(tmp_path: Path) -> None:
    lower = tmp_path / "lower"
    make_lower(lower)
    with overlay(lower, tmp_path / "guest", tmp_path / "guest-root") as root:
        change_guest(root)
        expected = listing(root)
        made = tmp_path / "vzdump-lxc-100-2026_12_05-12_00_00.tar.zst"
        archive.write(made, [], root, "arch: amd64\n", "", ["/dev/*"], ["zstd", "-q", "--threads=1"])
    restored = tmp_path / "restored"
    restored.mkdir()
    archive.extract(made, restored, lower)
    with overlay(lower, restored, tmp_path / "restored-root") as root:
        for member in (archive.ARCHIVE_CONFIG, archive.ARCHIVE_FIREWALL):
            (root / member).unlink()
        (root / "etc/vzdump").rmdir()
        (root / "etc").rmdir()
        assert listing(root) == expected
        sparse = os.lstat(root / "srv/sparse.img")
        assert sparse.st_blocks * 512 < 1 << 20, "the sparse file was written whole"
    # only what differs from the lower layer was written
    assert not (restored / "touched.txt").exists() and not (restored / "pair1").exists()
    assert stat.S_ISCHR(os.lstat(restored / "gone.txt").st_mode)  # a whiteout
    assert stat.S_ISCHR(os.lstat(restored / "dir3/a").st_mode)


def test_a_damaged_archive_is_refused_by_name(tmp_path: Path) -> None:
    lower = tmp_path / "lower"
    make_lower(lower)
    made = tmp_path / "vzdump-lxc-100-2026_12_05-12_00_00.tar"
    archive.write(made, [], lower, "arch: amd64\n", "", [], [])
    made.write_bytes(b"\x01" * 512 + made.read_bytes()[512:])
    restored = tmp_path / "restored"
    restored.mkdir()
    with pytest.raises(MachineError, match=f"{made.name}: not a tar archive, or a damaged one"):
        archive.extract(made, restored, lower)


def test_a_tar_that_cannot_write_says_why(tmp_path: Path) -> None:
    lower = tmp_path / "lower"
    make_lower(lower)
    (lower / "big").write_bytes(os.urandom(4 << 20))  # past the pipe's buffer: tar must read
    made = tmp_path / "vzdump-lxc-100-2026_12_05-12_00_00.tar.zst"
    archive.write(made, [], lower, "arch: amd64\n", "", [], ["zstd", "-q", "--threads=1"])
    with pytest.raises(MachineError, match=r"Cannot (open|chdir): No such file or directory"):
        archive.extract(made, tmp_path / "missing", tmp_path / "other-lower")
    with pytest.raises(MachineError, match=f"can't open '{tmp_path}/gone.tar.zst': No such file"):
        archive.extract(tmp_path / "gone.tar.zst", tmp_path, lower)
