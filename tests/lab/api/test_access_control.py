"""ACLs checked on every endpoint: a municipality's token sees its pool and nothing else."""

from __future__ import annotations

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from partilha.lab.instance import LabInstance


def token_client(lab: LabInstance, admin: ProxmoxAPI, name: str) -> ProxmoxAPI:
    """A new privilege-separated token of abrantes@pve, and proxmoxer logged in with it."""
    token = admin.access.users("abrantes@pve").token(name).post(privsep=1)
    assert token["full-tokenid"] == f"abrantes@pve!{name}"
    return ProxmoxAPI("127.0.0.1", port=lab.port, user="abrantes@pve", token_name=name,
                      token_value=token["value"], verify_ssl=str(lab.cert))


@pytest.fixture(scope="module")
def abrantes_token(lab: LabInstance, admin: ProxmoxAPI) -> ProxmoxAPI:
    for pool in ("abrantes", "tomar"):
        admin.pools.post(poolid=pool)
    admin.access.users.post(userid="abrantes@pve", comment="Município de Abrantes")
    client = token_client(lab, admin, "deploy")
    # Privilege separation: the token has only what is granted to it, within the user's rights.
    admin.access.acl.put(path="/pool/abrantes", roles="PVEPoolAdmin", users="abrantes@pve")
    admin.access.acl.put(path="/pool/abrantes", roles="PVEPoolAdmin", tokens="abrantes@pve!deploy")
    return client


def test_token_sees_its_own_pool_only(abrantes_token: ProxmoxAPI) -> None:
    assert abrantes_token.pools("abrantes").get()["members"] == []
    assert [p["poolid"] for p in abrantes_token.pools.get()] == ["abrantes"]
    with pytest.raises(ResourceException) as err:
        abrantes_token.pools("tomar").get()
    assert err.value.status_code == 403
    assert "Permission check failed (/pool/tomar, Pool.Audit)" in str(err.value)


def test_token_cannot_grant_itself_more(abrantes_token: ProxmoxAPI) -> None:
    with pytest.raises(ResourceException) as err:
        abrantes_token.access.acl.put(path="/", roles="Administrator", tokens="abrantes@pve!deploy")
    assert err.value.status_code == 403


def test_privilege_separated_token_without_its_own_acl_has_nothing(
    lab: LabInstance, admin: ProxmoxAPI, abrantes_token: ProxmoxAPI
) -> None:
    client = token_client(lab, admin, "bare")
    assert client.pools.get() == []
    with pytest.raises(ResourceException) as err:
        client.pools("abrantes").get()
    assert err.value.status_code == 403


def test_unknown_role_and_bad_acl_path_are_refused(admin: ProxmoxAPI) -> None:
    with pytest.raises(ResourceException, match="role 'NoSuchRole' does not exist"):
        admin.access.acl.put(path="/pool/abrantes", roles="NoSuchRole", users="abrantes@pve")
    with pytest.raises(ResourceException, match="invalid ACL path"):
        admin.access.acl.put(path="/no/such/path", roles="PVEAuditor", users="abrantes@pve")


def test_a_missing_users_tokens_refuse_a_token_and_tell_root(admin: ProxmoxAPI,
                                                             admin_token: ProxmoxAPI) -> None:
    """PVE checks the token routes' permission (the user itself, or User.Modify on its groups)
    before the user's existence: both fail for a missing user, so a token caller, even root's,
    gets 403; root@pam skips the check and is told "no such user"."""
    for method, call in (("GET", lambda api: api.access.users("gone@pve").token("t1").get()),
                         ("POST", lambda api: api.access.users("gone@pve").token("t1").post()),
                         ("DELETE", lambda api: api.access.users("gone@pve").token("t1").delete()),
                         ("list", lambda api: api.access.users("gone@pve").token.get())):
        with pytest.raises(ResourceException) as refused:
            call(admin_token)
        assert refused.value.status_code == 403, method
        with pytest.raises(ResourceException, match=r"no such user \('gone@pve'\)"):
            call(admin)
