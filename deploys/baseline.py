"""The security baseline for every Linux host partilha manages (nodes and guests).

Each section applies one family of controls from deploys/controls.py, whose IDs the operation
names carry. Controls that cannot apply inside a container (kernel sysctls, auditd, chrony) are
left out there; the infra tests report them as not applicable, with the reason.

Every operation is declarative, and the deploy first reads the host's state in a few commands
(packages, sysctls, and one snapshot of every file it manages: content hash, owner, mode), then
adds operations only for what differs. A converged host thus costs a handful of commands and
reports 0 changes, whatever the size of the fleet.

Run it with `partilha deploy baseline` (all hosts of the environment).
"""

import json
from hashlib import sha256
from io import StringIO
from pathlib import Path

from pyinfra import host
from pyinfra.api.operation import OperationMeta
from pyinfra.facts.deb import DebPackages
from pyinfra.facts.files import FileContents
from pyinfra.facts.server import Command, Sysctl
from pyinfra.operations import apt, files, server, systemd

from deploys import controls
from partilha.deploy.facts import FileState, FileStates
from partilha.deploy.host_firewall import accepts, expected_accepts, input_policy, ruleset
from partilha.deploy.this_host import applies, this_host

HERE = Path(__file__).resolve().parent
me = this_host()


# ---- what the host looks like now ------------------------------------------------------------

home = f"/home/{me.admin_user}"
sshd_dir = controls.SSHD_DROPIN.rsplit("/", 1)[0]
ssh_files = host.get_fact(Command, command=f"find {sshd_dir} /etc/ssh -maxdepth 1 -type f "
                                           r"\( -name '*.conf' -o -name 'ssh_host_*_key' \)") or ""
dropins = sorted(p for p in ssh_files.split() if p.startswith(f"{sshd_dir}/"))
host_keys = sorted(p for p in ssh_files.split() if p.startswith("/etc/ssh/ssh_host_"))
timer_links = [f"/etc/systemd/system/{t}" for t in controls.APT_TIMERS]
watched = [controls.SUDO_DEFAULTS_FILE, controls.ADMIN_SUDOERS, controls.SSHD_DROPIN, "/etc/ssh/sshd_config",
           *dropins, *host_keys, controls.PWQUALITY_CONF, *(p for p, *_ in controls.ACCOUNT_FILES),
           controls.SYSCTL_FILE, controls.AUDIT_RULES, controls.AUTO_UPGRADES, *timer_links,
           controls.NFT_CONF, f"{home}/.ssh", f"{home}/.ssh/authorized_keys"]
now: dict[str, FileState] = host.get_fact(FileStates, paths=watched)


def differs(path: str, owner: str, group: str, mode: int, content: str | None = None) -> bool:
    state = now.get(path, FileState("missing"))
    if content is not None and state.sha256 != sha256(content.encode()).hexdigest():
        return True
    return (state.user, state.group, state.mode) != (owner, group, mode)


def put(name: str, content: str, dest: str, mode: int, owner: str = "root",
        group: str = "root") -> OperationMeta | None:
    """files.put, added only when the file's content, owner or mode differ."""
    if not differs(dest, owner, group, mode, content):
        return None
    return files.put(name=name, src=StringIO(content), dest=dest, user=owner, group=group, mode=f"{mode:o}")


def own(name: str, path: str, owner: str, group: str, mode: int) -> None:
    if differs(path, owner, group, mode):
        files.file(name=name, path=path, user=owner, group=group, mode=f"{mode:o}")


# ---- packages (PTL-SVC-01/02 and what the other controls need) ---------------------------------

wanted = ["openssh-server", "sudo", "nftables", "libpam-pwquality", "unattended-upgrades"]
wanted += ["chrony"] if applies(controls.BY_ID["PTL-TIME-01"]) else []
wanted += ["auditd"] if applies(controls.BY_ID["PTL-AUD-01"]) else []
installed = host.get_fact(DebPackages)
apt.packages(
    name="Baseline packages",
    packages=wanted,
    update=any(p not in installed for p in wanted),  # refresh the lists only to install
    # pyinfra stamps the update: the hypervisor's and services' installs in the same run
    # (same cache_time) then skip a second `apt-get update`.
    cache_time=3600,
    no_recommends=True,
)
apt.packages(
    name="PTL-SVC-01/02: no legacy network servers or clients",
    packages=[*controls.LEGACY_SERVERS, *controls.LEGACY_CLIENTS],
    present=False,
    purge=True,
)

# ---- the guests' admin (PTL-ACC-01) and sudo (PTL-ACC-02) --------------------------------------

if me.admin_user and applies(controls.BY_ID["PTL-ACC-01"]):
    # server.user's own key handling reads every account; one getent says enough.
    passwd = host.get_fact(Command, command=f"getent passwd {me.admin_user} || true") or ""
    if passwd.split(":")[5:] != [home, "/bin/bash"]:
        server.user(  # noqa: S604 (shell= is the login shell, not a subprocess shell)
            name=f"PTL-ACC-01: admin user {me.admin_user}, no password",
            user=me.admin_user, home=home, shell="/bin/bash", create_home=True,
        )
    if differs(f"{home}/.ssh", me.admin_user, me.admin_user, 0o700):
        files.directory(name="PTL-ACC-01: the admin's .ssh", path=f"{home}/.ssh", user=me.admin_user,
                        group=me.admin_user, mode="700")
    put("PTL-ACC-01: the admin logs in with the operator's key only",
        "".join(f"{key}\n" for key in host.data.operator_keys), f"{home}/.ssh/authorized_keys", 0o600,
        me.admin_user, me.admin_user)
    put("PTL-ACC-01: the admin's sudo",
        f"# partilha baseline (PTL-ACC-01): the automation admin, key-only login\n"
        f"{me.admin_user} ALL=(ALL:ALL) NOPASSWD: ALL\n", controls.ADMIN_SUDOERS, 0o440)
put("PTL-ACC-02: sudo uses a pty and logs",
    "# partilha baseline (PTL-ACC-02)\n" + "".join(
        f"Defaults {k}\n" if v is None else f'Defaults {k}="{v}"\n'
        for k, v in controls.SUDO_DEFAULTS.items()),
    controls.SUDO_DEFAULTS_FILE, 0o440)

# ---- sshd (PTL-SSH-01..12) ------------------------------------------------------------------

# sshd keeps the first value it reads and reads drop-ins in name order: a drop-in sorting
# before ours would override the baseline, so it goes.
earlier = [p for p in dropins if p.rsplit("/", 1)[-1] < controls.SSHD_DROPIN.rsplit("/", 1)[-1]]
removed = [files.file(name=f"PTL-SSH: remove {path}, which would override the baseline",
                      path=path, present=False) for path in earlier]
settings = {k: v for values in controls.SSHD.values() for k, v in values.items()}
settings["permitrootlogin"] = me.root_login
dropin = put("PTL-SSH-01..11: sshd drop-in",
             "# partilha baseline (PTL-SSH-01..11); effective values are checked with sshd -T\n"
             + "".join(f"{key} {value}\n" for key, value in settings.items()), controls.SSHD_DROPIN, 0o600)
for path in ["/etc/ssh/sshd_config", *(p for p in dropins if p not in earlier), *host_keys]:
    if path != controls.SSHD_DROPIN:
        own(f"PTL-SSH-12: {path} is root's alone", path, "root", "root", 0o600)
sshd_changes = [op for op in (dropin, *removed) if op is not None]
if sshd_changes:
    server.shell(name="PTL-SSH: sshd accepts the new configuration", commands=["sshd -t"])
    systemd.service(name="PTL-SSH: sshd reloaded", service="ssh", running=True, enabled=True,
                    reloaded=True)

# ---- passwords (PTL-ACC-03/04) and account files (PTL-FILE-01) ---------------------------------

defs = dict(line.split(None, 1) for line in host.get_fact(FileContents, path="/etc/login.defs") or []
            if line.strip() and not line.startswith("#") and len(line.split()) > 1)
for key, value in controls.LOGIN_DEFS.items():
    if defs.get(key, "").strip() != value:
        files.line(name=f"PTL-ACC-03: login.defs {key}", path="/etc/login.defs",
                   line=f"^{key}[[:space:]].*", replace=f"{key}\t{value}")
put("PTL-ACC-04: password quality",
    "# partilha baseline (PTL-ACC-04)\n"
    + "".join(f"{k}\n" if v is None else f"{k} = {v}\n" for k, v in controls.PWQUALITY.items()),
    controls.PWQUALITY_CONF, 0o644)
for path, mode, owner, group in controls.ACCOUNT_FILES:
    own(f"PTL-FILE-01: {path}", path, owner, group, mode)

# ---- kernel and network stack (PTL-NET-01/02, PTL-KRN-01) ---------------------------------------

sysctls = dict(controls.SYSCTL_NET)
sysctls |= controls.SYSCTL_NO_FORWARDING if applies(controls.BY_ID["PTL-NET-02"]) else {}
sysctls |= controls.SYSCTL_KERNEL if applies(controls.BY_ID["PTL-KRN-01"]) else {}
put("PTL-NET-01/02, PTL-KRN-01: sysctl settings for boot",
    "# partilha baseline\n" + "".join(f"{k} = {v}\n" for k, v in sysctls.items()), controls.SYSCTL_FILE,
    0o644)
live = host.get_fact(Sysctl)
drifted = {k: v for k, v in sysctls.items() if live.get(k) != v}
if drifted:
    server.shell(name=f"PTL-NET-01/02, PTL-KRN-01: sysctl {', '.join(drifted)}",
                 commands=[f"sysctl -w {k}={v}" for k, v in drifted.items()])

# ---- time (PTL-TIME-01) and audit (PTL-AUD-01/02) ---------------------------------------------

if applies(controls.BY_ID["PTL-TIME-01"]):
    systemd.service(name="PTL-TIME-01: chrony", service="chrony", running=True, enabled=True)
if applies(controls.BY_ID["PTL-AUD-01"]):
    rules = put("PTL-AUD-02: audit rules", (HERE / "files" / "audit.rules").read_text(), controls.AUDIT_RULES,
                0o640)
    if rules:
        server.shell(name="PTL-AUD-02: load the audit rules", commands=["augenrules --load"])
    systemd.service(name="PTL-AUD-01: auditd", service="auditd", running=True, enabled=True)

# ---- unattended security upgrades (PTL-UPD-01) -----------------------------------------------

put("PTL-UPD-01: periodic list updates and unattended upgrades",
    'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n',
    controls.AUTO_UPGRADES, 0o644)
# Images (the lab's template among them) may mask apt's timers to keep idle hosts quiet.
masked = [p.rsplit("/", 1)[-1] for p in timer_links if now.get(p, FileState("missing")).target == "/dev/null"]
if masked:
    server.shell(name="PTL-UPD-01: unmask apt's timers", commands=[f"systemctl unmask {' '.join(masked)}"])
for timer in controls.APT_TIMERS:
    systemd.service(name=f"PTL-UPD-01: {timer}", service=timer, running=True, enabled=True)

# ---- host firewall (PTL-FW-01..03), last: everything above may still use the network ---------------

firewall = put("PTL-FW-01..03: nftables ruleset", ruleset(me), controls.NFT_CONF, 0o700)
systemd.service(name="PTL-FW-01: nftables enabled", service="nftables", running=True, enabled=True)
# The rules running, read back as the infra tests read them: a hand edit of the live ruleset
# is drift too, even when the file is intact.
running = json.loads(host.get_fact(Command, command=f"nft -j list table inet {controls.NFT_TABLE} "
                                                   "2>/dev/null || echo '{}'") or "{}")
if firewall or accepts(running) != expected_accepts(me) or input_policy(running) != "drop":
    systemd.service(name="PTL-FW-01..03: ruleset loaded", service="nftables", reloaded=True)
