"""Every role of the services catalogue, and the hypervisor deploy, on real lab hosts over SSH:
the first run configures them, tests/infra proves each control on each host, a converged run
changes nothing, and a broken service is named by its control and host, then healed by the next
run. The run times print with `pytest -s`.

Tests run in file order on one module-scoped lab (conftest.py here).
"""

from __future__ import annotations

from typing import Any

import pytest

from partilha.deploy.catalogue import catalogues

pytestmark = pytest.mark.lab
Deployed = Any  # conftest.Deployed
ROLES = ["crm", "dms", "einvoice", "eprocurement", "frontdoor", "gis", "intranet", "portal"]
NODES = ["pve1", "pve2", "pve3", "pve-dr1"]
NOT_IN_CONTAINERS = {"PTL-HV-03", "PTL-HV-09"}  # the clock and the kernel are the lab host's
REDIRECTING = {"frontdoor", "portal"}  # the roles whose catalogue entry opens port 80


def expected(control: str, kind: str, role: str | None) -> str:
    if control.startswith("PTL-HV-"):
        return "na" if kind == "guest" or control in NOT_IN_CONTAINERS else "passed"
    if kind == "node" or (control == "PTL-SRV-04" and role not in REDIRECTING):
        return "na"
    return "passed"


def test_first_run_configures_every_node_and_guest(deployed: Deployed) -> None:
    first = deployed.first_run
    assert first.failures == {}
    hosts = deployed.fleet.hosts
    assert sorted(h.name for h in hosts if h.kind == "node") == sorted(NODES)
    assert sorted(h.role for h in hosts if h.kind == "guest") == ROLES
    assert all(first.changes[h.name] > 0 for h in hosts), first.changes
    print(f"\nfirst run (hypervisor + services): {first.seconds:.1f} s over {len(hosts)} hosts")


def test_verify_proves_every_control_on_every_host(deployed: Deployed) -> None:
    proc, outcomes = deployed.verify()
    assert proc.returncode == 0, proc.stdout[-4000:]
    found = {(o.control, o.host): o.outcome for o in outcomes.items}
    ids = [c.id for module in catalogues() for c in module.CONTROLS
           if c.id.startswith(("PTL-HV-", "PTL-SRV-"))]
    assert ids
    for host in deployed.fleet.hosts:
        for control in ids:
            want = expected(control, host.kind, host.role)
            assert found[(control, host.name)] == want, (control, host.name)


def test_a_converged_run_changes_nothing(deployed: Deployed) -> None:
    again = deployed.deploy()
    assert again.failures == {}
    assert again.changes == {h.name: 0 for h in deployed.fleet.hosts}, again.changed_ops
    print(f"\nno-op run: {again.seconds:.1f} s "
          f"({again.seconds / deployed.first_run.seconds:.0%} of the first run)")


def test_a_broken_service_is_named_and_the_next_run_heals_it(deployed: Deployed) -> None:
    assert deployed.attach("abrantes-dms", "systemctl stop postgresql").returncode == 0
    proc, outcomes = deployed.verify("abrantes-dms")
    assert proc.returncode != 0
    assert [(o.control, o.host) for o in outcomes.failures] == [("PTL-SRV-01", "abrantes-dms")]
    assert "503" in outcomes.failures[0].message
    healed = deployed.deploy()
    assert healed.failures == {}
    assert {name: n for name, n in healed.changes.items() if n} == {"abrantes-dms": 1}, healed.changed_ops
    proc, outcomes = deployed.verify("abrantes-dms")
    assert proc.returncode == 0 and outcomes.failures == [], proc.stdout[-4000:]
