"""The security baseline, proved on each host: one test per control of deploys/controls.py.

Values come from the same catalogue the deploy applies; sshd is checked by its effective
configuration (`sshd -T` for the connection partilha makes), not by reading one file.
"""

from __future__ import annotations

import json
from functools import cache
from ipaddress import ip_network

import pytest
from testinfra.host import Host as Remote  # not Test*: pytest would collect it

from partilha.deploy import host_firewall
from partilha.deploy.catalogue import load_controls
from partilha.deploy.fleet import Fleet
from partilha.deploy.hosts import Host

c = load_controls()


def control(control_id: str) -> pytest.MarkDecorator:
    return pytest.mark.control(control_id)


@cache
def _sshd(host: Remote, login: str, name: str, addr: str) -> dict[str, str]:
    out = host.check_output(f"sshd -T -C user={login},host={name},addr={addr}")
    settings: dict[str, str] = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        settings.setdefault(key, value)  # repeated keywords (hostkey, ...): the first one
    return settings


def sshd(host: Remote, spec: Host) -> dict[str, str]:
    """Effective sshd settings for a login like partilha's, from the automation's address."""
    source = ip_network(spec.ssh_sources[-1])
    addr = source.network_address if source.num_addresses == 1 else next(source.hosts())
    return _sshd(host, spec.admin_user or "root", spec.name, str(addr))


def assert_sshd(host: Remote, spec: Host, control_id: str) -> None:
    effective = sshd(host, spec)
    wrong = {k: effective.get(k) for k, v in c.SSHD[control_id].items() if effective.get(k) != v}
    assert not wrong, f"sshd -T: {wrong}, expected {c.SSHD[control_id]}"


@control("PTL-SSH-01")
def test_ssh_key_only(host: Remote, spec: Host) -> None:
    assert_sshd(host, spec, "PTL-SSH-01")


@control("PTL-SSH-02")
def test_ssh_no_empty_passwords(host: Remote, spec: Host) -> None:
    assert_sshd(host, spec, "PTL-SSH-02")


@control("PTL-SSH-03")
def test_ssh_root_login(host: Remote, spec: Host) -> None:
    effective = sshd(host, spec)["permitrootlogin"]
    # Debian 12's sshd -T prints prohibit-password under its older name
    assert {"without-password": "prohibit-password"}.get(effective, effective) == spec.root_login


@control("PTL-SSH-04")
def test_ssh_ciphers(host: Remote, spec: Host) -> None:
    assert_sshd(host, spec, "PTL-SSH-04")


@control("PTL-SSH-05")
def test_ssh_kex(host: Remote, spec: Host) -> None:
    assert_sshd(host, spec, "PTL-SSH-05")


@control("PTL-SSH-06")
def test_ssh_macs(host: Remote, spec: Host) -> None:
    assert_sshd(host, spec, "PTL-SSH-06")


@control("PTL-SSH-07")
def test_ssh_auth_limits(host: Remote, spec: Host) -> None:
    assert_sshd(host, spec, "PTL-SSH-07")


@control("PTL-SSH-08")
def test_ssh_client_alive(host: Remote, spec: Host) -> None:
    assert_sshd(host, spec, "PTL-SSH-08")


@control("PTL-SSH-09")
def test_ssh_no_forwarding(host: Remote, spec: Host) -> None:
    assert_sshd(host, spec, "PTL-SSH-09")


@control("PTL-SSH-10")
def test_ssh_verbose_log(host: Remote, spec: Host) -> None:
    assert_sshd(host, spec, "PTL-SSH-10")


@control("PTL-SSH-11")
def test_ssh_session_hygiene(host: Remote, spec: Host) -> None:
    assert_sshd(host, spec, "PTL-SSH-11")


@control("PTL-SSH-12")
def test_ssh_files_private(host: Remote) -> None:
    files = ["/etc/ssh/sshd_config",
             *host.check_output("find /etc/ssh/sshd_config.d -maxdepth 1 -name '*.conf'").split(),
             *host.check_output("find /etc/ssh -maxdepth 1 -name 'ssh_host_*_key'").split()]
    loose = [f"{p} {f.user}:{f.group} {f.mode:o}" for p in files
             if (f := host.file(p)).user != "root" or f.group != "root" or f.mode & 0o077]
    assert len(files) > 2 and not loose, f"readable by others: {loose}"


@control("PTL-ACC-01")
def test_admin_user(host: Remote, spec: Host, fleet: Fleet) -> None:
    assert spec.admin_user
    user = host.user(spec.admin_user)
    assert user.exists
    password = host.check_output(f"getent shadow {spec.admin_user}").split(":")[1]
    assert password[:1] in ("!", "*"), "the admin has a usable password"
    keys = host.file(f"{user.home}/.ssh/authorized_keys").content_string.split("\n")
    assert [k.strip() for k in keys if k.strip()] == [fleet.public_key]
    sudoers = host.file(c.ADMIN_SUDOERS)
    assert (sudoers.user, sudoers.mode) == ("root", 0o440)
    assert "(ALL : ALL) NOPASSWD: ALL" in host.check_output(f"sudo -l -U {spec.admin_user}")


@control("PTL-ACC-02")
def test_sudo_pty_and_log(host: Remote, spec: Host) -> None:
    listing = host.check_output(f"sudo -l -U {spec.admin_user or 'root'}")
    assert "use_pty" in listing and f"logfile={c.SUDO_DEFAULTS['logfile']}" in listing, listing


@control("PTL-ACC-03")
def test_login_defs(host: Remote) -> None:
    values: dict[str, str] = {}
    for line in host.file("/etc/login.defs").content_string.splitlines():
        words = line.split()
        if words and not words[0].startswith("#") and len(words) >= 2:
            values[words[0]] = words[1]
    wrong = {k: values.get(k) for k, v in c.LOGIN_DEFS.items() if values.get(k) != v}
    assert not wrong, f"login.defs: {wrong}, expected {c.LOGIN_DEFS}"


@control("PTL-ACC-04")
def test_password_quality(host: Remote) -> None:
    assert host.package("libpam-pwquality").is_installed
    stack = host.file("/etc/pam.d/common-password").content_string
    assert any(line.split()[:3] == ["password", "requisite", "pam_pwquality.so"]
               for line in stack.splitlines() if line.strip() and not line.startswith("#")), stack
    conf = host.file(c.PWQUALITY_CONF).content_string
    settings = {line.split("=")[0].strip(): line.partition("=")[2].strip() or None
                for line in conf.splitlines() if line.strip() and not line.startswith("#")}
    assert settings == c.PWQUALITY


@control("PTL-FILE-01")
def test_account_files(host: Remote) -> None:
    for path, mode, owner, group in c.ACCOUNT_FILES:
        f = host.file(path)
        assert (f.user, f.group, f.mode) == (owner, group, mode), path


def installed(host: Remote, packages: tuple[str, ...]) -> list[str]:
    """Which of `packages` are installed (one dpkg-query for all)."""
    out = host.run("dpkg-query -W -f '${Package} ${db:Status-Abbrev}\\n' " + " ".join(packages)).stdout
    return [line.split()[0] for line in out.splitlines() if line.split()[1:2] == ["ii"]]


@control("PTL-SVC-01")
def test_no_legacy_servers(host: Remote) -> None:
    assert installed(host, c.LEGACY_SERVERS) == []


@control("PTL-SVC-02")
def test_no_legacy_clients(host: Remote) -> None:
    assert installed(host, c.LEGACY_CLIENTS) == []


@control("PTL-TIME-01")
def test_chrony(host: Remote) -> None:
    chrony = host.service("chrony")
    assert chrony.is_running and chrony.is_enabled
    assert not host.service("systemd-timesyncd").is_running
    assert host.run("chronyc -n sources").rc == 0


@control("PTL-AUD-01")
def test_auditd(host: Remote) -> None:
    auditd = host.service("auditd")
    assert auditd.is_running and auditd.is_enabled


@control("PTL-AUD-02")
def test_audit_rules(host: Remote) -> None:
    loaded = host.check_output("auditctl -l")
    assert [k for k in c.AUDIT_KEYS if f"-k {k}" not in loaded and f"key={k}" not in loaded] == []
    assert "No change" in host.run("augenrules --check").stdout  # on disk == loaded (CIS 6.2.3.21)


@control("PTL-UPD-01")
def test_unattended_upgrades(host: Remote) -> None:
    assert host.package("unattended-upgrades").is_installed
    periodic = host.check_output("apt-config dump APT::Periodic")
    assert 'Update-Package-Lists "1"' in periodic and 'Unattended-Upgrade "1"' in periodic, periodic
    assert "Debian-Security" in host.check_output("apt-config dump Unattended-Upgrade::Origins-Pattern")
    for timer in c.APT_TIMERS:
        unit = host.service(timer)
        assert unit.is_enabled and unit.is_running, timer


def _ruleset(host: Remote) -> dict[str, object]:
    return dict(json.loads(host.check_output(f"nft -j list table inet {c.NFT_TABLE}")))


@control("PTL-FW-01")
def test_firewall_default_deny(host: Remote) -> None:
    assert host.service("nftables").is_enabled
    assert host_firewall.input_policy(_ruleset(host)) == "drop"
    chain = host.check_output(f"nft list chain inet {c.NFT_TABLE} input")
    assert 'iif "lo" accept' in chain and "ct state established,related accept" in chain, chain
    # what nftables.service loads at boot is what runs (CIS 4.3.10)
    assert host.file("/etc/nftables.conf").contains(f"^table inet {c.NFT_TABLE} {{")


@control("PTL-FW-02")
def test_ssh_from_management_only(host: Remote, spec: Host) -> None:
    ssh = [a for a in host_firewall.accepts(_ruleset(host)) if a.first <= host_firewall.SSH_PORT <= a.last]
    expected = [a for a in host_firewall.expected_accepts(spec) if a.first == host_firewall.SSH_PORT]
    assert ssh == expected, f"SSH accepted by {ssh}, expected only {expected}"


@control("PTL-FW-03")
def test_only_declared_ports(host: Remote, spec: Host) -> None:
    assert host_firewall.accepts(_ruleset(host)) == host_firewall.expected_accepts(spec)


def _sysctls(host: Remote, wanted: dict[str, int]) -> dict[str, str]:
    """The keys whose live value or persisted line (for boot) differs from `wanted`."""
    live = dict(line.split(" = ", 1) for line in host.check_output("sysctl " + " ".join(wanted)).splitlines())
    persisted = host.file(c.SYSCTL_FILE).content_string.splitlines()
    return {k: live.get(k, "?") for k, v in wanted.items()
            if live.get(k) != str(v) or f"{k} = {v}" not in persisted}


@control("PTL-NET-01")
def test_network_stack(host: Remote) -> None:
    assert _sysctls(host, c.SYSCTL_NET) == {}


@control("PTL-NET-02")
def test_no_forwarding(host: Remote) -> None:
    assert _sysctls(host, c.SYSCTL_NO_FORWARDING) == {}


@control("PTL-KRN-01")
def test_kernel_hardening(host: Remote) -> None:
    assert _sysctls(host, c.SYSCTL_KERNEL) == {}
