"""The Proxmox VE node controls: what deploys/hypervisor.py sets on every node, and why.

Same shape as the baseline's catalogue (deploys/controls.py): `partilha.controls.Control`s:
deploys/hypervisor.py applies these values and tests/infra/test_hypervisor.py proves each
control, one test per ID. They come on top of the baseline, which every node also gets.

Mappings: CIS Debian Linux 12 Benchmark v1.1.0 where a recommendation covers the same ground;
the rest follow Proxmox VE's admin guide (host system administration, cluster manager).
"""

from __future__ import annotations

from deploys.controls import NO_CLOCK, NO_KERNEL
from partilha.controls import Control

NOT_A_NODE = "a guest is no Proxmox VE node"

# ---- values the deploy sets and the tests expect ---------------------------------------------

TIMEZONE = "Europe/Lisbon"
CHRONY_CONF = "/etc/chrony/chrony.conf"
ROOT_KEY = "/root/.ssh/id_ed25519"
CLUSTER_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts"
CLUSTER_SSH_CONFIG = "/etc/ssh/ssh_config.d/50-partilha-cluster.conf"
SUITE = "bookworm"  # PVE 8 runs on Debian 12
PVE_SOURCES = "/etc/apt/sources.list.d/pve-no-subscription.sources"
PVE_KEYRING = f"/etc/apt/trusted.gpg.d/proxmox-release-{SUITE}.gpg"
PVE_REPO = {"Types": "deb", "URIs": "http://download.proxmox.com/debian/pve", "Suites": SUITE,
            "Components": "pve-no-subscription", "Signed-By": PVE_KEYRING}
# What a PVE installation ships enabled; a node without a subscription cannot use them.
ENTERPRISE_LISTS = {
    "/etc/apt/sources.list.d/pve-enterprise.list":
        f"deb https://enterprise.proxmox.com/debian/pve {SUITE} pve-enterprise",
    "/etc/apt/sources.list.d/ceph.list":
        f"deb https://enterprise.proxmox.com/debian/ceph-quincy {SUITE} enterprise",
}
ENTERPRISE_HOST = "enterprise.proxmox.com"
SYSCTL_FILE = "/etc/sysctl.d/60-partilha-hypervisor.conf"
SYSCTL_MEMORY = {"vm.swappiness": 10}
HOST_FIREWALL = "/etc/pve/nodes/{node}/host.fw"  # the node's firewall config, in pmxcfs
HOST_FIREWALL_OPTIONS = {"nftables": "1"}
VZDUMP_HOOK = "/usr/local/lib/partilha/vzdump-partilha"  # backup/hooks/vzdump-partilha
VZDUMP_CONF = "/etc/vzdump.conf"

# ---- the controls ---------------------------------------------------------------------------


def _node(id: str, title: str, impact: float, rationale: str, cis: tuple[str, ...] = (),
          in_container: str | None = None) -> Control:
    return Control(id, title, impact, rationale, (), cis, hosts="nodes", out_of_scope=NOT_A_NODE,
                   in_container=in_container)


CONTROLS: tuple[Control, ...] = (
    _node("PTL-HV-01", "Every node's name resolves to its management address on every node", 1.0,
          "pve-cluster and corosync find a node by its name; its own name must not resolve to a "
          "loopback address, and the cluster must not hang on DNS to find its members."),
    _node("PTL-HV-02", "chrony takes time from the site's time sources only", 0.7,
          "Cluster nodes must agree on the time (corosync, HA fencing, backup schedules); "
          "public pools are unreachable from a management network and differ from node to node.",
          ("2.3.3.1",)),
    _node("PTL-HV-03", "chronyd runs and follows the site's time source", 0.7,
          "A configured but stopped daemon keeps no clock in step.",
          ("2.3.1.1", "2.3.3.3"), in_container=NO_CLOCK),
    _node("PTL-HV-04", "Updates come from Proxmox's no-subscription repository, signed", 0.7,
          "Without a subscription the enterprise repository refuses every update; the "
          "no-subscription one carries the same packages, checked against Proxmox's release key. "
          "In the lab no Proxmox archive is reachable: the file is written and verified, "
          "disabled (`Enabled: no`), so apt never asks for it.",
          ("1.2.1.1", "1.2.1.2")),
    _node("PTL-HV-05", "The enterprise repositories (PVE, Ceph) are disabled", 0.5,
          "A subscription-less node fails every apt update on them (401), which hides real "
          "update failures and stops unattended upgrades.",
          ("1.2.1.2",)),
    _node("PTL-HV-06", "Root on each node logs in to every other node with its own key", 1.0,
          "Migration, replication and PVE's cluster tools run over root SSH between nodes; each "
          "node has its own key, and only the cluster's keys are authorised."),
    _node("PTL-HV-07", "Nodes trust each other's host keys as pinned, never on first use", 1.0,
          "Host keys come from the keys partilha pinned when the node was made; an unknown or "
          "changed key is refused, so no one can sit between two nodes."),
    _node("PTL-HV-08", f"Every node keeps the same time zone ({TIMEZONE})", 0.3,
          "Backup jobs and other calendar events run in the node's local time: nodes in "
          "different zones would run the same schedule at different hours."),
    _node("PTL-HV-09", "A hypervisor's memory settings: low swappiness, kernel same-page merging", 0.3,
          "Guests' memory should stay in RAM (vm.swappiness 10, as Proxmox recommends) and "
          "identical pages are shared (ksmtuned).",
          in_container=NO_KERNEL),
    _node("PTL-HV-10", "The node runs PVE's nftables firewall (host option nftables: 1)", 1.0,
          "Only the nftables firewall (proxmox-firewall, PVE 8.2+) enforces the cluster's "
          "forward rules and VNet firewalls, the declared flows between VNets; the older "
          "iptables one ignores them and lets every routed packet through."),
    _node("PTL-HV-11", "Every backup of the node records its archive's sha256 beside it (vzdump hook)",
          0.7, "zstd's own checksum catches flipped bytes, not an archive re-packed or replaced; a "
          "digest made when the archive is written, compared before any restore, does. The hook is "
          "vzdump.conf's `script`, so it runs for jobs, API calls and the GUI alike (PVE lets only "
          "root@pam's ticket, never an API token, give a backup job its own `script`)."),
)

BY_ID = {c.id: c for c in CONTROLS}
