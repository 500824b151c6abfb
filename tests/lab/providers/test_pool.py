"""Pool: create, no-op, update in place, drift, replace, delete — on the real engine and lab."""

from __future__ import annotations

from proxmoxer import ProxmoxAPI

from partilha.proxmox.resources.pool import Pool

from .conftest import LabStack


def test_pool_lifecycle(stack: LabStack, admin_token: ProxmoxAPI) -> None:
    assert stack.up(lambda: Pool("p", poolid="tpool1", comment="first")) == {"create": 1}
    assert admin_token.pools("tpool1").get()["comment"] == "first"
    assert stack.writes() == ["POST /pools"]

    assert stack.up() == {"same": 1}
    assert stack.writes() == []

    assert stack.up(lambda: Pool("p", poolid="tpool1", comment="second")) == {"update": 1}
    assert stack.writes() == ["PUT /pools/tpool1"]

    admin_token.pools("tpool1").put(comment="changed by hand")
    assert stack.refresh() == {"p": ["comment"]}
    assert stack.up() == {"update": 1}  # put back as declared
    assert admin_token.pools("tpool1").get()["comment"] == "second"

    assert stack.up(lambda: Pool("p", poolid="tpool2", comment="second")) == {"replace": 1}
    pools = {p["poolid"] for p in admin_token.pools.get()}
    assert "tpool2" in pools and "tpool1" not in pools

    stack.destroy()
    assert "tpool2" not in {p["poolid"] for p in admin_token.pools.get()}
