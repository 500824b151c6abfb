"""What makes a host a Proxmox VE node of the cluster, on top of the baseline (run that first).

Each section applies controls of deploys/hypervisor_controls.py, whose IDs the operation names
carry; every operation is declarative, so a converged node reports 0 changes.

- PTL-HV-01: /etc/hosts, written whole, names every node of the cluster (the pyinfra
  inventory's `nodes`) and nothing else but localhost.
- PTL-HV-02/03: chrony with the site's time sources only: `time_sources` in the host's data, or
  in the lab the host itself (every lab network's gateway). In a container the clock is the
  host kernel's and chrony's unit will not start (it needs CAP_SYS_TIME): there chrony is
  configured, its configuration checked, and the daemon left alone.
- PTL-HV-04/05: the no-subscription repository, the enterprise ones disabled. The files are
  written whole. In the lab no Proxmox archive is reachable, so the repository is written
  disabled and nothing here ever runs apt update against it.
- PTL-HV-06/07: cluster SSH: each node's own root key (made on the node, never copied),
  authorised on every node with the operator's keys and no other; nodes' host keys from the
  known_hosts partilha pinned them in (the one this run connects with), so no node ever learns
  a key on first use.
- PTL-HV-08: one time zone; PTL-HV-09: swappiness and KSM, where the node owns its kernel.
- PTL-HV-10: the host firewall option `nftables: 1` in the node's host.fw, the node's other
  options and rules kept.
- PTL-HV-11: partilha's vzdump hook (backup/hooks/vzdump-partilha: the archive's sha256 and the
  guest's data digest beside each archive) as the `script:` of /etc/vzdump.conf, the file's
  other lines kept.

Run it on the whole cluster (`partilha deploy hypervisor`): each node reads the others' root
keys while the deploy runs.
"""

from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pyinfra.api.host
from pyinfra import host, inventory, state
from pyinfra.api import OperationError, StringCommand, operation
from pyinfra.facts.deb import DebPackages
from pyinfra.facts.files import File, FileContents
from pyinfra.facts.server import Command
from pyinfra.operations import apt, files, server, systemd

from deploys import hypervisor_controls
from partilha.deploy.hosts import Host
from partilha.deploy.this_host import applies, this_host
from partilha.workspace import CHECKOUT

me = this_host()
if me.kind != "node":
    raise OperationError(f"{me.name} is a {me.kind}: deploys/hypervisor.py is for Proxmox VE nodes")
nodes = sorted((Host.from_json(h.data.partilha) for h in inventory.get_group("nodes")),
               key=lambda n: n.name)


def text(content: str) -> StringIO:
    return StringIO(content)


def time_sources() -> list[str]:
    """The site's time sources: the host's data, or in the lab the lab's host (the gateway)."""
    if host.data.get("time_sources"):
        return list(host.data.time_sources)
    if not me.lab:
        raise OperationError(f"{me.name}: no `time_sources` in its host data (the site's NTP servers)")
    route = host.get_fact(Command, command="ip -4 route show default").split()
    if "via" not in route:
        raise OperationError(f"{me.name}: no default route, so no lab gateway to take time from")
    return [route[route.index("via") + 1]]


def pinned_keys(known_hosts: Path, address: str) -> list[str]:
    """The host keys partilha pinned for `address` (`<type> <base64>`)."""
    keys = [line.split()[1:3] for line in known_hosts.read_text().splitlines()
            if line.split()[:1] == [address] and len(line.split()) >= 3]
    if not keys:
        raise OperationError(f"{known_hosts}: no host key pinned for {address}")
    return [" ".join(key) for key in keys]


@operation()
def ssh_key(path: str, comment: str) -> Iterator[StringCommand]:
    """root's own key pair, made on the node when it has none (the private half stays there)."""
    if host.get_fact(File, path=path) and host.get_fact(File, path=f"{path}.pub"):
        host.noop(f"{path} exists")
        return
    yield StringCommand(f"rm -f {path} {path}.pub && ssh-keygen -q -t ed25519 -N '' -C {comment} -f {path}")


@operation()
def authorise_cluster(members: list[pyinfra.api.host.Host], key_path: str,
                      operator_keys: list[str]) -> Iterator[Any]:
    """root's authorized_keys: the operator's keys and every node's root key (read from the
    nodes as this runs: each made its own in an earlier operation of the same run), nothing else."""
    keys = list(operator_keys)
    for member in members:
        lines = member.get_fact(FileContents, path=f"{key_path}.pub")
        if not lines:
            if not state.is_executing:  # planning before the keys exist: decided when it runs
                return
            raise OperationError(f"{member.name}: no {key_path}.pub to authorise on {me.name}")
        keys.append(lines[0].strip())
    yield from server.user_authorized_keys._inner(user="root", public_keys=keys, delete_keys=True)


def with_options(text: str, options: dict[str, str]) -> str:
    """A PVE firewall config (`host.fw`) with `options` set in its [OPTIONS] section, which is
    made first when missing; every other line kept."""
    lines = text.splitlines()
    if "[OPTIONS]" not in (line.strip() for line in lines):
        lines = ["[OPTIONS]", "", *lines]
    start = next(i for i, line in enumerate(lines) if line.strip() == "[OPTIONS]") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].strip().startswith("[")), len(lines))
    section = [line for line in lines[start:end]
               if line.partition(":")[0].strip() not in options]
    while section and not section[-1].strip():
        section.pop()
    section += [f"{key}: {value}" for key, value in options.items()]
    return "\n".join([*lines[:start], *section, *([""] if end < len(lines) else []), *lines[end:]]) + "\n"


# ---- names (PTL-HV-01) ----------------------------------------------------------------------

files.put(
    name="PTL-HV-01: /etc/hosts names every node",
    src=text("127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n"
             "ff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n"
             "# partilha (PTL-HV-01): the cluster's nodes at their management addresses\n"
             + "".join(f"{node.address}\t{node.name}\n" for node in nodes)),
    dest="/etc/hosts", user="root", group="root", mode="644",
)

# ---- time (PTL-HV-02/03) ---------------------------------------------------------------------

wanted = ["chrony", *(["ksmtuned"] if applies(hypervisor_controls.BY_ID["PTL-HV-09"]) else [])]
installed = host.get_fact(DebPackages)
# Refresh the lists only to install, and not again if another deploy of this run just did.
apt.packages(name="PTL-HV-02/09: chrony and ksmtuned", packages=wanted, no_recommends=True,
             update=any(p not in installed for p in wanted), cache_time=3600)
chrony = files.put(
    name="PTL-HV-02: chrony follows the site's time sources only",
    src=text("# partilha (PTL-HV-02): the site's time sources, no public pools\n"
             + "".join(f"server {source} iburst\n" for source in time_sources())
             + "driftfile /var/lib/chrony/chrony.drift\nmakestep 1 3\nrtcsync\n"
               "leapsectz right/UTC\nlogdir /var/log/chrony\n"),
    dest=hypervisor_controls.CHRONY_CONF, user="root", group="root", mode="644",
)
if applies(hypervisor_controls.BY_ID["PTL-HV-03"]):
    systemd.service(name="PTL-HV-03: chronyd", service="chrony", running=True, enabled=True)
    systemd.service(name="PTL-HV-03: chronyd takes the new sources", service="chrony",
                    restarted=True, _if=chrony.did_change)

# ---- repositories (PTL-HV-04/05) -------------------------------------------------------------

enabled = "no" if me.lab else "yes"  # the lab reaches no Proxmox archive
files.put(
    name="PTL-HV-04: the no-subscription repository",
    src=text("# partilha (PTL-HV-04): Proxmox VE without a subscription"
             + (" (disabled: the lab reaches no Proxmox archive)\n" if enabled == "no" else "\n")
             + "".join(f"{key}: {value}\n" for key, value in hypervisor_controls.PVE_REPO.items())
             + f"Enabled: {enabled}\n"),
    dest=hypervisor_controls.PVE_SOURCES, user="root", group="root", mode="644",
)
for path, line in hypervisor_controls.ENTERPRISE_LISTS.items():
    files.put(name=f"PTL-HV-05: {path} disabled",
              src=text(f"# partilha (PTL-HV-05): no subscription, so disabled\n# {line}\n"),
              dest=path, user="root", group="root", mode="644")

# ---- cluster SSH (PTL-HV-06/07) --------------------------------------------------------------

ssh_key(name="PTL-HV-06: root's own SSH key", path=hypervisor_controls.ROOT_KEY, comment=f"root@{me.name}")
authorise_cluster(name="PTL-HV-06: root trusts the operator's and the nodes' keys only",
                  members=inventory.get_group("nodes"), key_path=hypervisor_controls.ROOT_KEY,
                  operator_keys=host.data.operator_keys)
known_hosts = Path(host.data.ssh_known_hosts_file)
files.put(
    name="PTL-HV-07: the nodes' pinned host keys",
    src=text("# partilha (PTL-HV-07): the cluster's host keys, as pinned by partilha\n"
             + "".join(f"{node.name},{node.address} {key}\n" for node in nodes
                       for key in pinned_keys(known_hosts, node.address))),
    dest=hypervisor_controls.CLUSTER_KNOWN_HOSTS, user="root", group="root", mode="644",
)
names = " ".join(name for node in nodes for name in (node.name, node.address))
files.put(
    name="PTL-HV-07: SSH between nodes checks pinned host keys only",
    src=text("# partilha (PTL-HV-06/07): cluster SSH, host keys from the pinned file only\n"
             f"Host {names}\n    User root\n    IdentityFile {hypervisor_controls.ROOT_KEY}\n"
             "    IdentitiesOnly yes\n    StrictHostKeyChecking yes\n"
             f"    GlobalKnownHostsFile {hypervisor_controls.CLUSTER_KNOWN_HOSTS}\n"
             "    UserKnownHostsFile /dev/null\n    UpdateHostKeys no\n    BatchMode yes\n"
             "    ConnectTimeout 10\n"),
    dest=hypervisor_controls.CLUSTER_SSH_CONFIG, user="root", group="root", mode="644",
)

# ---- time zone (PTL-HV-08) and memory (PTL-HV-09) ---------------------------------------------

server.timezone(name=f"PTL-HV-08: time zone {hypervisor_controls.TIMEZONE}",
                timezone=hypervisor_controls.TIMEZONE)
if applies(hypervisor_controls.BY_ID["PTL-HV-09"]):
    for key, value in hypervisor_controls.SYSCTL_MEMORY.items():
        server.sysctl(name=f"PTL-HV-09: {key}", key=key, value=value, persist=True,
                      persist_file=hypervisor_controls.SYSCTL_FILE)
    systemd.service(name="PTL-HV-09: ksmtuned", service="ksmtuned", running=True, enabled=True)

# ---- the nftables firewall (PTL-HV-10) -------------------------------------------------------

host_firewall = hypervisor_controls.HOST_FIREWALL.format(node=me.name)
have = host.get_fact(FileContents, path=host_firewall) or []
files.directory(name="PTL-HV-10: the node's folder in /etc/pve", path=str(Path(host_firewall).parent))
files.put(name="PTL-HV-10: nftables firewall on (host.fw option nftables: 1)",
          src=text(with_options("\n".join(have), hypervisor_controls.HOST_FIREWALL_OPTIONS)),
          dest=host_firewall, mode="640")

# ---- backups record their checksums (PTL-HV-11) ----------------------------------------------

files.directory(name="PTL-HV-11: partilha's folder for node scripts",
                path=str(Path(hypervisor_controls.VZDUMP_HOOK).parent))
files.put(name="PTL-HV-11: the vzdump hook", src=str(CHECKOUT / "backup" / "hooks" / "vzdump-partilha"),
          dest=hypervisor_controls.VZDUMP_HOOK, user="root", group="root", mode="755")
files.line(name="PTL-HV-11: vzdump runs the hook for every backup", path=hypervisor_controls.VZDUMP_CONF,
           line=r"^#?\s*script:.*$", replace=f"script: {hypervisor_controls.VZDUMP_HOOK}")
