"""Fixtures for the realisation layer's tests: a throwaway lab instance on this machine.

`mlab` (one per test session) owns a random prefix (containers `<prefix>-<vmid>`, bridges
`<prefix><id>`, nftables table `partilha_<prefix>`), a state directory, a known_hosts file, an
SSH key for root in the guests, an apt-cacher-ng on a free port, one vlan zone and two VNets on
subnets no route of the host uses. Its finalizer removes all of it, whatever the tests did.
`guest` (per test) creates and starts guests and destroys them when the test ends.

`make test` runs these modules on two pytest-xdist workers (`--dist loadfile`): a worker runs a
module whole (the modules that share one lab, `SHARE_A_LAB`, one after the other), the slowest
first, and each worker picks free subnets and ports from its own share (partilha.lab.machine.pick).
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI
from xdist.scheduler import LoadFileScheduling

from partilha.inventory import Inventory, load_inventory
from partilha.inventory.guests import PlacedGuest
from partilha.lab import free_subnets, make_guests, throwaway
from partilha.lab.backup import scheduler
from partilha.lab.instance import LabInstance
from partilha.lab.machine.lxc import aptcache, containers, network, nftables, picks
from partilha.lab.machine.lxc.template import ensure_template
from partilha.lab.server.store import Store

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
# Modules that share one lab: e2e/conftest.py's whole_lab (package scope) is made for
# test_frontdoor and left to test_up, which ends it. One worker runs them, in this order.
SHARE_A_LAB = {"e2e/test_frontdoor.py": "e2e/whole_lab", "e2e/test_up.py": "e2e/whole_lab"}
# The units of work whose setup and calls take longest, longest first: the workers take them in
# this order, so the long ones start at once and the short ones even out the end.
SLOWEST_FIRST = (
    "e2e/test_dr.py",
    "molecule/test_drills.py",
    "e2e/whole_lab",
    "e2e/test_verify_backups.py",
    "deploy_services/test_deploy_services.py",
    "e2e/test_audit.py",
    "e2e/test_faults.py",
    "deploy/test_deploy_baseline.py",
    "e2e/test_policy_gate.py",
    "e2e/test_killed_up.py",
    "api/test_node_hosts.py",
    "api/test_outside_client.py",
    "providers/test_firewall.py",
    "api/test_backup.py",
)

LISTENER = (
    "import socket,sys\n"
    "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen(8)\n"
    "for _ in range(1000):\n"
    "    c, _a = s.accept(); c.sendall(b'hello'); c.close()\n"
)
CONNECT = (
    "import socket,sys\n"
    "try:\n"
    "    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))\n"
    "except OSError as e:\n"
    "    print('closed', type(e).__name__)\n"
    "    sys.exit(0)\n"
    "try:\n"
    "    print('open', c.recv(5).decode())\n"
    "except OSError:\n"
    "    print('open')\n"
)




def pytest_configure(config: pytest.Config) -> None:
    """A pytest-xdist worker (gw<k> of n) picks free subnets and ports from the k-th of n shares,
    it and what it starts: two workers never take the same one between looking and taking."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if worker and count:
        os.environ[picks.SHARE] = f"{worker.removeprefix('gw')}/{count}"


def _unit(nodeid: str) -> str:
    """The unit of work a test belongs to: its module (relative to tests/lab/), or the lab it shares."""
    module = nodeid.split("::", 1)[0].removeprefix("tests/lab/")
    return SHARE_A_LAB.get(module, module)


class LabScheduling(LoadFileScheduling):
    """pytest-xdist's loadfile, the modules that share one lab one unit (its loadgroup cannot
    group on pytest 9.2: pytest-dev/pytest-xdist#1386)."""

    def _split_scope(self, nodeid: str) -> str:
        return _unit(nodeid)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadFileScheduling | None:
    if config.getvalue("dist") != "loadfile":
        return None
    config.option.loadscopereorder = False  # the units in collection order (slowest first), not by size
    return LabScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The lab's units of work slowest first, each unit's tests together in their own order (the
    others keep their places): pytest-xdist hands the workers units in this order."""
    places = [n for n, item in enumerate(items) if item.path.is_relative_to(HERE)]
    rank = {unit: n for n, unit in enumerate(SLOWEST_FIRST)}
    ordered = sorted((items[n] for n in places), key=lambda item: rank.get(_unit(item.nodeid), len(rank)))
    for n, item in zip(places, ordered, strict=True):
        items[n] = item


@dataclasses.dataclass
class VNet:
    bridge: str
    subnet: IPv4Network

    @property
    def gateway(self) -> IPv4Interface:
        return IPv4Interface(f"{self.subnet[1]}/{self.subnet.prefixlen}")

    def address(self, host: int) -> IPv4Interface:
        return IPv4Interface(f"{self.subnet[host]}/{self.subnet.prefixlen}")


@dataclasses.dataclass
class MachineLab:
    prefix: str
    state: Path
    template: Path
    known_hosts: Path
    key: Path
    cache: aptcache.AptCache
    zone: str
    vnets: dict[str, VNet]
    allow: list[nftables.Rule] = dataclasses.field(default_factory=list)
    guest_rules: dict[int, nftables.GuestFilter] = dataclasses.field(default_factory=dict)

    @property
    def table(self) -> str:
        return f"partilha_{self.prefix}"

    @property
    def guests_root(self) -> Path:
        return self.state / "guests"

    def name(self, vmid: int) -> str:
        return f"{self.prefix}-{vmid}"

    def firewall(self) -> nftables.LabFirewall:
        return nftables.LabFirewall(
            self.table,
            vnets=tuple(nftables.VNetNet(v.bridge, v.gateway) for v in self.vnets.values()),
            zone_bridges=(self.zone,),
            cache_port=self.cache.port,
            allow=tuple(self.allow),
            guests=tuple(self.guest_rules.values()),
        )

    def apply_firewall(self) -> None:
        nftables.apply(self.firewall())

    def spec(self, vmid: int, vnet: str, host: int, **changes: object) -> containers.GuestSpec:
        v = self.vnets[vnet]
        spec = containers.GuestSpec(
            name=self.name(vmid),
            vmid=vmid,
            hostname=f"ct{vmid}.lab.test",
            bridge=v.bridge,
            ip=v.address(host),
            gateway=v.gateway.ip,
            guests_root=self.guests_root,
            ssh_public_keys=(self.key.with_suffix(".pub").read_text(),),
            memory_mib=256,
            swap_mib=64,
            apt_proxy_port=self.cache.port,
        )
        return dataclasses.replace(spec, **changes)  # type: ignore[arg-type]

    def ssh_argv(
        self, address: IPv4Address | str, *command: str, known_hosts: Path | None = None
    ) -> list[str]:
        return [
            "ssh",
            "-F",
            "/dev/null",
            "-i",
            str(self.key),
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            f"UserKnownHostsFile={known_hosts or self.known_hosts}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=5",
            "-o",
            "LogLevel=ERROR",
            f"root@{address}",
            *command,
        ]

    def ssh(
        self, spec: containers.GuestSpec, *command: str, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.ssh_argv(spec.ip.ip, *command), capture_output=True, text=True, timeout=timeout, check=False
        )

    def listen(self, spec: containers.GuestSpec, port: int) -> None:
        """A TCP listener in the guest (a transient systemd unit, gone with the guest)."""
        result = self.ssh(
            spec, "systemd-run", "--unit", f"listen{port}", "python3", "-c", f'"{_sh(LISTENER)}"', str(port)
        )
        assert result.returncode == 0, result.stderr
        for _ in range(50):
            if self.ssh(spec, "ss", "-ltnH", f"sport = :{port}").stdout.strip():
                return
        raise AssertionError(f"listener on {spec.name}:{port} did not come up")

    def connect(
        self, spec: containers.GuestSpec, address: IPv4Address | str, port: int, timeout: float = 2.0
    ) -> str:
        """'open hello' (our listeners greet), 'open' or 'closed <error>', seen from inside the guest."""
        result = self.ssh(spec, "python3", "-c", f'"{_sh(CONNECT)}"', str(address), str(port), str(timeout))
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()


def _sh(code: str) -> str:
    """Python code quoted for a double-quoted remote shell word."""
    return code.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`")


def _require_host() -> None:
    if os.geteuid() != 0:
        pytest.skip("the lab realisation tests need root (LXC, bridges, nftables)")
    for tool in ("lxc-start", "debootstrap", "nft", "ip", "apt-cacher-ng", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} missing: run scripts/setup-debian.sh")


def teardown_prefix(prefix: str, guests_root: Path, known_hosts: Path, table: str) -> None:
    """Remove everything of a prefix; every step runs even if an earlier one failed."""
    errors: list[str] = []
    for name in containers.list_guests(f"{prefix}-"):
        try:
            containers.destroy(name, guests_root, known_hosts)
        except Exception as exc:  # keep cleaning
            errors.append(f"{name}: {exc}")
    try:
        network.remove_all(prefix)
    except Exception as exc:
        errors.append(f"bridges: {exc}")
    try:
        nftables.remove(table)
    except Exception as exc:
        errors.append(f"table: {exc}")
    if errors:
        raise RuntimeError("; ".join(errors))


@pytest.fixture(scope="session")
def subnet_pool() -> Callable[[int], list[IPv4Network]]:
    """`take(n)`: n /24s (in 10.214.0.0/16, apart from mlab's) no route uses, never the same twice."""
    handed: list[IPv4Network] = []

    def take(count: int) -> list[IPv4Network]:
        for _ in range(20):
            picked = [n for n in free_subnets(count + len(handed), base="10.214") if n not in handed]
            if len(picked) >= count:
                handed.extend(picked[:count])
                return picked[:count]
        raise RuntimeError("no free subnets in 10.214.0.0/16")

    return take


def _swap_prefixes(inventory: Inventory, subnets: dict[str, IPv4Network]) -> Inventory:
    """A copy whose VNets sit on those subnets (gateway: the first address), for labs that must
    not use the inventory's own (a user's lab may)."""
    vnets = [v.model_copy(update={"prefix": subnets[v.id], "gateway": subnets[v.id][1]})
             if v.id in subnets else v for v in inventory.networks.vnets]
    networks = inventory.networks.model_copy(update={"vnets": vnets})
    return inventory.model_copy(update={"networks": networks})


RealiseGuests = Callable[[ProxmoxAPI, Callable[[Inventory], list[PlacedGuest]], Path],
                         tuple[Inventory, dict[str, dict[str, Any]]]]


@pytest.fixture(scope="session")
def realise_guests(subnet_pool: Callable[[int], list[IPv4Network]]) -> RealiseGuests:
    """`realise(api, pick, key)`: the lab inventory's guests that `pick` chooses, made and started
    on a lab as the stacks would (their VNets moved to free subnets, root trusting `key`).
    Returns that inventory and the guests as the tenant stacks export them."""

    def realise(api: ProxmoxAPI, pick: Callable[[Inventory], list[PlacedGuest]],
                key: Path) -> tuple[Inventory, dict[str, dict[str, Any]]]:
        base = load_inventory(ROOT / "inventories" / "lab")
        vnet_ids = sorted({g.vnet.id for g in pick(base) if g.vnet})
        inventory = _swap_prefixes(base, dict(zip(vnet_ids, subnet_pool(len(vnet_ids)), strict=True)))
        outputs = make_guests(api, inventory, pick(inventory), key.with_suffix(".pub").read_text())
        return inventory, outputs

    return realise


@pytest.fixture(scope="session")
def template() -> Path:
    _require_host()
    return ensure_template()


@pytest.fixture(scope="session")
def mlab(tmp_path_factory: pytest.TempPathFactory, template: Path) -> Iterator[MachineLab]:
    prefix = f"pt{secrets.token_hex(2)}"
    state = tmp_path_factory.mktemp("machine")
    key = state / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    subnets = free_subnets(2)
    lab = MachineLab(
        prefix=prefix,
        state=state,
        template=template,
        known_hosts=state / "known_hosts",
        key=key,
        cache=aptcache.AptCache(state, port=aptcache.free_port(), owner=os.getpid()),
        zone=network.bridge_name(prefix, "z1"),
        vnets={
            "a": VNet(network.bridge_name(prefix, "va"), subnets[0]),
            "b": VNet(network.bridge_name(prefix, "vb"), subnets[1]),
        },
    )
    try:
        network.ensure_zone(lab.zone, vlan_aware=True)
        for tag, vnet in enumerate(lab.vnets.values(), start=11):
            network.ensure_vnet(vnet.bridge, gateway=vnet.gateway, zone=lab.zone, tag=tag)
        lab.apply_firewall()
        aptcache.start(lab.cache)
        yield lab
    finally:
        try:
            aptcache.stop(lab.cache)
        finally:
            teardown_prefix(prefix, lab.guests_root, lab.known_hosts, lab.table)


@pytest.fixture
def free_subnet(mlab: MachineLab) -> Callable[[], IPv4Network]:
    """A /30 no route of the host (nor the lab's VNets) uses, for throwaway interfaces."""

    def pick() -> IPv4Network:
        for net in free_subnets(8):
            if not any(net.overlaps(v.subnet) for v in mlab.vnets.values()):
                return IPv4Network(f"{net.network_address}/30")
        raise RuntimeError("no free subnet")

    return pick


@pytest.fixture
def guest(mlab: MachineLab) -> Iterator[Callable[..., containers.GuestSpec]]:
    """`guest(vmid, vnet, host, **spec changes)`: a created, started, SSH-ready guest."""
    made: list[str] = []

    def make(
        vmid: int, vnet: str = "a", host: int = 10, *, start: bool = True, **changes: object
    ) -> containers.GuestSpec:
        spec = mlab.spec(vmid, vnet, host, **changes)
        made.append(spec.name)
        containers.create(spec, mlab.template, mlab.known_hosts)
        if start:
            containers.start(spec)
        return spec

    try:
        yield make
    finally:
        for name in made:
            containers.destroy(name, mlab.guests_root, mlab.known_hosts)
        if mlab.guest_rules or mlab.allow:
            mlab.guest_rules.clear()
            mlab.allow.clear()
            mlab.apply_firewall()




@pytest.fixture(scope="session")
def ssh_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private key for root in the guests; its public half is `.with_suffix(".pub")`."""
    path = tmp_path_factory.mktemp("ssh") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


# A throwaway lab API instance per test module (own state directory, port and prefix), and
# proxmoxer clients of its administrator: the tests under api/ and providers/ share them.
@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabInstance]:
    with throwaway(tmp_path_factory.mktemp("lab"), ROOT / "inventories" / "lab", "t") as (instance, _):
        with Store(instance.db) as store:
            scheduler.hold(store)  # a tier's calendar event (gold: */4:00) must not fire mid-test
        yield instance


@pytest.fixture(scope="module")
def creds(lab: LabInstance) -> dict[str, Any]:
    return dict(json.loads(lab.credentials.read_text()))


@pytest.fixture(scope="module")
def admin(lab: LabInstance, creds: dict[str, Any]) -> ProxmoxAPI:
    """proxmoxer, unchanged, logged in with a ticket and verifying the lab's certificate."""
    return ProxmoxAPI(
        "127.0.0.1",
        port=lab.port,
        user=creds["username"],
        password=creds["password"],
        verify_ssl=str(lab.cert),
    )


@pytest.fixture(scope="module")
def admin_token(lab: LabInstance, creds: dict[str, Any]) -> ProxmoxAPI:
    user, _, name = creds["token_id"].partition("!")
    return ProxmoxAPI(
        "127.0.0.1",
        port=lab.port,
        user=user,
        token_name=name,
        token_value=creds["token_secret"],
        verify_ssl=str(lab.cert),
    )
