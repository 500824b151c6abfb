"""The baseline on real lab guests over SSH: deployed, converged (the second run changes
nothing), proved by `partilha verify`; a broken control is caught by name and fixed by the
next deploy; a guest whose host key changed is refused by both deploy and verify.

Tests run in file order on one module-scoped lab (tests/lab/deploy/conftest.py).
"""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from partilha.deploy.catalogue import load_controls
from partilha.deploy.login import login_argv

pytestmark = pytest.mark.lab
Deployed = Any  # conftest.Deployed: the lab, its fleet, and `partilha`/ssh/lxc-attach helpers
GUESTS = ["abrantes-portal", "abrantes-dms", "cim-medio-tejo-gis"]  # the fixture's, in fleet order
NOT_IN_CONTAINERS = {"PTL-TIME-01", "PTL-AUD-01", "PTL-AUD-02", "PTL-KRN-01"}
# From inside one guest: "open", "refused" (reached the stack, nothing listens) or "timeout"
# (dropped by a firewall).
PROBE = ("import socket,sys\ns=socket.socket(); s.settimeout(2)\n"
         "try:\n    s.connect((sys.argv[1], int(sys.argv[2]))); print('open')\n"
         "except ConnectionRefusedError: print('refused')\nexcept OSError: print('timeout')\n")


def changes_in(output: str) -> dict[str, int]:
    """host -> changes, from the table `partilha deploy` prints."""
    rows = re.findall(r"│ (\S+)\s+│ (?:guest|node)\s+│ \S+\s+│ (\d+)\s+│", output)
    return {host: int(n) for host, n in rows}


def test_first_run_hardens_every_guest(deployed: Deployed) -> None:
    first = deployed.first_run
    assert first.failures == {}
    assert sorted(first.changes) == sorted(GUESTS)
    assert all(n >= 20 for n in first.changes.values()), first.changes  # packages, sshd, sysctl, ...


def test_second_run_changes_nothing(deployed: Deployed) -> None:
    again = deployed.partilha("deploy", "baseline")
    assert again.returncode == 0, again.stderr
    assert changes_in(again.stdout) == dict.fromkeys(GUESTS, 0), again.stdout
    assert "converged: no host changed" in again.stdout


def test_verify_proves_every_control_on_every_guest(deployed: Deployed) -> None:
    result = deployed.partilha("verify", "baseline", "--reports", str(deployed.reports))
    assert result.returncode == 0, result.stdout + result.stderr
    controls = load_controls().CONTROLS
    report = (deployed.reports / "verify.md").read_text()
    for c in controls:
        cells = "pass" if c.id not in NOT_IN_CONTAINERS else "n/a"
        assert f"| {c.id} | {c.title} | " + " | ".join([cells] * len(GUESTS)) + " |" in report, c.id
    assert "- **PTL-AUD-01** on " + ", ".join(GUESTS) + ": the kernel's audit subsystem is not namespaced" \
        in report
    assert "## Network isolation\n\nNo probe has run for this env yet (`partilha probe`)." in report
    assert json.loads((deployed.reports / "verify.json").read_text())["isolation"] is None
    junit = (deployed.reports / "verify.junit.xml").read_text()
    assert len(re.findall(r'<testcase classname="[^"]*test_baseline"', junit)) == len(controls) * len(GUESTS)


def test_root_cannot_log_in_and_the_admin_can(deployed: Deployed) -> None:
    root = deployed.ssh("abrantes-portal", "root", "true")
    assert root.returncode == 255 and "Permission denied" in root.stderr
    admin = deployed.ssh("abrantes-portal", "partilha", "sudo", "-n", "id", "-u")
    assert admin.returncode == 0 and admin.stdout.strip() == "0", admin.stderr


def test_the_login_partilha_ssh_uses_is_the_admin_once_root_is_closed(deployed: Deployed) -> None:
    argv = login_argv(deployed.fleet, "abrantes-portal", ["id", "-un"])
    assert "-l" in argv and argv[argv.index("-l") + 1] == "partilha"
    assert {"-oStrictHostKeyChecking=yes", f"-oUserKnownHostsFile={deployed.fleet.known_hosts}"} <= set(argv)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "partilha", done.stderr


def test_firewall_drops_ssh_from_a_neighbour_but_not_service_ports(deployed: Deployed) -> None:
    portal = deployed.fleet.host("abrantes-portal")
    assert deployed.fleet.host("abrantes-dms").vnet == portal.vnet  # a neighbour on the same VNet

    def probe(port: int) -> str:
        out = deployed.ssh("abrantes-dms", "partilha", "python3", "-c", f'"{PROBE}"', portal.address,
                           str(port))
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    assert probe(22) == "timeout"  # dms is not an SSH source of the portal
    assert probe(443) == "refused"  # declared: the firewall lets it through, nothing listens yet
    assert probe(8080) == "timeout"  # undeclared


def test_a_broken_control_is_named_and_the_next_deploy_fixes_it(deployed: Deployed) -> None:
    broken = deployed.attach("abrantes-dms", "echo 'PasswordAuthentication yes' "
                                             "> /etc/ssh/sshd_config.d/00-broken.conf")
    assert broken.returncode == 0, broken.stderr
    failing = deployed.partilha("verify", "baseline", "--reports", str(deployed.reports))
    assert failing.returncode == 1
    assert "PTL-SSH-01 on abrantes-dms" in failing.stderr and "passwordauthentication" in failing.stderr
    assert "on abrantes-portal" not in failing.stderr
    fixed = deployed.partilha("deploy", "baseline", "--limit", "abrantes-dms", "-v")
    assert fixed.returncode == 0, fixed.stderr
    assert changes_in(fixed.stdout)["abrantes-dms"] >= 1 and "00-broken.conf" in fixed.stdout
    again = deployed.partilha("verify", "baseline", "--limit", "abrantes-dms",
                              "--reports", str(deployed.reports))
    assert again.returncode == 0, again.stdout + again.stderr


def test_a_host_whose_key_changed_is_refused(deployed: Deployed) -> None:
    keep = deployed.attach("cim-medio-tejo-gis",
                           "mkdir -p /root/keys && cp -a /etc/ssh/ssh_host_* /root/keys/ "
                           "&& rm /etc/ssh/ssh_host_* && ssh-keygen -A -q && systemctl restart ssh")
    assert keep.returncode == 0, keep.stderr
    try:
        deploy = deployed.partilha("deploy", "baseline")
        assert deploy.returncode == 1
        assert re.search(r"cim-medio-tejo-gis \(\S+\): its SSH host key is not the one pinned in",
                         deploy.stderr)
        assert changes_in(deploy.stdout) == {"abrantes-portal": 0, "abrantes-dms": 0}  # the others ran
        verify = deployed.partilha("verify", "baseline", "--reports", str(deployed.reports))
        assert verify.returncode == 1
        assert "cim-medio-tejo-gis refused" in verify.stderr and "not the one pinned" in verify.stderr
    finally:
        back = deployed.attach("cim-medio-tejo-gis", "rm /etc/ssh/ssh_host_* && cp -a /root/keys/* /etc/ssh/ "
                                                     "&& rm -r /root/keys && systemctl restart ssh")
        assert back.returncode == 0, back.stderr
    assert deployed.partilha("verify", "baseline", "--limit", "cim-medio-tejo-gis", "--reports",
                             str(deployed.reports)).returncode == 0
