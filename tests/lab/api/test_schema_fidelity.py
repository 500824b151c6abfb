"""Every response the lab serves validates against PVE's published API schema (PVE 8 and 9),
through the pydantic models `proxmoxer-stubs` generates from PVE's apidata."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from proxmoxer_types import v8, v9

from partilha.lab.instance import LabInstance

Typed = Any  # proxmoxer_types.vN.ProxmoxAPI: generated classes, one per path

# path -> how to reach its GET in the generated client
GETS: dict[str, Callable[[Typed], Any]] = {
    "/version": lambda api: api.version.get,
    "/cluster/status": lambda api: api.cluster.status.get,
    "/cluster/resources": lambda api: api.cluster.resources.get,
    "/cluster/nextid": lambda api: api.cluster.nextid.get,
    "/nodes": lambda api: api.nodes.get,
    "/nodes/{node}/status": lambda api: api.nodes("pve1").status.get,
    "/nodes/{node}/tasks": lambda api: api.nodes("pve1").tasks.get,
    "/pools": lambda api: api.pools.get,
    "/pools/{poolid}": lambda api: api.pools("fidelity").get,
    "/access/users": lambda api: api.access.users.get,
    "/access/groups": lambda api: api.access.groups.get,
    "/access/roles": lambda api: api.access.roles.get,
    "/access/acl": lambda api: api.access.acl.get,
    "/access/users/{userid}/token": lambda api: api.access.users("root@pam").token.get,
    "/nodes/{node}/qemu": lambda api: api.nodes("pve1").qemu.get,
    "/cluster/ha/groups": lambda api: api.cluster.ha.groups.get,
    "/cluster/ha/resources": lambda api: api.cluster.ha.resources.get,
    "/storage": lambda api: api.storage.get,
    "/nodes/{node}/storage": lambda api: api.nodes("pve1").storage.get,
    "/nodes/{node}/storage/{storage}/content": lambda api: api.nodes("pve1").storage("local").content.get,
    "/cluster/backup": lambda api: api.cluster.backup.get,
    "/cluster/backup-info/not-backed-up": lambda api: api.cluster.backup_info.not_backed_up.get,
    "/cluster/firewall": lambda api: api.cluster.firewall.get,
    "/cluster/firewall/options": lambda api: api.cluster.firewall.options.get,
    "/cluster/firewall/rules": lambda api: api.cluster.firewall.rules.get,
    "/cluster/firewall/groups": lambda api: api.cluster.firewall.groups.get,
    "/cluster/firewall/macros": lambda api: api.cluster.firewall.macros.get,
    "/cluster/firewall/ipset": lambda api: api.cluster.firewall.ipset.get,
    "/cluster/firewall/ipset/{name}": lambda api: api.cluster.firewall.ipset("fidelity").get,
    "/cluster/firewall/aliases": lambda api: api.cluster.firewall.aliases.get,
    "/cluster/firewall/aliases/{name}": lambda api: api.cluster.firewall.aliases("fidelity").get,
}


@pytest.fixture(scope="module", params=[v8, v9], ids=["pve8", "pve9"])
def typed(request: pytest.FixtureRequest, lab: LabInstance, creds: dict[str, Any],
          admin: Any) -> Typed:
    if "fidelity" not in {p["poolid"] for p in admin.pools.get()}:
        admin.pools.post(poolid="fidelity")
        admin.access.groups.post(groupid="auditors")
        admin.access.acl.put(path="/pool/fidelity", roles="PVEAuditor", groups="auditors")
        admin.cluster.firewall.aliases.post(name="fidelity", cidr="10.9.0.1", comment="schema")
        admin.cluster.firewall.ipset.post(name="fidelity", comment="schema")
        admin.cluster.firewall.ipset("fidelity").post(cidr="10.9.0.0/24", nomatch=1, comment="x")
    return request.param.ProxmoxAPI("127.0.0.1", port=lab.port, user=creds["username"],
                                    password=creds["password"], verify_ssl=str(lab.cert))


@pytest.mark.parametrize("path", GETS)
def test_response_validates_against_pve_schema(typed: Typed, path: str) -> None:
    GETS[path](typed).model()  # raises pydantic.ValidationError on any mismatch
