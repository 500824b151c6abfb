"""The Debian 12 root filesystem every lab guest overlays, built once with debootstrap.

The template lives at `<cache>/templates/debian-12-<recipe hash>/rootfs` where `<cache>` is
$PARTILHA_CACHE or ~/.cache/partilha. A change to the recipe below changes the hash, so an old
template is never reused for a new recipe. The build runs in a temporary directory next to the
final one and is renamed into place, under a file lock: concurrent callers build it once, and a
crash never leaves a half-built template where a finished one is expected.

The template is a real host for pyinfra and testinfra: systemd is its init (services and
`systemctl` work), sshd is a systemd service, python3 is there. It carries no SSH host keys and
an empty machine-id: every guest gets its own at creation. Units useless in a container (gettys,
udev, timers that wake idle guests) are masked so that boot to sshd takes about a second.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from partilha.lab.machine.lxc.commands import MachineError, run

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
VARIANT = "minbase"
PACKAGES: tuple[str, ...] = (
    "systemd-sysv",  # systemd as init: services, systemctl, journal for pyinfra/testinfra
    "dbus",  # hostnamectl, timedatectl, loginctl talk to systemd over D-Bus
    "openssh-server",
    "python3",  # pyinfra facts, testinfra, and the tests' TCP listeners
    "iproute2",
    "iputils-ping",
    "ca-certificates",
    "sudo",
    "procps",
    "netbase",
    "less",
)
# Units that only slow a container down or wake it when idle.
MASKED_UNITS: tuple[str, ...] = (
    "getty@.service",
    "console-getty.service",
    "container-getty@.service",
    "serial-getty@.service",
    "getty-static.service",
    "systemd-udevd.service",
    "systemd-udevd-control.socket",
    "systemd-udevd-kernel.socket",
    "systemd-udev-trigger.service",
    "systemd-udev-settle.service",
    "systemd-networkd-wait-online.service",
    "systemd-firstboot.service",
    "systemd-machine-id-commit.service",
    "systemd-remount-fs.service",
    "systemd-journal-flush.service",
    "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount",
    "sys-kernel-config.mount",
    "sys-fs-fuse-connections.mount",
    "dev-hugepages.mount",
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "dpkg-db-backup.timer",
    "e2scrub_all.timer",
    "fstrim.timer",
)
# Bumped by hand when the post-debootstrap configuration below changes meaning.
CONFIGURE_VERSION = 3


def recipe() -> dict[str, object]:
    return {
        "suite": SUITE,
        "mirror": MIRROR,
        "variant": VARIANT,
        "packages": sorted(PACKAGES),
        "masked": sorted(MASKED_UNITS),
        "configure": CONFIGURE_VERSION,
    }


def recipe_hash() -> str:
    return hashlib.sha256(json.dumps(recipe(), sort_keys=True).encode()).hexdigest()[:12]


def cache_root() -> Path:
    if env := os.environ.get("PARTILHA_CACHE"):
        return Path(env)
    return Path.home() / ".cache" / "partilha"


def template_dir(cache: Path | None = None) -> Path:
    return (cache or cache_root()) / "templates" / f"debian-12-{recipe_hash()}"


def ensure_template(cache_root: Path | None = None, *, timeout: float = 1800.0) -> Path:
    """The template's root filesystem, built now if missing. Safe to call from many processes."""
    final = template_dir(cache_root)
    rootfs = final / "rootfs"
    if rootfs.is_dir():
        return rootfs
    final.parent.mkdir(parents=True, exist_ok=True)
    with _locked(final.parent / f"{final.name}.lock", timeout):
        if rootfs.is_dir():  # built by whoever held the lock before us
            return rootfs
        _remove_stale_builds(final)
        work = Path(tempfile.mkdtemp(prefix=f".{final.name}.build-", dir=final.parent))
        try:
            _debootstrap(work / "rootfs")
            _configure(work / "rootfs")
            (work / "recipe.json").write_text(json.dumps(recipe(), indent=2, sort_keys=True) + "\n")
            work.chmod(0o755)
            work.rename(final)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    return rootfs


@contextmanager
def _locked(path: Path, timeout: float) -> Iterator[None]:
    with path.open("a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise MachineError(f"{path}: another build held the lock for {timeout:g} s") from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_stale_builds(final: Path) -> None:
    """Builds interrupted by a crash (we hold the lock, so none is running)."""
    for stale in final.parent.glob(f".{final.name}.build-*"):
        shutil.rmtree(stale, ignore_errors=True)


def _debootstrap(rootfs: Path) -> None:
    run(
        [
            "debootstrap",
            f"--variant={VARIANT}",
            f"--include={','.join(PACKAGES)}",
            SUITE,
            str(rootfs),
            MIRROR,
        ],
        timeout=1500,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"},
    )


def _configure(rootfs: Path) -> None:
    etc = rootfs / "etc"
    # Every guest gets its own host keys and machine-id before first boot.
    for key in (etc / "ssh").glob("ssh_host_*"):
        key.unlink()
    (etc / "machine-id").write_text("")
    dbus_id = rootfs / "var/lib/dbus/machine-id"
    if dbus_id.exists() and not dbus_id.is_symlink():
        dbus_id.unlink()
        dbus_id.symlink_to("/etc/machine-id")
    units = etc / "systemd/system"
    units.mkdir(parents=True, exist_ok=True)
    for unit in MASKED_UNITS:
        link = units / unit
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to("/dev/null")
    # Guests have no DNS (nothing off the machine is reachable); apt goes through the lab's
    # proxy, which resolves names itself.
    resolv = etc / "resolv.conf"
    if resolv.is_symlink() or resolv.exists():
        resolv.unlink()
    resolv.write_text("# lab guests have no DNS server; apt uses the lab's package cache\n")
    (etc / "fstab").write_text("# the lab's LXC configuration mounts what a guest needs\n")
    (etc / "apt/apt.conf.d/90partilha-lab").write_text(
        'Acquire::Languages "none";\nAcquire::Retries "2";\nAcquire::http::Timeout "30";\n'
    )
    journald = etc / "systemd/journald.conf.d"
    journald.mkdir(parents=True, exist_ok=True)
    (journald / "partilha-lab.conf").write_text("[Journal]\nStorage=volatile\nRuntimeMaxUse=16M\n")
    sshd = etc / "ssh/sshd_config.d"
    sshd.mkdir(parents=True, exist_ok=True)
    (sshd / "partilha-lab.conf").write_text("UseDNS no\nPasswordAuthentication no\n")
    (etc / "hostname").write_text("localhost\n")
    run(["chroot", str(rootfs), "apt-get", "clean"], timeout=120)
    for log in (rootfs / "var/log").rglob("*.log"):
        log.write_text("")
