"""Lab guests as real LXC system containers on an overlay of the Debian 12 template.

A guest `<prefix><vmid>` lives in LXC's default lxcpath (/var/lib/lxc, so `lxc-ls` shows it) and
keeps its writable layer in `<guests_root>/<name>/`: `upper/` (the overlay's upper directory),
`olwork/` (overlayfs' work directory, placed there by LXC), `lxc.log`, `console.log`. LXC mounts
the overlay (lower = template, upper = the guest's) inside the container's own mount namespace,
so nothing stays mounted on the host when a guest stops.

Before first boot the host writes into the upper directory what PVE writes into a container:
hostname, /etc/hosts, root's authorized_keys, a fresh machine-id and fresh SSH host keys (made
with ssh-keygen on the host, pinned in the caller's known_hosts file), and an apt proxy pointing
at the lab's package cache on the gateway. The `net0` address and default route are set by LXC
on the veth before init runs; memory, swap and CPU limits are cgroup keys in the LXC config.

While a guest runs, its files are changed through `/proc/<init pid>/root`, i.e. through the
mounted overlay, never by writing into the upper directory behind overlayfs' back.

A clone (`create(..., seed=<source upper>)`) starts from a copy of a stopped guest's upper
directory, then gets its own identity exactly like a new guest: no two guests share host keys.
A guest without a static address (the lab has no DHCP) can be created but not started.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

from partilha.lab.machine.lxc import known_hosts, network
from partilha.lab.machine.lxc.commands import MachineError, run
from partilha.lab.machine.lxc.known_hosts import HostKey
from partilha.lab.machine.lxc.ssh_ready import wait_for_ssh

LXC_PATH = Path("/var/lib/lxc")
HOST_KEY_TYPES: tuple[str, ...] = ("ed25519", "ecdsa")
APT_PROXY_FILE = "etc/apt/apt.conf.d/01partilha-lab-proxy"
CFS_PERIOD_US = 100_000


@dataclass(frozen=True)
class GuestSpec:
    """What a guest is; everything the API's state knows about it that the host must realise."""

    name: str  # the container name, "<prefix><vmid>"
    vmid: int
    hostname: str
    bridge: str
    ip: IPv4Interface | None  # None: no static address (the lab has no DHCP: it cannot start)
    gateway: IPv4Address | None
    guests_root: Path  # the caller's directory; this guest's files go to guests_root / name
    ssh_public_keys: tuple[str, ...] = ()
    vlan: int | None = None  # a VLAN tag on a VLAN-aware bridge (PVE's net0 `tag=`)
    cores: int = 1
    memory_mib: int = 512
    swap_mib: int = 512
    apt_proxy_port: int | None = 3142  # the lab's apt-cacher-ng on the gateway; None: no proxy
    hwaddr: str = field(default="")  # derived from the name when empty
    root_password_hash: str = ""  # root's /etc/shadow hash (PVE's `password`); "" keeps the template's

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or len(self.name) > 64:
            raise ValueError(f"invalid guest name {self.name!r}")
        if self.ip is not None and (self.gateway is None or self.ip.ip == self.gateway
                                    or self.gateway not in self.ip.network):
            raise ValueError(f"{self.name}: gateway {self.gateway} is not a peer in {self.ip.network}")
        if self.cores < 1 or self.memory_mib < 16 or self.swap_mib < 0:
            raise ValueError(f"{self.name}: cores >= 1, memory >= 16 MiB and swap >= 0 required")
        if self.vlan is not None and not 1 <= self.vlan <= 4094:
            raise ValueError(f"{self.name}: VLAN tag {self.vlan} outside 1..4094")
        if not self.hwaddr:
            digest = hashlib.sha256(self.name.encode()).digest()
            object.__setattr__(self, "hwaddr", "02:" + ":".join(f"{b:02x}" for b in digest[:5]))

    @property
    def dir(self) -> Path:
        return self.guests_root / self.name

    @property
    def upper(self) -> Path:
        return self.dir / "upper"

    @property
    def veth(self) -> str:
        return host_veth(self.name)


def host_veth(name: str) -> str:
    """The host-side end of a guest's net0 (unique per container name, ≤ 15 characters)."""
    return "vp" + hashlib.sha256(name.encode()).hexdigest()[:10] + "i0"


def config_path(name: str) -> Path:
    return LXC_PATH / name / "config"


def exists(name: str) -> bool:
    return config_path(name).is_file()


def list_guests(prefix: str) -> list[str]:
    """Names of the containers (running or not) whose name starts with `prefix`."""
    if not prefix:
        raise ValueError("a prefix is required")
    if not LXC_PATH.is_dir():
        return []
    return sorted(p.name for p in LXC_PATH.iterdir() if p.name.startswith(prefix) and exists(p.name))


# ---- create ---------------------------------------------------------------------------------


def create(spec: GuestSpec, template: Path, known_hosts_file: Path, *,
           seed: Path | None = None) -> list[HostKey]:
    """Create a stopped guest; returns its host keys (pinned in `known_hosts_file` when it has
    an address). With `seed` (another guest's stopped upper directory) its writable layer starts
    as a copy of that one, a clone: same files, but its own machine-id and SSH host keys."""
    if exists(spec.name):
        raise MachineError(f"CT {spec.vmid}: container {spec.name} already exists")
    if not (template / "etc/os-release").is_file():
        raise MachineError(f"{template}: not a template root filesystem")
    spec.dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        spec.dir.mkdir()  # atomic claim: a concurrent create of the same name fails here
    except FileExistsError:
        raise MachineError(f"CT {spec.vmid}: {spec.dir} already exists") from None
    try:
        spec.upper.mkdir()
        if seed is not None:
            # -a keeps owners, modes, xattrs and overlayfs' whiteouts (0/0 character devices)
            run(["cp", "-a", "--", f"{seed}/.", str(spec.upper)], timeout=1800)
        files = _Files(spec.upper, lower=template)
        keys = _host_keys(files)
        files.write("etc/machine-id", uuid.uuid4().hex + "\n", 0o444)
        _apply_identity(files, spec)
        _write_config(spec, template)
        if spec.ip is not None:
            known_hosts.pin(known_hosts_file, str(spec.ip.ip), keys)
    except BaseException:
        _remove(spec.name, spec.dir)
        raise
    return keys


def create_restored(spec: GuestSpec, template: Path, known_hosts_file: Path,
                    fill: Callable[[Path], None]) -> list[HostKey]:
    """Create a stopped guest on the template whose upper directory `fill` writes (a restore:
    what differs from the template, and whiteouts for what the guest lacks). It keeps the SSH
    host keys it was given (new ones only if it has none), pinned for its address alongside any
    other guest holding the same keys."""
    if exists(spec.name):
        raise MachineError(f"CT {spec.vmid}: container {spec.name} already exists")
    spec.dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        spec.dir.mkdir()
    except FileExistsError:
        raise MachineError(f"CT {spec.vmid}: {spec.dir} already exists") from None
    try:
        spec.upper.mkdir()
        fill(spec.upper)
        files = _Files(spec.upper, lower=template)
        keys = guest_host_keys(spec) or _host_keys(files)
        _apply_identity(files, spec, authorized_keys=False)
        _write_config(spec, template)
        if spec.ip is not None:
            known_hosts.pin(known_hosts_file, str(spec.ip.ip), keys, move=False)
    except BaseException:
        _remove(spec.name, spec.dir)
        raise
    return keys


def _host_keys(files: _Files) -> list[HostKey]:
    keys: list[HostKey] = []
    with tempfile.TemporaryDirectory(prefix="partilha-hostkey-") as tmp:
        for kind in HOST_KEY_TYPES:
            path = Path(tmp) / f"ssh_host_{kind}_key"
            run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "root@partilha-lab", "-f", str(path)])
            private = path.read_text()
            public = path.with_suffix(".pub").read_text()
            files.write(f"etc/ssh/{path.name}", private, 0o600)
            files.write(f"etc/ssh/{path.name}.pub", public, 0o644)
            keys.append(HostKey.parse(public))
    files.write(
        "etc/ssh/sshd_config.d/00partilha-hostkeys.conf",
        "".join(f"HostKey /etc/ssh/ssh_host_{kind}_key\n" for kind in HOST_KEY_TYPES),
        0o644,
    )
    return keys


def guest_host_keys(spec_or_dir: GuestSpec | Path) -> list[HostKey]:
    """The public host keys written into a guest at creation (empty if it has none)."""
    upper = spec_or_dir.upper if isinstance(spec_or_dir, GuestSpec) else spec_or_dir / "upper"
    return [
        HostKey.parse((upper / f"etc/ssh/ssh_host_{kind}_key.pub").read_text())
        for kind in HOST_KEY_TYPES
        if (upper / f"etc/ssh/ssh_host_{kind}_key.pub").is_file()
    ]


def _apply_identity(files: _Files, spec: GuestSpec, *, authorized_keys: bool = True) -> None:
    files.write("etc/hostname", f"{spec.hostname}\n", 0o644)
    short = spec.hostname.split(".")[0]
    names = spec.hostname if short == spec.hostname else f"{spec.hostname} {short}"
    files.write(
        "etc/hosts",
        "127.0.0.1\tlocalhost\n"
        "::1\t\tlocalhost ip6-localhost ip6-loopback\n"
        "ff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n"
        f"# --- BEGIN PVE ---\n{spec.ip.ip if spec.ip else '127.0.1.1'}\t{names}\n"
        "# --- END PVE ---\n",
        0o644,
    )
    if spec.root_password_hash:
        files.write("etc/shadow", _with_root_hash(files.read("etc/shadow"), spec.root_password_hash), 0o640)
    if authorized_keys:
        files.write(
            "root/.ssh/authorized_keys",
            "".join(f"{key.strip()}\n" for key in spec.ssh_public_keys if key.strip()),
            0o600,
            dir_mode=0o700,
        )
    if spec.apt_proxy_port is None or spec.gateway is None:
        files.remove(APT_PROXY_FILE)
    else:
        files.write(
            APT_PROXY_FILE,
            f'Acquire::http::Proxy "http://{spec.gateway}:{spec.apt_proxy_port}/";\n'
            'Acquire::https::Proxy "DIRECT";\n',
            0o644,
        )


def _with_root_hash(shadow: str, password_hash: str) -> str:
    """/etc/shadow with root's password hash (and its last change, days since 1970) replaced."""
    lines = []
    for line in shadow.splitlines():
        fields = line.split(":")
        if fields[0] == "root" and len(fields) > 2:
            fields[1], fields[2] = password_hash, str(int(time.time()) // 86400)
        lines.append(":".join(fields))
    return "".join(f"{line}\n" for line in lines)


def _cgroup_v2() -> bool:
    return Path("/sys/fs/cgroup/cgroup.controllers").is_file()


def _limits(spec: GuestSpec) -> dict[str, str]:
    memory = spec.memory_mib * 1024 * 1024
    swap = spec.swap_mib * 1024 * 1024
    quota = spec.cores * CFS_PERIOD_US
    if _cgroup_v2():
        return {
            "lxc.cgroup2.memory.max": str(memory),
            "lxc.cgroup2.memory.swap.max": str(swap),
            "lxc.cgroup2.cpu.max": f"{quota} {CFS_PERIOD_US}",
        }
    limits = {
        "lxc.cgroup.memory.limit_in_bytes": str(memory),
        "lxc.cgroup.cpu.cfs_period_us": str(CFS_PERIOD_US),
        "lxc.cgroup.cpu.cfs_quota_us": str(quota),
    }
    if Path("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists():
        limits["lxc.cgroup.memory.memsw.limit_in_bytes"] = str(memory + swap)
    return limits


def _config_text(spec: GuestSpec, template: Path) -> str:
    lines = [
        f"# partilha lab guest {spec.vmid}; written by partilha.lab.machine.lxc.containers",
        "lxc.include = /usr/share/lxc/config/common.conf",
        "lxc.arch = linux64",
        f"lxc.uts.name = {spec.hostname}",
        f"lxc.rootfs.path = overlay:{template}:{spec.upper}",
        "lxc.apparmor.profile = unconfined",
        "lxc.mount.auto = proc:mixed sys:mixed cgroup:mixed",
        "lxc.tty.max = 0",
        "lxc.pty.max = 64",
        "lxc.signal.halt = SIGRTMIN+3",
        "lxc.signal.reboot = SIGINT",
        "lxc.start.auto = 0",
        "lxc.net.0.type = veth",
        f"lxc.net.0.link = {spec.bridge}",
        "lxc.net.0.flags = up",
        "lxc.net.0.name = eth0",
        f"lxc.net.0.hwaddr = {spec.hwaddr}",
        f"lxc.net.0.veth.pair = {spec.veth}",
    ]
    if spec.ip is not None:
        lines += [f"lxc.net.0.ipv4.address = {spec.ip.with_prefixlen}",
                  f"lxc.net.0.ipv4.gateway = {spec.gateway}"]
    if spec.vlan is not None:
        lines.append(f"lxc.net.0.veth.vlan.id = {spec.vlan}")
    lines += [f"{key} = {value}" for key, value in _limits(spec).items()]
    lines += [
        f"lxc.log.file = {spec.dir / 'lxc.log'}",
        "lxc.log.level = WARN",
        f"lxc.console.logfile = {spec.dir / 'console.log'}",
        "lxc.console.size = 1MB",
    ]
    return "\n".join(lines) + "\n"


def _write_config(spec: GuestSpec, template: Path) -> None:
    path = config_path(spec.name)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(".config.tmp")
    tmp.write_text(_config_text(spec, template))
    tmp.replace(path)


def _config_value(name: str, wanted: str) -> str | None:
    for line in config_path(name).read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == wanted:
            return value.strip()
    return None


def overlay_layers(name: str) -> tuple[Path, Path]:
    """(lower, upper) of the guest's overlay root filesystem."""
    rootfs = _config_value(name, "lxc.rootfs.path")
    if rootfs is None or rootfs.count(":") != 2:
        raise MachineError(f"{config_path(name)}: no overlay rootfs")
    _, lower, upper = rootfs.split(":")
    return Path(lower), Path(upper)


def _template_of(name: str) -> Path:
    return overlay_layers(name)[0]


# ---- lifecycle ------------------------------------------------------------------------------


def state(name: str) -> str:
    """LXC's state of the container: RUNNING, STOPPED, STARTING, STOPPING, ..."""
    if not exists(name):
        return "MISSING"
    return run(["lxc-info", "-n", name, "-s", "-H"], timeout=15).stdout.strip()


def is_running(name: str) -> bool:
    return state(name) == "RUNNING"


def init_pid(name: str) -> int:
    out = run(["lxc-info", "-n", name, "-p", "-H"], timeout=15).stdout.strip()
    if not out.isdigit():
        raise MachineError(f"{name}: not running")
    return int(out)


def start(spec: GuestSpec, *, ssh_timeout: float = 30.0) -> float:
    """Start the guest and wait until sshd answers with its pinned host key; returns seconds."""
    if spec.ip is None:
        raise MachineError(f"{spec.name}: no static address to start it with")
    if not is_running(spec.name):
        run(["lxc-start", "-n", spec.name, "-d"], timeout=60)
    network.forget_neighbour(spec.bridge, spec.ip.ip)
    keys = guest_host_keys(spec)
    try:
        return wait_for_ssh(str(spec.ip.ip), keys, timeout=ssh_timeout)
    except MachineError as exc:
        raise MachineError(f"{exc}; see {spec.dir / 'console.log'}") from exc


def freeze(name: str) -> None:
    """Suspend every process of the guest (vzdump's `suspend` mode)."""
    run(["lxc-freeze", "-n", name], timeout=30)


def unfreeze(name: str) -> None:
    run(["lxc-unfreeze", "-n", name], timeout=30)


def rootfs_reader(name: str) -> tuple[list[str], Path]:
    """(argv prefix, root): how a host command sees the guest's whole root filesystem. A running
    guest's is its init's root; a stopped guest's is its overlay mounted read-only (the upper
    directory as the top lower layer) in a private mount namespace that ends with the command,
    so nothing stays mounted."""
    if is_running(name):
        return [], Path(f"/proc/{init_pid(name)}/root")
    lower, upper = overlay_layers(name)
    mountpoint = upper.parent / "rootfs-view"
    mountpoint.mkdir(exist_ok=True)
    script = 'mount -t overlay overlay -o "ro,lowerdir=$1:$2" "$3" && shift 3 && exec "$@"'
    return (["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
             str(upper), str(lower), str(mountpoint)], mountpoint)


def stop(name: str) -> None:
    """Hard stop (PVE's `status/stop`): kill the container at once."""
    if is_running(name):
        run(["lxc-stop", "-n", name, "-k"], timeout=60)


def shutdown(name: str, *, timeout: float = 60.0, force: bool = False) -> None:
    """Clean shutdown (systemd halts the guest); on timeout: error, or a hard stop if `force`."""
    if not is_running(name):
        return
    seconds = str(max(1, int(timeout)))
    proc = run(["lxc-stop", "-n", name, "-t", seconds, "--nokill"], timeout=timeout + 30, check=False)
    if proc.returncode == 0 and not is_running(name):
        return
    if force:
        stop(name)
        return
    raise MachineError(f"{name}: did not shut down within {seconds} s")


# ---- reconfigure ----------------------------------------------------------------------------


def reconfigure(spec: GuestSpec, known_hosts_file: Path) -> None:
    """Make an existing guest match `spec` (hostname, address, bridge, keys, limits).

    A running guest is changed live, as PVE hot-plugs container options: hostname, address and
    route inside it, its veth moved to another bridge, cgroup limits rewritten.
    """
    if not exists(spec.name):
        raise MachineError(f"CT {spec.vmid}: container {spec.name} does not exist")
    template = _template_of(spec.name)
    running = is_running(spec.name)
    pid = init_pid(spec.name) if running else 0
    files = _Files(Path(f"/proc/{pid}/root"), lower=None) if running else _Files(spec.upper, template)
    _apply_identity(files, spec)
    _write_config(spec, template)
    if spec.ip is not None:
        known_hosts.pin(known_hosts_file, str(spec.ip.ip), guest_host_keys(spec))
    if running:
        _apply_live(spec, pid)


def _nsenter(pid: int, *argv: str) -> None:
    run(["nsenter", "-t", str(pid), "-u", "-n", "--", *argv], timeout=15)


def _apply_live(spec: GuestSpec, pid: int) -> None:
    _nsenter(pid, "hostname", spec.hostname)
    _nsenter(pid, "ip", "-4", "addr", "flush", "dev", "eth0", "scope", "global")
    if spec.ip is not None:
        _nsenter(pid, "ip", "addr", "add", spec.ip.with_prefixlen, "dev", "eth0")
        _nsenter(pid, "ip", "route", "replace", "default", "via", str(spec.gateway), "dev", "eth0")
    master = Path(f"/sys/class/net/{spec.veth}/master")
    if not master.exists() or master.resolve().name != spec.bridge:
        run(["ip", "link", "set", "dev", spec.veth, "master", spec.bridge])
    if spec.vlan is not None:
        run(["bridge", "vlan", "del", "dev", spec.veth, "vid", "1"], check=False)
        run(["bridge", "vlan", "add", "dev", spec.veth, "vid", str(spec.vlan), "pvid", "untagged"])
    limits = _limits(spec)
    # cgroup v1: memsw must stay >= memory, so the order depends on growing or shrinking.
    current = Path(f"/sys/fs/cgroup/memory/lxc.payload.{spec.name}/memory.limit_in_bytes")
    shrinking = current.exists() and int(current.read_text()) > spec.memory_mib * 1024 * 1024
    keys = sorted(limits, key=lambda k: ("memsw" in k) == shrinking)
    for key in keys:
        subkey = key.removeprefix("lxc.cgroup2.").removeprefix("lxc.cgroup.")
        run(["lxc-cgroup", "-n", spec.name, subkey, limits[key]], timeout=15)


# ---- destroy --------------------------------------------------------------------------------


def destroy(name: str, guests_root: Path, known_hosts_file: Path) -> None:
    """Stop the guest, forget its host keys (at its address: a restored copy may share them),
    remove its config and files. Idempotent."""
    guest_dir = guests_root / name
    address = None
    if exists(name):
        stop(name)
        address = (_config_value(name, "lxc.net.0.ipv4.address") or "").split("/")[0] or None
    known_hosts.unpin(known_hosts_file, guest_host_keys(guest_dir), address)
    _remove(name, guest_dir)


def _remove(name: str, guest_dir: Path) -> None:
    for mountpoint in _mounts_under(guest_dir, LXC_PATH / name):
        run(["umount", "-l", mountpoint], check=False)
    shutil.rmtree(LXC_PATH / name, ignore_errors=True)
    if guest_dir.exists():
        _make_removable(guest_dir)
        shutil.rmtree(guest_dir)


def _mounts_under(*dirs: Path) -> list[str]:
    mounts: list[str] = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if any(point == str(d) or point.startswith(f"{d}/") for d in dirs):
            mounts.append(point)
    return sorted(mounts, key=len, reverse=True)


def _make_removable(root: Path) -> None:
    """overlayfs leaves its work directory mode 000; rmtree needs to enter it."""
    for dirpath, dirnames, _ in os.walk(root):
        for d in dirnames:
            p = Path(dirpath) / d
            if not p.is_symlink():
                p.chmod(stat.S_IRWXU)


# ---- files inside a guest -------------------------------------------------------------------


class _Files:
    """Writes files into a guest root; new parent directories copy the lower layer's modes."""

    def __init__(self, root: Path, lower: Path | None) -> None:
        self.root = root
        self.lower = lower

    def write(self, rel: str, content: str, mode: int, *, dir_mode: int | None = None) -> None:
        target = self.root / rel
        self._mkdirs(Path(rel).parent, dir_mode)
        tmp = target.with_name(f".{target.name}.partilha-tmp")
        tmp.write_text(content)
        os.chown(tmp, 0, 0)
        tmp.chmod(mode)
        tmp.replace(target)

    def read(self, rel: str) -> str:
        """The file as the guest sees it: its own copy, else the lower layer's ("" if neither)."""
        for base in (self.root, self.lower):
            if base is not None and (base / rel).is_file():
                return (base / rel).read_text()
        return ""

    def remove(self, rel: str) -> None:
        target = self.root / rel
        if target.exists() or target.is_symlink():
            target.unlink()

    def _mkdirs(self, rel: Path, last_mode: int | None) -> None:
        parts = rel.parts
        for i in range(1, len(parts) + 1):
            sub = Path(*parts[:i])
            path = self.root / sub
            if path.is_dir():
                continue
            source = self.lower / sub if self.lower is not None else None
            if source is not None and source.is_dir():
                st = source.stat()
                path.mkdir()
                os.chown(path, st.st_uid, st.st_gid)
                path.chmod(stat.S_IMODE(st.st_mode))
            else:
                path.mkdir(mode=0o755)
                path.chmod(last_mode if (last_mode is not None and i == len(parts)) else 0o755)


def attach(name: str, *argv: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run a command inside a running guest (as root, in all its namespaces)."""
    return run(["lxc-attach", "-n", name, "--clear-env", "--", *argv], timeout=timeout, check=False)
