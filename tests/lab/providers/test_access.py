"""Role, User, ApiToken and Acl on the real engine and lab: the lifecycle of the four together
(create, no-op, update in place, drift, replace, delete), and a token the stack made that can do
what its ACL allows and nothing else, whose secret is in the token store and never in state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from partilha.proxmox import credentials
from partilha.proxmox.client import Pve
from partilha.proxmox.resources.access import Acl, ApiToken, ApiTokenProvider, Role, User
from partilha.proxmox.resources.pool import Pool
from partilha.proxmox.token_store import TokenStore

from .conftest import LabStack, Program

STORE_AS = "t-abrantes"


def access(*, roleid: str = "tdeploy", privs: tuple[str, ...] = ("Pool.Audit",),
           userid: str = "tabt@pve", comment: str = "first", token_comment: str = "",
           privsep: bool = True, propagate: bool = True) -> Program:
    """A municipality's access: a role, a user, its token, both granted the role on its pool."""

    def declare() -> None:
        Pool("other", poolid="toth")
        pool = Pool("pool", poolid="tabt")
        path = pool.poolid.apply(lambda p: f"/pool/{p}")
        role = Role("role", roleid=roleid, privs=list(privs))
        user = User("user", userid=userid, comment=comment)
        token = ApiToken("token", userid=user.userid, tokenid="deploy", store_as=STORE_AS,
                         comment=token_comment, privsep=privsep)
        Acl("acl-user", path=path, roleid=role.roleid, ugid=user.userid, kind="user")
        Acl("acl-token", path=path, roleid=role.roleid, ugid=token.full_tokenid, kind="token",
            propagate=propagate)
        pulumi.export("token", token.full_tokenid)

    return declare


@pytest.fixture
def store(pulumi_env: dict[str, str]) -> TokenStore:
    """The token store the providers write to (PARTILHA_HOME is the throwaway home)."""
    return TokenStore(Path(pulumi_env["PARTILHA_HOME"]) / ".partilha" / "tokens")


def acl_of(api: ProxmoxAPI, ugid: str) -> list[tuple[str, str, int]]:
    return sorted((e["path"], e["roleid"], e["propagate"]) for e in api.access.acl.get()
                  if e["ugid"] == ugid)


def test_access_lifecycle(stack: LabStack, admin_token: ProxmoxAPI, store: TokenStore) -> None:
    assert stack.up(access()) == {"create": 7}
    assert sorted(stack.writes()) == [
        "POST /access/roles", "POST /access/users", "POST /access/users/tabt@pve/token/deploy",
        "POST /pools", "POST /pools", "PUT /access/acl", "PUT /access/acl"]
    assert admin_token.access.roles("tdeploy").get() == {"Pool.Audit": 1}
    assert admin_token.access.users("tabt@pve").get()["comment"] == "first"
    assert admin_token.access.users("tabt@pve").token("deploy").get()["privsep"] == 1
    assert acl_of(admin_token, "tabt@pve!deploy") == [("/pool/tabt", "tdeploy", 1)]
    first_secret = store.read(STORE_AS)
    assert first_secret is not None and first_secret.startswith("tabt@pve!deploy=")

    assert stack.up() == {"same": 7}
    assert stack.writes() == []

    updated = access(privs=("Pool.Audit", "Pool.Allocate"), comment="second", token_comment="ci",
                     privsep=False, propagate=False)
    assert stack.up(updated) == {"same": 3, "update": 4}
    assert sorted(stack.writes()) == ["PUT /access/acl", "PUT /access/roles/tdeploy",
                                      "PUT /access/users/tabt@pve", "PUT /access/users/tabt@pve/token/deploy"]
    assert admin_token.access.roles("tdeploy").get() == {"Pool.Allocate": 1, "Pool.Audit": 1}
    assert admin_token.access.users("tabt@pve").token("deploy").get() == {
        "privsep": 0, "expire": 0, "comment": "ci"}
    assert acl_of(admin_token, "tabt@pve!deploy") == [("/pool/tabt", "tdeploy", 0)]
    assert store.read(STORE_AS) == first_secret  # updated in place: the same token

    # Drift: changed by hand, an ACL entry removed, and the token's secret lost from the store.
    admin_token.access.roles("tdeploy").put(privs="Sys.Audit")
    admin_token.access.users("tabt@pve").put(comment="by hand")
    admin_token.access.acl.put(path="/pool/tabt", roles="tdeploy", users="tabt@pve", delete=1)
    store.remove(STORE_AS)
    drift = stack.refresh()
    assert {k: drift[k] for k in ("role", "user", "token")} == {
        "role": ["privs"], "user": ["comment"], "token": ["store_as"]}
    assert set(drift) == {"role", "user", "token", "acl-user"}  # the entry gone
    assert stack.up() == {"same": 2, "update": 2, "create": 1, "replace": 2}  # as declared again
    assert admin_token.access.roles("tdeploy").get() == {"Pool.Allocate": 1, "Pool.Audit": 1}
    assert admin_token.access.users("tabt@pve").get()["comment"] == "second"
    assert acl_of(admin_token, "tabt@pve") == [("/pool/tabt", "tdeploy", 1)]
    # a new token and secret; its ACL entry was made again after it
    renewed = store.read(STORE_AS)
    assert renewed is not None and renewed.startswith("tabt@pve!deploy=") and renewed != first_secret
    assert acl_of(admin_token, "tabt@pve!deploy") == [("/pool/tabt", "tdeploy", 0)]

    # Replace: another role and user id; the token and the ACL entries follow them.
    assert stack.up(access(roleid="tdeploy2", userid="tabt2@pve")) == {"same": 2, "replace": 5}
    assert "tdeploy" not in {r["roleid"] for r in admin_token.access.roles.get()}
    assert {u["userid"] for u in admin_token.access.users.get()} & {"tabt@pve", "tabt2@pve"} == {"tabt2@pve"}
    assert acl_of(admin_token, "tabt2@pve!deploy") == [("/pool/tabt", "tdeploy2", 1)]
    assert (store.read(STORE_AS) or "").startswith("tabt2@pve!deploy=")

    # The user deleted behind the stack's back (a lab made again holds none of them): PVE answers
    # a token caller 403, not "no such user", for a missing user's token; refresh finds both gone.
    admin_token.access.users("tabt2@pve").delete()
    with pytest.raises(ResourceException) as refused:
        admin_token.access.users("tabt2@pve").token("deploy").get()
    assert refused.value.status_code == 403
    assert {"user", "token"} <= set(stack.refresh())
    assert stack.up() == {"same": 3, "create": 4}
    assert (store.read(STORE_AS) or "").startswith("tabt2@pve!deploy=")

    admin_token.access.users("tabt2@pve").delete()  # and deleting the token finds it gone too
    stack.destroy()
    assert "tdeploy2" not in {r["roleid"] for r in admin_token.access.roles.get()}
    assert "tabt2@pve" not in {u["userid"] for u in admin_token.access.users.get()}
    assert [e for e in admin_token.access.acl.get() if e["ugid"].startswith("tabt2@pve")] == []
    assert store.read(STORE_AS) is None


def test_scoped_token_from_the_store(stack: LabStack, pulumi_env: dict[str, str], store: TokenStore,
                                     creds: dict[str, Any]) -> None:
    """The municipality's stack would connect like this: its token from the store, never the
    admin token in the environment. It manages its pool and is refused everything else."""
    stack.up(access(privs=("Pool.Allocate", "Pool.Audit")))
    secret = (store.read(STORE_AS) or "").partition("=")[2]
    assert len(secret) >= 32
    state = stack.state(show_secrets=True)
    assert secret not in state and creds["token_secret"] not in state  # nor the admin's
    assert stack.outputs() == {"token": "tabt@pve!deploy"}

    pve = Pve.connect(credentials.resolve({credentials.TOKEN_STORE: STORE_AS}, pulumi_env, store))
    pve.call("PUT", "/pools/tabt", comment="by the municipality")
    assert pve.get("/pools/tabt")["comment"] == "by the municipality"
    assert [p["poolid"] for p in pve.get("/pools")] == ["tabt"]
    for method, path, params in (("GET", "/pools/toth", {}), ("PUT", "/pools/toth", {"comment": "x"}),
                                 ("POST", "/access/roles", {"roleid": "mine"})):
        with pytest.raises(ResourceException) as refused:
            pve.call(method, path, **params)
        assert refused.value.status_code == 403, (method, path)


def test_a_token_comment_cannot_be_emptied_in_place() -> None:
    """PVE's token update ignores an empty comment, so emptying it replaces the token."""
    olds = {"userid": "u@pve", "tokenid": "t", "store_as": "s", "comment": "ci", "privsep": True}
    assert ApiTokenProvider().diff("u@pve!t", olds, {**olds, "comment": "other"}).replaces == []
    assert ApiTokenProvider().diff("u@pve!t", olds, {**olds, "comment": ""}).replaces == ["comment"]
