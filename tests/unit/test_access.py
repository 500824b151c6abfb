"""The lab's access-control model against Proxmox VE 8's own rules.

Expected values come from pve-access-control (PVE 8.4): the privilege tiers in
PVE::AccessControl, the regression tests src/test/perm-test1.pl, perm-test6.pl and perm-test8.pl
(ported below with their configs), and the privilege list a PVE 8.4 node reports for root.
"""

from __future__ import annotations

from typing import Any

import pytest

from partilha.lab.access import (
    BUILTIN_ROLES,
    PRIVILEGES,
    AccessError,
    AccessModel,
    AclEntry,
    AuthenticationError,
    Group,
    InvalidPrivilegeError,
    PermissionDeniedError,
    Pool,
    Token,
    User,
    check_path,
    normalize_path,
    parse_privs,
    split_tokenid,
    verify_acl_path,
    verify_new_roleid,
    verify_poolname,
    verify_rolename,
    verify_username,
)

NOW = 1_750_000_000.0

# What GET /access/permissions reports for root@pam on PVE 8.4: every privilege PVE 8 has.
PVE8_PRIVILEGES = frozenset(
    {
        *("Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate", "Datastore.Audit"),
        *("Group.Allocate", "Permissions.Modify", "Pool.Allocate", "Pool.Audit"),
        *("Mapping.Audit", "Mapping.Modify", "Mapping.Use"),
        *("Realm.Allocate", "Realm.AllocateUser", "User.Modify"),
        *("SDN.Allocate", "SDN.Audit", "SDN.Use"),
        *("Sys.AccessNetwork", "Sys.Audit", "Sys.Console", "Sys.Incoming", "Sys.Modify"),
        *("Sys.PowerMgmt", "Sys.Syslog"),
        *("VM.Allocate", "VM.Audit", "VM.Backup", "VM.Clone", "VM.Config.CDROM", "VM.Config.CPU"),
        *("VM.Config.Cloudinit", "VM.Config.Disk", "VM.Config.HWType", "VM.Config.Memory"),
        *("VM.Config.Network", "VM.Config.Options", "VM.Console", "VM.Migrate", "VM.Monitor"),
        *("VM.PowerMgmt", "VM.Snapshot", "VM.Snapshot.Rollback"),
    }
)

VM_ADMIN_TIER = {
    "VM.Config.Disk",
    "VM.Config.CPU",
    "VM.Config.Memory",
    "VM.Config.Network",
    "VM.Config.HWType",
    "VM.Config.Options",
    "VM.Allocate",
    "VM.Clone",
    "VM.Migrate",
    "VM.Monitor",
    "VM.Snapshot",
    "VM.Snapshot.Rollback",
}
VM_USER_TIER = {"VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console", "VM.Backup", "VM.PowerMgmt"}

# The built-in roles of PVE 8, written out (not generated) so the generator is checked.
EXPECTED_ROLES: dict[str, set[str]] = {
    "Administrator": set(PVE8_PRIVILEGES),
    "NoAccess": set(),
    "PVEAuditor": {
        "VM.Audit",
        "Sys.Audit",
        "Datastore.Audit",
        "SDN.Audit",
        "Pool.Audit",
        "Mapping.Audit",
    },
    "PVEVMAdmin": VM_ADMIN_TIER | VM_USER_TIER | {"VM.Audit"},
    "PVEVMUser": VM_USER_TIER | {"VM.Audit"},
    "PVETemplateUser": {"VM.Clone", "VM.Audit"},
    "PVESysAdmin": {"Sys.Console", "Sys.Syslog", "Sys.Audit"},
    "PVEDatastoreAdmin": {
        "Datastore.Allocate",
        "Datastore.AllocateTemplate",
        "Datastore.AllocateSpace",
        "Datastore.Audit",
    },
    "PVEDatastoreUser": {"Datastore.AllocateSpace", "Datastore.Audit"},
    "PVESDNAdmin": {"SDN.Allocate", "SDN.Audit", "SDN.Use"},
    "PVESDNUser": {"SDN.Use", "SDN.Audit"},
    "PVEUserAdmin": {"User.Modify", "Group.Allocate", "Realm.AllocateUser"},
    "PVEPoolAdmin": {"Pool.Allocate", "Pool.Audit"},
    "PVEPoolUser": {"Pool.Audit"},
    "PVEMappingAdmin": {"Mapping.Modify", "Mapping.Use", "Mapping.Audit"},
    "PVEMappingUser": {"Mapping.Use", "Mapping.Audit"},
}
# PVEAdmin: every admin/user/audit tier, but not the root tier, Permissions.Modify or Mapping.Modify
EXPECTED_ROLES["PVEAdmin"] = set(PVE8_PRIVILEGES) - {
    "Sys.PowerMgmt",
    "Sys.Modify",
    "Sys.Incoming",
    "Sys.AccessNetwork",
    "Realm.Allocate",
    "Permissions.Modify",
    "Mapping.Modify",
}


# ---------------------------------------------------------------------------- roles and privileges


def test_privilege_list_is_pve8s() -> None:
    assert PRIVILEGES == PVE8_PRIVILEGES
    assert len(PRIVILEGES) == 42


def test_builtin_role_names_are_pve8s() -> None:
    assert set(BUILTIN_ROLES) == set(EXPECTED_ROLES)


@pytest.mark.parametrize("roleid", sorted(EXPECTED_ROLES))
def test_builtin_role_privileges(roleid: str) -> None:
    assert set(BUILTIN_ROLES[roleid]) == EXPECTED_ROLES[roleid]


@pytest.mark.parametrize(
    ("roleid", "has", "lacks"),
    [
        ("PVEVMUser", {"VM.PowerMgmt", "VM.Console", "VM.Audit", "VM.Backup"}, {"VM.Allocate"}),
        ("PVEVMAdmin", {"VM.Allocate", "VM.PowerMgmt", "VM.Monitor"}, {"Permissions.Modify"}),
        ("PVEAdmin", {"VM.Allocate", "Sys.Console", "Datastore.Allocate"}, {"Sys.PowerMgmt"}),
        ("PVEAdmin", {"Mapping.Use"}, {"Mapping.Modify", "Permissions.Modify", "Realm.Allocate"}),
        ("PVEAuditor", {"Sys.Audit", "VM.Audit"}, {"VM.Console", "Sys.Syslog", "Pool.Allocate"}),
        ("PVESysAdmin", {"Sys.Console"}, {"Sys.Modify", "Permissions.Modify"}),
        ("PVETemplateUser", {"VM.Clone"}, {"VM.PowerMgmt"}),
    ],
)
def test_builtin_role_spot_checks(roleid: str, has: set[str], lacks: set[str]) -> None:
    assert has <= BUILTIN_ROLES[roleid]
    assert not lacks & BUILTIN_ROLES[roleid]


def test_auditor_holds_only_audit_privileges() -> None:
    assert all(p.endswith(".Audit") for p in BUILTIN_ROLES["PVEAuditor"])


@pytest.mark.parametrize(
    ("privs", "expected"),
    [
        ("VM.Audit,VM.Console", {"VM.Audit", "VM.Console"}),
        ("VM.Audit VM.Console;Sys.Audit", {"VM.Audit", "VM.Console", "Sys.Audit"}),
        (["Pool.Audit"], {"Pool.Audit"}),
        ("", set()),
    ],
)
def test_parse_privs(privs: str | list[str], expected: set[str]) -> None:
    assert parse_privs(privs) == expected


def test_unknown_privilege_is_refused_with_pves_text() -> None:
    with pytest.raises(InvalidPrivilegeError) as exc:
        parse_privs("VM.Audit,VM.Frobnicate")
    assert exc.value.message == "invalid privilege 'VM.Frobnicate'"
    assert exc.value.param_error == "invalid format - invalid privilege 'VM.Frobnicate'\n"
    assert exc.value.status == 400


def test_custom_role_in_model_is_validated() -> None:
    with pytest.raises(InvalidPrivilegeError, match=r"^invalid privilege 'Sys\.Root'$"):
        AccessModel.from_dict({"roles": [{"roleid": "Ops", "privs": "Sys.Audit,Sys.Root"}]})


@pytest.mark.parametrize(
    ("roleid", "message"),
    [
        ("PVEMine", "cannot use role ID starting with the (case-insensitive) 'PVE' namespace"),
        ("pveMine", "cannot use role ID starting with the (case-insensitive) 'PVE' namespace"),
        ("bad role", "role name 'bad role' contains invalid characters"),
    ],
)
def test_new_role_ids(roleid: str, message: str) -> None:
    with pytest.raises(AccessError) as exc:
        verify_new_roleid(roleid)
    assert exc.value.message == message
    assert exc.value.status == 400


def test_valid_role_id() -> None:
    assert verify_new_roleid("Municipio-Operador_1.0") == "Municipio-Operador_1.0"
    assert verify_rolename("PVEVMUser") == "PVEVMUser"


def test_builtin_roles_override_a_custom_role_of_the_same_name() -> None:
    model = AccessModel.from_dict({"roles": [{"roleid": "PVEAuditor", "privs": "VM.Allocate"}]})
    assert model.roles["PVEAuditor"] == BUILTIN_ROLES["PVEAuditor"]


# ---------------------------------------------------------------------------- paths and ids


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("/", "/"),
        ("//", "/"),
        ("/vms/100/", "/vms/100"),
        ("vms//100", "/vms/100"),
        ("/pool/abrantes", "/pool/abrantes"),
        ("", None),
        ("/vms/1 00", None),
        ("/vms/100?x", None),
    ],
)
def test_normalize_path(raw: str, norm: str | None) -> None:
    assert normalize_path(raw) == norm


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/vms",
        "/vms/100",
        "/nodes",
        "/nodes/pve-a1",
        "/storage",
        "/storage/local-lvm",
        "/pool",
        "/pool/abrantes",
        "/pool/medio-tejo/abrantes",
        "/pool/a/b/c",
        "/sdn",
        "/sdn/zones",
        "/sdn/zones/mtejo",
        "/sdn/zones/mtejo/abrvnet",
        "/sdn/zones/mtejo/abrvnet/100",
        "/sdn/controllers/evpn-1",
        "/sdn/ipams/pve",
        "/sdn/dns/powerdns",
        "/access",
        "/access/groups",
        "/access/groups/admins",
        "/access/realm",
        "/access/realm/pve",
        "/mapping",
        "/mapping/pci",
        "/mapping/pci/gpu0",
    ],
)
def test_acl_paths_pve_accepts(path: str) -> None:
    assert check_path(path)
    assert verify_acl_path(path + "/") == path


@pytest.mark.parametrize(
    "path",
    [
        "/vms/99",  # vmids start at 100
        "/vms/0100",
        "/users",
        "/pool/a/b/c/d",
        "/sdn/zones/z/v/0",
        "/sdn/zones/z/v/10000",
        "/sdn/vnets/v",
        "/nodes/a/b",
        "/storage/local/images",
        "/mapping/pci/gpu0/x",
    ],
)
def test_acl_paths_pve_refuses(path: str) -> None:
    assert not check_path(path)
    with pytest.raises(AccessError) as exc:
        verify_acl_path(path)
    assert exc.value.message == f"invalid ACL path '{path}'"
    assert (exc.value.status, exc.value.param) == (400, "path")


@pytest.mark.parametrize(
    ("userid", "message"),
    [
        ("ab", "user name 'ab' is too short"),
        ("joe", "value 'joe' does not look like a valid user name"),
        ("joe@1pve", "value 'joe@1pve' does not look like a valid user name"),
        ("jo e@pve", "value 'jo e@pve' does not look like a valid user name"),
        ("x" * 61 + "@pve", "user name '" + "x" * 61 + "@pve' is too long (65 > 64)"),
    ],
)
def test_bad_userids(userid: str, message: str) -> None:
    with pytest.raises(AccessError) as exc:
        verify_username(userid)
    assert exc.value.message == message


def test_tokenids() -> None:
    assert verify_username("joao.silva@cm-abrantes") == (
        "joao.silva@cm-abrantes",
        "joao.silva",
        "cm-abrantes",
    )
    assert split_tokenid("svc@pve!pulumi") == ("svc@pve", "pulumi")
    with pytest.raises(AccessError, match="not a valid token ID"):
        split_tokenid("svc@pve")


@pytest.mark.parametrize(
    ("poolid", "ok"),
    [("abrantes", True), ("mt/abrantes", True), ("a/b/c", True), ("a/b/c/d", False), ("a b", False)],
)
def test_pool_ids(poolid: str, ok: bool) -> None:
    if ok:
        assert verify_poolname(poolid) == poolid
    else:
        with pytest.raises(AccessError):
            verify_poolname(poolid)


# ---------------------------------------------------------------------------- PVE's own regression tests

# src/test/test1.cfg of pve-access-control (users, groups, roles, ACLs)
PVE_TEST1_CFG = """
user:joe@pve:1:
user:max@pve:1:
user:alex@pve:1:
user:sue@pve:1:
user:carol@pam:1:

group:testgroup1:joe@pve,max@pve,sue@pve:
group:testgroup2:alex@pve,carol@pam,sue@pve:
group:testgroup3:max@pve:

role:storage_manager:Datastore.AllocateSpace,Datastore.Audit:
role:customer:VM.Audit,VM.PowerMgmt:
role:vm_admin:VM.Audit,VM.Allocate,Permissions.Modify,VM.Console:

acl:1:/vms:@testgroup1:vm_admin:
acl:1:/vms/100/:alex@pve,max@pve:customer:
acl:1:/storage/nfs1:@testgroup2:storage_manager:
acl:1:/users:max@pve:Administrator:

acl:1:/vms/200:@testgroup3:storage_manager:
acl:1:/vms/200:@testgroup2:NoAccess:
acl:1:/vms/300:alex@pve:PVEVMAdmin:
acl:1:/vms/400:alex@pve:Administrator:
"""

# test8.cfg adds tokens: max@pve!token (no privsep), max@pve!token2 (privsep), carol@pam!token
PVE_TEST8_CFG = (
    PVE_TEST1_CFG.replace(
        "user:max@pve:1:\n", "user:max@pve:1:\ntoken:max@pve!token::0:\ntoken:max@pve!token2::1:\n"
    ).replace("user:carol@pam:1:\n", "user:carol@pam:1:\ntoken:carol@pam!token:\n")
    + """
acl:1:/vms/200:carol@pam!token:vm_admin
acl:1:/vms/200:max@pve!token:storage_manager
acl:1:/vms/200:max@pve!token2:customer
acl:1:/vms/300:max@pve!token2:Administrator
"""
)

# src/test/test6.cfg: pools, nested pools, group ACLs on pools
PVE_TEST6_CFG = """
user:User1@pve:1:
user:User2@pve:1:
user:User3@pve:1:
user:User4@pve:1:
user:intern@pve:1:

group:DEVEL:User1@pve,User2@pve,User3@pve:
group:MARKETING:User1@pve,User4@pve:
group:INTERNS:intern@pve:

role:RoleDEVEL:VM.PowerMgmt:
role:RoleMARKETING:VM.Console:
role:RoleINTERN:VM.Audit:
role:RoleTEST1:VM.Console:

acl:1:/pool/devel:@DEVEL:RoleDEVEL:
acl:1:/pool/marketing:@MARKETING:RoleMARKETING:
acl:1:/pool/marketing/interns:@INTERNS:RoleINTERN:

acl:1:/vms:@DEVEL:RoleTEST1:
acl:1:/vms:User3@pve:NoAccess:
acl:1:/vms/300:@MARKETING:RoleTEST1:

pool:devel:MITS development:500,501,502:store1 store2:
pool:marketing:MITS marketing:600:store1:
pool:marketing/interns:MITS marketing intern:700:store3:
"""

PVEVMADMIN_SORTED = ",".join(sorted(EXPECTED_ROLES["PVEVMAdmin"]))


def _roles(model: AccessModel, authid: str, path: str) -> str:
    return ",".join(sorted(model.roles_on(authid, path)))


def _perms(model: AccessModel, authid: str, path: str) -> str:
    return ",".join(sorted(model.permissions(authid, path, now=NOW)))


@pytest.mark.parametrize(
    ("what", "authid", "path", "expected"),
    [
        ("roles", "max@pve", "/", ""),
        ("roles", "max@pve", "/vms", "vm_admin"),
        # user permissions override group permissions
        ("roles", "max@pve", "/vms/100", "customer"),
        ("roles", "max@pve", "/vms/101", "vm_admin"),
        ("perms", "max@pve", "/", ""),
        ("perms", "max@pve", "/vms", "Permissions.Modify,VM.Allocate,VM.Audit,VM.Console"),
        ("perms", "max@pve", "/vms/100", "VM.Audit,VM.PowerMgmt"),
        ("perms", "alex@pve", "/vms", ""),
        ("perms", "alex@pve", "/vms/100", "VM.Audit,VM.PowerMgmt"),
        # PVEVMAdmin -> no Permissions.Modify; Administrator -> everything
        ("perms", "alex@pve", "/vms/300", PVEVMADMIN_SORTED),
        ("perms", "alex@pve", "/vms/400", ",".join(sorted(PVE8_PRIVILEGES))),
        ("roles", "max@pve", "/vms/200", "storage_manager"),
        ("roles", "joe@pve", "/vms/200", "vm_admin"),
        # NoAccess from one group cancels vm_admin inherited through another
        ("roles", "sue@pve", "/vms/200", "NoAccess"),
        ("perms", "sue@pve", "/vms/200", ""),
    ],
)
def test_pve_perm_test1(what: str, authid: str, path: str, expected: str) -> None:
    model = AccessModel.from_user_cfg(PVE_TEST1_CFG)
    got = _roles(model, authid, path) if what == "roles" else _perms(model, authid, path)
    assert got == expected


@pytest.mark.parametrize(
    ("what", "authid", "path", "expected"),
    [
        ("roles", "carol@pam", "/vms/200", "NoAccess"),
        # a token without privilege separation is its user
        ("roles", "carol@pam!token", "/vms/200", "NoAccess"),
        ("roles", "max@pve!token", "/vms/200", "storage_manager"),
        # a privsep token has its own ACLs...
        ("roles", "max@pve!token2", "/vms/200", "customer"),
        # ...and its permissions are intersected with its user's: token has customer, user only
        # storage_manager there -> nothing in common
        ("perms", "max@pve!token2", "/vms/200", ""),
        # token has Administrator on /vms/300, user has vm_admin inherited from /vms
        ("perms", "max@pve!token2", "/vms/300", "Permissions.Modify,VM.Allocate,VM.Audit,VM.Console"),
        ("perms", "max@pve!token", "/vms/300", "Permissions.Modify,VM.Allocate,VM.Audit,VM.Console"),
    ],
)
def test_pve_perm_test8_tokens(what: str, authid: str, path: str, expected: str) -> None:
    model = AccessModel.from_user_cfg(PVE_TEST8_CFG)
    got = _roles(model, authid, path) if what == "roles" else _perms(model, authid, path)
    assert got == expected


@pytest.mark.parametrize(
    ("what", "authid", "path", "expected"),
    [
        ("roles", "User1@pve", "", ""),
        ("roles", "User4@pve", "", ""),
        ("roles", "User1@pve", "/vms", "RoleTEST1"),
        ("roles", "User3@pve", "/vms", "NoAccess"),
        ("roles", "User4@pve", "/vms", ""),
        ("roles", "User3@pve", "/vms/100", "NoAccess"),
        ("roles", "User4@pve", "/vms/300", "RoleTEST1"),
        ("perms", "User1@pve", "/vms/500", "VM.Console,VM.PowerMgmt"),
        ("perms", "User2@pve", "/vms/500", "VM.Console,VM.PowerMgmt"),
        # NoAccess on the path is not trumped by the pool's roles
        ("roles", "User3@pve", "/vms/500", "NoAccess"),
        ("perms", "User3@pve", "/vms/500", ""),
        ("roles", "User4@pve", "/vms/500", ""),
        ("perms", "User4@pve", "/vms/500", ""),
        # roles on a parent pool reach a guest of a nested pool through propagation
        ("roles", "intern@pve", "/vms/600", ""),
        ("roles", "intern@pve", "/vms/700", ""),
        ("roles", "User4@pve", "/vms/700", ""),
        ("perms", "intern@pve", "/vms/600", ""),
        ("perms", "intern@pve", "/vms/700", "VM.Audit"),
        ("perms", "User4@pve", "/vms/700", "VM.Console"),
        ("roles", "intern@pve", "/pool/marketing/interns", "RoleINTERN"),
        ("roles", "User4@pve", "/pool/marketing/interns", "RoleMARKETING"),
        ("perms", "User1@pve", "/vms/600", "VM.Console"),
        ("perms", "User2@pve", "/vms/600", "VM.Console"),
        ("perms", "User3@pve", "/vms/600", ""),
        ("perms", "User4@pve", "/vms/600", "VM.Console"),
        # storages in pools get the pool's roles (store1 is in two pools)
        ("perms", "User1@pve", "/storage/store1", "VM.Console,VM.PowerMgmt"),
        ("perms", "User2@pve", "/storage/store1", "VM.PowerMgmt"),
        ("perms", "User3@pve", "/storage/store1", "VM.PowerMgmt"),
        ("perms", "User4@pve", "/storage/store1", "VM.Console"),
        ("perms", "User1@pve", "/storage/store2", "VM.PowerMgmt"),
        ("perms", "User4@pve", "/storage/store2", ""),
    ],
)
def test_pve_perm_test6_pools(what: str, authid: str, path: str, expected: str) -> None:
    model = AccessModel.from_user_cfg(PVE_TEST6_CFG)
    got = _roles(model, authid, path) if what == "roles" else _perms(model, authid, path)
    assert got == expected


# ---------------------------------------------------------------------------- the municipalities

MUNICIPALITIES: dict[str, Any] = {
    "users": [
        {"userid": "partilha@pve"},
        {"userid": "ana@cm-abrantes", "groups": "abrantes-ops"},
        {"userid": "rui@cm-abrantes", "groups": ["abrantes-ops"]},
        {"userid": "auditor@pve"},
        {"userid": "gone@pve", "enable": 0},
        {"userid": "temp@pve", "expire": int(NOW) - 1},
        {"userid": "later@pve", "expire": int(NOW) + 3600},
    ],
    "groups": [{"groupid": "abrantes-ops"}, {"groupid": "cim-noc", "members": "auditor@pve,rui@cm-abrantes"}],
    "tokens": [
        # the municipality's automation token: PVEVMAdmin on its pool only
        {"tokenid": "partilha@pve!abrantes", "privsep": 1},
        {"userid": "partilha@pve", "tokenid": "full", "privsep": 0},
        {"tokenid": "partilha@pve!old", "privsep": 1, "expire": int(NOW) - 60},
        {"tokenid": "auditor@pve!everything", "privsep": 1},
        {"tokenid": "root@pam!ci", "privsep": 1},
        {"tokenid": "root@pam!all", "privsep": 0},
        {"tokenid": "gone@pve!tk", "privsep": 0},
    ],
    "roles": [{"roleid": "Operador", "privs": ["VM.Audit", "VM.PowerMgmt", "VM.Console"]}],
    "pools": [
        {"poolid": "abrantes", "vms": [101, 102], "storage": ["abrantes-data"]},
        {"poolid": "tomar", "vms": "201,202", "storage": "tomar-data"},
    ],
    "acl": [
        {"path": "/", "ugid": "partilha@pve", "type": "user", "roleid": "PVEAdmin"},
        {"path": "/pool/abrantes", "ugid": "partilha@pve!abrantes", "type": "token", "roleid": "PVEVMAdmin"},
        {"path": "/", "ugid": "partilha@pve!old", "type": "token", "roleid": "Administrator"},
        # municipality staff: their pool through their group
        {"path": "/pool/abrantes", "ugid": "abrantes-ops", "type": "group", "roleid": "Operador"},
        # ana personally only audits guest 102: user entries replace the group's at that level
        {"path": "/vms/102", "ugid": "ana@cm-abrantes", "type": "user", "roleid": "PVEAuditor"},
        # the NOC group sees everything, but not inside tomar's guest 201
        {"path": "/", "ugid": "cim-noc", "type": "group", "roleid": "PVEAuditor"},
        {"path": "/vms/201", "ugid": "cim-noc", "type": "group", "roleid": "NoAccess"},
        # propagate=0: only /nodes itself
        {"path": "/nodes", "ugid": "auditor@pve", "type": "user", "roleid": "PVESysAdmin", "propagate": 0},
        {"path": "/", "ugid": "auditor@pve!everything", "type": "token", "roleid": "Administrator"},
        {"path": "/vms/101", "ugid": "root@pam!ci", "type": "token", "roleid": "PVEVMUser"},
        {"path": "/", "ugid": "gone@pve", "type": "user", "roleid": "Administrator"},
        {"path": "/", "ugid": "temp@pve", "type": "user", "roleid": "Administrator"},
        {"path": "/", "ugid": "later@pve", "type": "user", "roleid": "PVEAuditor"},
    ],
}


@pytest.fixture(scope="module")
def cim() -> AccessModel:
    return AccessModel.from_dict(MUNICIPALITIES)


@pytest.mark.parametrize(
    ("authid", "path", "privs", "allowed"),
    [
        # a privsep token scoped to abrantes' pool acts on abrantes' guests...
        ("partilha@pve!abrantes", "/vms/101", ["VM.PowerMgmt"], True),
        ("partilha@pve!abrantes", "/vms/102", ["VM.Allocate", "VM.Config.Disk"], True),
        # ...and on nothing of tomar's, nor elsewhere
        ("partilha@pve!abrantes", "/vms/201", ["VM.PowerMgmt"], False),
        ("partilha@pve!abrantes", "/vms/202", ["VM.Audit"], False),
        ("partilha@pve!abrantes", "/vms/999", ["VM.Audit"], False),
        ("partilha@pve!abrantes", "/vms", ["VM.Allocate"], False),
        ("partilha@pve!abrantes", "/pool/abrantes", ["VM.Allocate"], True),
        ("partilha@pve!abrantes", "/pool/tomar", ["VM.Allocate"], False),
        # pool roles do not cover storages unless the storage is in the pool; PVEVMAdmin has no
        # Datastore privileges anyway
        ("partilha@pve!abrantes", "/storage/abrantes-data", ["Datastore.AllocateSpace"], False),
        # the token's user (PVEAdmin on /) can do it all
        ("partilha@pve", "/vms/201", ["VM.PowerMgmt"], True),
        ("partilha@pve", "/", ["Sys.Modify"], False),  # PVEAdmin lacks the root tier
        # a token without privsep is its user
        ("partilha@pve!full", "/vms/201", ["VM.PowerMgmt"], True),
        # group members get the pool's roles on its guests, storage and pool path
        ("rui@cm-abrantes", "/vms/101", ["VM.PowerMgmt", "VM.Console"], True),
        ("rui@cm-abrantes", "/vms/102", ["VM.PowerMgmt"], True),
        ("rui@cm-abrantes", "/vms/201", ["VM.PowerMgmt"], False),
        ("rui@cm-abrantes", "/storage/abrantes-data", ["VM.Console"], True),
        # ana's own entry on /vms/102 replaces nothing of the pool (pool roles are added), but
        # her group's propagated roles are still on the pool path
        ("ana@cm-abrantes", "/vms/102", ["VM.Audit", "VM.PowerMgmt"], True),
        ("ana@cm-abrantes", "/vms/101", ["VM.PowerMgmt"], True),
        ("ana@cm-abrantes", "/", ["Sys.Audit"], False),
    ],
)
def test_municipality_isolation(
    cim: AccessModel, authid: str, path: str, privs: list[str], allowed: bool
) -> None:
    assert cim.check(authid, path, privs, now=NOW) is allowed


@pytest.mark.parametrize(
    ("acl", "authid", "path", "expected"),
    [
        # user entries replace group entries at the same level
        (
            [("/vms", "g", "group", "PVEVMAdmin", True), ("/vms", "u@pve", "user", "PVEAuditor", True)],
            "u@pve",
            "/vms/100",
            EXPECTED_ROLES["PVEAuditor"],
        ),
        # ...but a deeper group entry replaces an inherited user entry
        (
            [("/vms", "u@pve", "user", "PVEAuditor", True), ("/vms/100", "g", "group", "PVEVMUser", True)],
            "u@pve",
            "/vms/100",
            EXPECTED_ROLES["PVEVMUser"],
        ),
        # deeper entries replace inherited ones (they do not add up)
        (
            [
                ("/", "u@pve", "user", "PVEAdmin", True),
                ("/vms/100", "u@pve", "user", "PVETemplateUser", True),
            ],
            "u@pve",
            "/vms/100",
            {"VM.Clone", "VM.Audit"},
        ),
        # several roles of one subject at one path add up
        (
            [
                ("/vms/100", "u@pve", "user", "PVEVMUser", True),
                ("/vms/100", "u@pve", "user", "PVETemplateUser", True),
            ],
            "u@pve",
            "/vms/100",
            EXPECTED_ROLES["PVEVMUser"] | {"VM.Clone"},
        ),
        # several groups at one path add up
        (
            [("/vms", "g", "group", "PVEVMUser", True), ("/vms", "h", "group", "PVETemplateUser", True)],
            "u@pve",
            "/vms/100",
            EXPECTED_ROLES["PVEVMUser"] | {"VM.Clone"},
        ),
        # propagate=0 applies on the path itself...
        ([("/vms", "u@pve", "user", "PVEVMAdmin", False)], "u@pve", "/vms", EXPECTED_ROLES["PVEVMAdmin"]),
        # ...not below it
        ([("/vms", "u@pve", "user", "PVEVMAdmin", False)], "u@pve", "/vms/100", set()),
        # a non-propagating user entry on a parent does not hide the group's propagating one
        (
            [("/vms", "u@pve", "user", "PVEVMAdmin", False), ("/vms", "g", "group", "PVEVMUser", True)],
            "u@pve",
            "/vms/100",
            EXPECTED_ROLES["PVEVMUser"],
        ),
        # NoAccess cancels every other role at its level, and below
        (
            [("/", "u@pve", "user", "Administrator", True), ("/vms/100", "u@pve", "user", "NoAccess", True)],
            "u@pve",
            "/vms/100",
            set(),
        ),
        (
            [
                ("/vms/100", "u@pve", "user", "NoAccess", True),
                ("/vms/100", "u@pve", "user", "PVEVMAdmin", True),
            ],
            "u@pve",
            "/vms/100",
            set(),
        ),
        # a group's NoAccess at the same level as another group's grant wins
        (
            [("/vms", "g", "group", "PVEVMAdmin", True), ("/vms", "h", "group", "NoAccess", True)],
            "u@pve",
            "/vms/100",
            set(),
        ),
        # NoAccess is overridden by a more specific grant
        (
            [("/", "u@pve", "user", "NoAccess", True), ("/vms/100", "u@pve", "user", "PVEVMUser", True)],
            "u@pve",
            "/vms/100",
            EXPECTED_ROLES["PVEVMUser"],
        ),
        # NoAccess on the pool trumps the guest's own ACL
        (
            [
                ("/vms/101", "u@pve", "user", "PVEVMUser", True),
                ("/pool/p", "u@pve", "user", "NoAccess", True),
            ],
            "u@pve",
            "/vms/101",
            set(),
        ),
        # pool roles add to the guest's own roles
        (
            [
                ("/vms/101", "u@pve", "user", "PVETemplateUser", True),
                ("/pool/p", "u@pve", "user", "PVEVMUser", True),
            ],
            "u@pve",
            "/vms/101",
            EXPECTED_ROLES["PVEVMUser"] | {"VM.Clone"},
        ),
        # a pool ACL with propagate=0 still reaches its members (PVE checks /pool/<p> itself)
        (
            [("/pool/p", "u@pve", "user", "PVEVMUser", False)],
            "u@pve",
            "/vms/101",
            EXPECTED_ROLES["PVEVMUser"],
        ),
        # a guest outside the pool gets nothing from it
        ([("/pool/p", "u@pve", "user", "PVEVMUser", True)], "u@pve", "/vms/102", set()),
        # an ACL for a role that does not exist grants nothing
        ([("/", "u@pve", "user", "Ghost", True)], "u@pve", "/", set()),
    ],
)
def test_inheritance_rules(
    acl: list[tuple[str, str, str, str, bool]], authid: str, path: str, expected: set[str]
) -> None:
    model = AccessModel.from_dict(
        {
            "users": [{"userid": "u@pve", "groups": "g,h"}],
            "pools": [{"poolid": "p", "vms": [101]}],
            "acl": [
                {"path": p, "ugid": ug, "type": t, "roleid": r, "propagate": int(prop)}
                for p, ug, t, r, prop in acl
            ],
        }
    )
    assert model.permissions(authid, path, now=NOW) == expected


@pytest.mark.parametrize(
    ("authid", "path", "expected"),
    [
        # token granted Administrator on /, user only PVEAuditor on / -> audit only
        ("auditor@pve!everything", "/vms/100", EXPECTED_ROLES["PVEAuditor"]),
        ("auditor@pve!everything", "/", EXPECTED_ROLES["PVEAuditor"]),
        # the user's propagate=0 PVESysAdmin on /nodes replaces its inherited auditor role there
        ("auditor@pve!everything", "/nodes", {"Sys.Console", "Sys.Syslog", "Sys.Audit"}),
        ("auditor@pve!everything", "/nodes/pve-a1", EXPECTED_ROLES["PVEAuditor"]),
        ("auditor@pve!everything", "/vms/201", set()),  # user's group has NoAccess there
    ],
)
def test_privsep_token_is_intersected_with_its_user(
    cim: AccessModel, authid: str, path: str, expected: set[str]
) -> None:
    assert cim.permissions(authid, path, now=NOW) == expected


def test_group_noaccess_hides_one_guest(cim: AccessModel) -> None:
    assert cim.permissions("auditor@pve", "/vms/201", now=NOW) == frozenset()
    assert cim.permissions("auditor@pve", "/vms/202", now=NOW) == EXPECTED_ROLES["PVEAuditor"]


@pytest.mark.parametrize("path", ["/", "/vms/100", "/nodes/pve-a1", "/access/realm/pam", "/nowhere"])
def test_root_has_every_privilege_everywhere(cim: AccessModel, path: str) -> None:
    assert cim.permissions("root@pam", path, now=NOW) == PVE8_PRIVILEGES
    assert cim.permissions("root@pam!all", path, now=NOW) == PVE8_PRIVILEGES


def test_roots_privsep_token_has_only_its_own_acls(cim: AccessModel) -> None:
    # PVE skips the intersection for root@pam's tokens: the token's own ACLs are all it has
    assert cim.permissions("root@pam!ci", "/vms/101", now=NOW) == EXPECTED_ROLES["PVEVMUser"]
    assert cim.permissions("root@pam!ci", "/vms/102", now=NOW) == frozenset()


@pytest.mark.parametrize(
    ("authid", "message"),
    [
        ("gone@pve", "user 'gone@pve' is disabled"),
        ("gone@pve!tk", "user 'gone@pve' is disabled"),
        ("temp@pve", "user 'temp@pve' access expired"),
        ("partilha@pve!old", "token 'old' access expired"),
        ("partilha@pve!nope", "no such token 'nope' for user 'partilha@pve'"),
        ("nobody@pve", "no such user ('nobody@pve')"),
        ("nobody@pve!xx", "no such user ('nobody@pve')"),
        ("nobody", "value 'nobody' does not look like a valid user name"),
    ],
)
def test_inactive_subjects_have_nothing(cim: AccessModel, authid: str, message: str) -> None:
    assert cim.permissions(authid, "/", now=NOW) == frozenset()
    assert cim.permissions(authid, "/vms/101", now=NOW) == frozenset()
    assert not cim.is_active(authid, now=NOW)
    with pytest.raises(AuthenticationError) as exc:
        cim.authenticate(authid, now=NOW)
    assert (exc.value.message, exc.value.status) == (message, 401)


def test_expiry_is_relative_to_now(cim: AccessModel) -> None:
    assert cim.permissions("later@pve", "/", now=NOW) == EXPECTED_ROLES["PVEAuditor"]
    assert cim.permissions("later@pve", "/", now=NOW + 7200) == frozenset()


# ---------------------------------------------------------------------------- 403s as PVE words them


@pytest.mark.parametrize(
    ("authid", "path", "privs", "any_", "message"),
    [
        (
            "later@pve",
            "/vms/100",
            ["VM.Audit", "VM.Console"],
            False,
            "Permission check failed (/vms/100, VM.Console)",
        ),
        ("nobody@pve", "/vms/100", ["VM.Audit"], False, "Permission check failed (/vms/100, VM.Audit)"),
        (
            "later@pve",
            "/vms/100",
            ["VM.Console", "VM.PowerMgmt"],
            True,
            "Permission check failed (/vms/100, VM.Console|VM.PowerMgmt)",
        ),
        (
            "partilha@pve!abrantes",
            "/vms/201",
            ["VM.PowerMgmt"],
            False,
            "Permission check failed (/vms/201, VM.PowerMgmt)",
        ),
    ],
)
def test_permission_denied_messages(
    cim: AccessModel, authid: str, path: str, privs: list[str], any_: bool, message: str
) -> None:
    with pytest.raises(PermissionDeniedError) as exc:
        cim.require(authid, path, privs, any_, now=NOW)
    assert (exc.value.message, exc.value.status) == (message, 403)
    assert cim.check(authid, path, privs, any_, now=NOW) is False


def test_check_any_passes_with_one(cim: AccessModel) -> None:
    assert cim.check("later@pve", "/vms/100", ["VM.Console", "VM.Audit"], any_=True, now=NOW)


def test_checking_an_unknown_privilege_is_an_error(cim: AccessModel) -> None:
    with pytest.raises(InvalidPrivilegeError, match=r"^invalid privilege 'VM\.Fly'$"):
        cim.check("root@pam", "/", ["VM.Fly"], now=NOW)


def test_check_vm_perm_accepts_the_pool_path(cim: AccessModel) -> None:
    # creating guest 103 into abrantes: the token has VM.Allocate on /pool/abrantes
    cim.check_vm_perm("partilha@pve!abrantes", 103, "abrantes", ["VM.Allocate"], now=NOW)
    with pytest.raises(PermissionDeniedError, match=r"\(/vms/203, VM.Allocate\)"):
        cim.check_vm_perm("partilha@pve!abrantes", 203, "tomar", ["VM.Allocate"], now=NOW)


@pytest.mark.parametrize(
    ("spec", "params", "allowed"),
    [
        (["perm", "/vms/{vmid}", ["VM.PowerMgmt"]], {"vmid": 101}, True),
        (["perm", "/vms/{vmid}", ["VM.PowerMgmt"]], {"vmid": 201}, False),
        (["perm", "/vms/{vmid}", ["VM.Console", "VM.PowerMgmt"], "any", 1], {"vmid": 101}, True),
        (
            [
                "or",
                ["perm", "/", ["Sys.Audit", "Sys.Modify"]],
                ["perm", "/nodes/{node}", ["Sys.AccessNetwork"]],
            ],
            {"node": "pve-a1"},
            False,
        ),
        (
            ["and", ["perm", "/vms/{vmid}", ["VM.Audit"]], ["perm", "/pool/{pool}", ["VM.Allocate"]]],
            {"vmid": 102, "pool": "abrantes"},
            True,
        ),
        (
            ["and", ["perm", "/vms/{vmid}", ["VM.Audit"]], ["perm", "/pool/{pool}", ["VM.Allocate"]]],
            {"vmid": 102, "pool": "tomar"},
            False,
        ),
        (["perm", "/pool/{pool}", ["VM.Allocate"], "require_param", "pool"], {}, False),
        (["perm-modify", "/vms/{vmid}"], {"vmid": 101}, True),  # VM.Allocate substitutes
        (["perm-modify", "/storage/{storage}"], {"storage": "abrantes-data"}, False),
    ],
)
def test_api_permission_specs(
    cim: AccessModel, spec: list[Any], params: dict[str, Any], allowed: bool
) -> None:
    if allowed:
        cim.check_api(spec, "partilha@pve!abrantes", params, now=NOW)
    else:
        with pytest.raises(PermissionDeniedError):
            cim.check_api(spec, "partilha@pve!abrantes", params, now=NOW)


def test_api_permissions_object(cim: AccessModel) -> None:
    cim.check_api_permissions({"user": "all"}, "later@pve", {}, now=NOW)
    cim.check_api_permissions(None, "root@pam", {}, now=NOW)
    with pytest.raises(PermissionDeniedError, match=r"^Permission check failed \(user != root@pam\)$"):
        cim.check_api_permissions(None, "partilha@pve", {}, now=NOW)
    with pytest.raises(PermissionDeniedError, match=r"^Permission check failed$"):
        cim.check_api_permissions(
            {"check": ["or", ["perm", "/", ["Sys.Modify"]]]}, "partilha@pve!abrantes", {}, now=NOW
        )


def test_userid_group_check() -> None:
    model = AccessModel.from_dict(
        {
            "users": [
                {"userid": "admin@pve"},
                {"userid": "ana@pve", "groups": "abrantes"},
                {"userid": "zé@pve"},
            ],
            "groups": [{"groupid": "tomar"}],
            "acl": [
                {
                    "path": "/access/groups/abrantes",
                    "ugid": "admin@pve",
                    "type": "user",
                    "roleid": "PVEUserAdmin",
                }
            ],
        }
    )
    spec: list[Any] = ["userid-group", ["User.Modify"]]
    model.check_api(spec, "admin@pve", {"userid": "ana@pve"}, now=NOW)
    with pytest.raises(PermissionDeniedError):
        model.check_api(spec, "admin@pve", {"userid": "zé@pve"}, now=NOW)
    create: list[Any] = ["userid-group", ["User.Modify"], "groups_param", "create"]
    model.check_api(create, "admin@pve", {"userid": "new@pve", "groups": "abrantes"}, now=NOW)
    with pytest.raises(PermissionDeniedError, match=r"\(/access/groups/tomar, User.Modify\)"):
        model.check_api(create, "admin@pve", {"userid": "new@pve", "groups": "tomar"}, now=NOW)


def test_sdn_bridge_access_through_a_vlan() -> None:
    model = AccessModel.from_dict(
        {
            "users": [{"userid": "u@pve"}],
            "acl": [
                {"path": "/sdn/zones/mt/abr/10", "ugid": "u@pve", "type": "user", "roleid": "PVESDNUser"}
            ],
        }
    )
    model.check_sdn_bridge("u@pve", "mt", "abr", ["SDN.Use"], now=NOW)
    with pytest.raises(PermissionDeniedError, match=r"\(/sdn/zones/mt/tmr, SDN.Use\)"):
        model.check_sdn_bridge("u@pve", "mt", "tmr", ["SDN.Use"], now=NOW)


# ---------------------------------------------------------------------------- summaries and constructors


def test_effective_permissions(cim: AccessModel) -> None:
    eff = cim.effective_permissions("partilha@pve!abrantes", now=NOW)
    # a pool's roles reach its storages too (as VM privileges: PVE maps roles, not categories)
    assert set(eff) == {"/pool/abrantes", "/vms/101", "/vms/102", "/storage/abrantes-data"}
    assert eff["/pool/abrantes"]["VM.PowerMgmt"] == 1
    assert eff["/vms/101"]["VM.PowerMgmt"] == 0  # pool-derived roles never propagate
    assert cim.effective_permissions("gone@pve", now=NOW) == {}


def test_permission_map_propagate_flags(cim: AccessModel) -> None:
    flags = cim.permission_map("auditor@pve", "/nodes", now=NOW)
    assert flags == {"Sys.Console": False, "Sys.Syslog": False, "Sys.Audit": False}


def test_api_capabilities(cim: AccessModel) -> None:
    cap = cim.api_capabilities("partilha@pve!abrantes", now=NOW)
    assert cap["vms"]["VM.Allocate"] == 1  # from /pool/abrantes
    assert cap["nodes"] == {} and cap["dc"] == {} and cap["storage"] == {}
    assert set(cap) == {"vms", "access", "storage", "nodes", "sdn", "dc", "mapping"}


def test_model_from_objects_normalises_acl_paths() -> None:
    model = AccessModel(
        users=[User("u@pve")],
        groups=[Group("g", frozenset({"u@pve"}))],
        tokens=[Token("u@pve!t")],
        acl=[
            AclEntry("/vms/100/", "g", "group", "PVEVMUser"),
            AclEntry("", "u@pve", "user", "Administrator"),
        ],
        pools=[Pool("a", frozenset({100})), Pool("b", frozenset({100, 101}))],
    )
    assert [(e.path, e.ugid) for e in model.acl] == [("/vms/100", "g")]
    assert model.pool_of(100) == "a"  # a guest belongs to one pool: the first one wins
    assert model.pool_of(101) == "b"
    assert "root@pam" in model.users
    assert Token("u@pve!t").privsep is True  # PVE's default for new tokens
