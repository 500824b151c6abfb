"""PVE's access-control model: users, groups, API tokens, roles, pools and ACLs, and the effective
permissions PVE computes from them. Pure data and functions: no I/O, no clock unless asked.

The algorithm is a port of pve-access-control (PVE 8.4):

- ``PVE::AccessControl::roles`` walks the ACL tree from ``/`` down to the path. At every level,
  entries count only if they propagate or the level is the checked path itself. At one level, the
  entries of the token (for a token) replace everything inherited; otherwise the user's own
  entries replace everything inherited; otherwise the union of the entries of the user's groups
  does. A level with nothing applicable keeps the inherited roles. ``NoAccess`` among the final
  roles cancels all others.
- ``PVE::RPCEnvironment::permissions``/``compile_acl_path``: a guest (``/vms/<vmid>``) or storage
  (``/storage/<id>``) that is a member of a pool also gets the roles the subject holds on
  ``/pool/<pool>`` (never propagating, never overriding ``NoAccess`` on the path itself; a
  ``NoAccess`` on the pool does override the path's roles). Roles become privileges. A token with
  privilege separation gets only the privileges both it and its user hold; a token without it
  gets its user's. ``root@pam`` holds every privilege everywhere (and its privsep tokens hold
  exactly what their own ACLs grant, since PVE skips the intersection for root).
- ``check``/``check_any``/``exec_api2_perm_check``: the 403 texts are ``raise_perm_exc``'s.

On top of PVE's permission calculation (which trusts that authentication already refused them),
unknown, disabled and expired users, and unknown and expired tokens, hold no privileges here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, cast

from partilha.lab.access.errors import AccessError, AuthenticationError, PermissionDeniedError
from partilha.lab.access.ids import (
    is_tokenid,
    is_userid,
    normalize_path,
    split_tokenid,
    verify_tokenid,
    verify_username,
)
from partilha.lab.access.roles import BUILTIN_ROLES, is_builtin_role, verify_privname
from partilha.lab.server.lists import split_list

ROOT: Final = "root@pam"

AclType = Literal["user", "group", "token"]
ACL_TYPES: Final[tuple[AclType, ...]] = ("user", "group", "token")


def _flag(value: Any, default: bool) -> bool:
    """PVE's booleans arrive as 1/0, "1"/"0", true/false or missing."""
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off")
    return bool(value)


def _int(value: Any) -> int:
    if value is None or value == "":
        return 0
    return int(value)


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return split_list(value)
    return [str(v) for v in value]


@dataclass(frozen=True)
class User:
    userid: str
    enable: bool = True
    expire: int = 0  # epoch seconds, 0 = never

    def active(self, now: float) -> bool:
        return self.enable and not (self.expire and self.expire < now)


@dataclass(frozen=True)
class Token:
    tokenid: str  # full id: user@realm!name
    privsep: bool = True  # PVE's default for new tokens
    expire: int = 0

    @property
    def userid(self) -> str:
        return split_tokenid(self.tokenid)[0]

    @property
    def name(self) -> str:
        return split_tokenid(self.tokenid)[1]


@dataclass(frozen=True)
class Group:
    groupid: str
    members: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Role:
    roleid: str
    privs: frozenset[str] = frozenset()

    @property
    def special(self) -> bool:
        return is_builtin_role(self.roleid)


@dataclass(frozen=True)
class AclEntry:
    path: str
    ugid: str  # userid, groupid (without '@') or full tokenid
    type: AclType
    roleid: str
    propagate: bool = True


@dataclass(frozen=True)
class Pool:
    poolid: str
    vms: frozenset[int] = frozenset()
    storage: frozenset[str] = frozenset()


@dataclass
class _AclNode:
    entries: dict[AclType, dict[str, dict[str, bool]]] = field(
        default_factory=lambda: {"user": {}, "group": {}, "token": {}}
    )


def _walk(path: str) -> Iterator[tuple[str, bool]]:
    """``/vms/100`` -> ``("/", False), ("/vms", False), ("/vms/100", True)``."""
    if path == "/":
        yield "/", True
        return
    parts = path.split("/")[1:]
    yield "/", False
    for i in range(1, len(parts) + 1):
        yield "/" + "/".join(parts[:i]), i == len(parts)


def _applicable(ri: Mapping[str, bool] | None, final: bool) -> dict[str, bool]:
    if not ri:
        return {}
    return {role: prop for role, prop in ri.items() if final or prop}


def _template_replace(tmpl: str, params: Mapping[str, Any]) -> str:
    """``PVE::Tools::template_replace``: ``{name}`` -> the parameter, ``-`` when missing/false."""

    def sub(m: re.Match[str]) -> str:
        value = params.get(m.group(1))
        return str(value) if value else "-"

    return re.sub(r"\{([^}]+)\}", sub, tmpl)


class AccessModel:
    """One consistent snapshot of PVE's user.cfg: build it, then ask it questions."""

    def __init__(
        self,
        *,
        users: Iterable[User] = (),
        groups: Iterable[Group] = (),
        tokens: Iterable[Token] = (),
        roles: Iterable[Role] = (),
        acl: Iterable[AclEntry] = (),
        pools: Iterable[Pool] = (),
    ) -> None:
        self.users: dict[str, User] = {u.userid: u for u in users}
        # userconfig_force_defaults: root@pam always exists
        self.users.setdefault(ROOT, User(ROOT))
        self.groups: dict[str, Group] = {g.groupid: g for g in groups}
        self.tokens: dict[str, Token] = {t.tokenid: t for t in tokens}
        self.roles: dict[str, frozenset[str]] = {r.roleid: r.privs for r in roles}
        # built-in roles always win over a custom definition of the same name
        self.roles.update(BUILTIN_ROLES)
        self.pools: dict[str, Pool] = {}
        self._vm_pool: dict[int, str] = {}
        for pool in pools:
            vms = frozenset(v for v in pool.vms if v not in self._vm_pool)  # a guest has one pool
            self.pools[pool.poolid] = Pool(pool.poolid, vms, pool.storage)
            self._vm_pool.update((v, pool.poolid) for v in vms)
        self._acl: dict[str, _AclNode] = {}
        self.acl: list[AclEntry] = []
        for entry in acl:
            path = normalize_path(entry.path)
            if path is None or entry.type not in ACL_TYPES:
                continue  # parse_user_config ignores these
            node = self._acl.setdefault(path, _AclNode())
            node.entries[entry.type].setdefault(entry.ugid, {})[entry.roleid] = entry.propagate
        for path in sorted(self._acl):
            for typ in ACL_TYPES:
                for ugid, ri in sorted(self._acl[path].entries[typ].items()):
                    for roleid, prop in sorted(ri.items()):
                        self.acl.append(AclEntry(path, ugid, typ, roleid, prop))

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_dict(cls, data: Mapping[str, Iterable[Mapping[str, Any]]]) -> AccessModel:
        """Build from plain rows, named the way PVE's API names them:

        - ``users``: ``userid``, ``enable`` (1), ``expire`` (0), optional ``groups`` (list or
          comma list: adds the user to those groups);
        - ``groups``: ``groupid``, ``members`` (or ``users``): list or comma list of userids;
        - ``tokens``: ``tokenid`` (full ``user@realm!name``, or the name plus ``userid``),
          ``privsep`` (1), ``expire`` (0);
        - ``roles``: ``roleid``, ``privs`` (list or comma list; validated);
        - ``acl``: ``path``, ``ugid``, ``type`` (user|group|token), ``roleid``, ``propagate`` (1);
        - ``pools``: ``poolid``, ``vms`` (list of vmids), ``storage`` (list of storage ids).
        """
        members: dict[str, set[str]] = {}
        groups_seen: list[str] = []

        def group(gid: str) -> set[str]:
            if gid not in members:
                members[gid] = set()
                groups_seen.append(gid)
            return members[gid]

        users: list[User] = []
        for row in data.get("users", ()):
            uid = str(row["userid"])
            users.append(User(uid, _flag(row.get("enable"), True), _int(row.get("expire"))))
            for gid in _names(row.get("groups")):
                group(gid).add(uid)
        for row in data.get("groups", ()):
            group(str(row["groupid"])).update(_names(row.get("members", row.get("users"))))
        tokens: list[Token] = []
        for row in data.get("tokens", ()):
            tid = str(row["tokenid"])
            if "!" not in tid:
                tid = f"{row['userid']}!{tid}"
            verify_tokenid(tid)
            tokens.append(Token(tid, _flag(row.get("privsep"), True), _int(row.get("expire"))))
        roles = [
            Role(str(row["roleid"]), frozenset(verify_privname(p) for p in _names(row.get("privs"))))
            for row in data.get("roles", ())
        ]
        acl = [
            AclEntry(
                str(row["path"]),
                str(row["ugid"]),
                cast(AclType, str(row.get("type", "user"))),
                str(row["roleid"]),
                _flag(row.get("propagate"), True),
            )
            for row in data.get("acl", ())
        ]
        pools = [
            Pool(
                str(row["poolid"]),
                frozenset(int(v) for v in _names(row.get("vms", row.get("members")))),
                frozenset(_names(row.get("storage"))),
            )
            for row in data.get("pools", ())
        ]
        return cls(
            users=users,
            groups=[Group(g, frozenset(members[g])) for g in groups_seen],
            tokens=tokens,
            roles=roles,
            acl=acl,
            pools=pools,
        )

    @classmethod
    def from_user_cfg(cls, text: str) -> AccessModel:
        """Parse PVE's ``/etc/pve/user.cfg`` (``parse_user_config``), skipping what PVE skips."""
        users: dict[str, User] = {}
        members: dict[str, set[str]] = {}
        roles: dict[str, set[str]] = {}
        tokens: list[Token] = []
        acl: list[AclEntry] = []
        pools: list[Pool] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line:
                continue
            f = [d.strip() for d in line.split(":")]
            f += [""] * 8
            kind = f[0]
            if kind == "user" and is_userid(f[1]):
                expire = f[3] or "0"
                if expire.isdigit():
                    users[f[1]] = User(f[1], _flag(f[2], False), int(expire))
            elif kind == "group":
                members.setdefault(f[1], set()).update(u for u in split_list(f[2]) if is_userid(u))
            elif kind == "role":
                roles.setdefault(f[1], set()).update(
                    p for p in split_list(f[2]) if p in BUILTIN_ROLES["Administrator"]
                )
            elif kind == "token" and is_tokenid(f[1]):
                expire = f[2] or "0"
                if expire.isdigit() and split_tokenid(f[1])[0] in users:
                    tokens.append(Token(f[1], _flag(f[3], False), int(expire)))
            elif kind == "acl":
                propagate = _flag(f[1], False)
                for roleid in split_list(f[4]):
                    for ug in split_list(f[3]):
                        if ug.startswith("@"):
                            acl.append(AclEntry(f[2], ug[1:], "group", roleid, propagate))
                        elif is_userid(ug):
                            acl.append(AclEntry(f[2], ug, "user", roleid, propagate))
                        elif is_tokenid(ug):
                            acl.append(AclEntry(f[2], ug, "token", roleid, propagate))
            elif kind == "pool":
                vms = frozenset(int(v) for v in split_list(f[3]) if v.isdigit())
                pools.append(Pool(f[1], vms, frozenset(split_list(f[4]))))
        known_roles = set(roles) | set(BUILTIN_ROLES)
        known_tokens = {t.tokenid for t in tokens}
        acl = [e for e in acl if e.roleid in known_roles and (e.type != "token" or e.ugid in known_tokens)]
        return cls(
            users=users.values(),
            groups=[Group(g, frozenset(m)) for g, m in members.items()],
            tokens=tokens,
            roles=[Role(r, frozenset(p)) for r, p in roles.items()],
            acl=acl,
            pools=pools,
        )

    # ------------------------------------------------------------------ authentication state

    def pool_of(self, vmid: int) -> str | None:
        return self._vm_pool.get(vmid)

    def authenticate(self, authid: str, now: float | None = None) -> None:
        """Refuse (401) a user or token that may not log in, with PVE's texts
        (``check_user_enabled``, ``check_token_exist``, ``verify_token``)."""
        now = time.time() if now is None else now
        if is_tokenid(authid):
            userid, name = split_tokenid(authid)
            self._check_user_enabled(userid, now)
            token = self.tokens.get(authid)
            if token is None:
                raise AuthenticationError(f"no such token '{name}' for user '{userid}'")
            if token.expire and token.expire < now:
                raise AuthenticationError(f"token '{name}' access expired")
            return
        self._check_user_enabled(authid, now)

    def _check_user_enabled(self, userid: str, now: float) -> None:
        try:
            verify_username(userid)
        except AccessError as exc:
            raise AuthenticationError(exc.message) from None
        user = self.users.get(userid)
        if user is None:
            raise AuthenticationError(f"no such user ('{userid}')")
        if not user.enable:
            raise AuthenticationError(f"user '{userid}' is disabled")
        if user.expire and user.expire < now:
            raise AuthenticationError(f"user '{userid}' access expired")

    def is_active(self, authid: str, now: float | None = None) -> bool:
        try:
            self.authenticate(authid, now)
        except AuthenticationError:
            return False
        return True

    # ------------------------------------------------------------------ PVE's algorithm

    def _is_member(self, groupid: str, userid: str) -> bool:
        group = self.groups.get(groupid)
        return group is not None and userid in group.members

    def roles_on(self, authid: str, path: str) -> dict[str, bool]:
        """``PVE::AccessControl::roles``: role -> propagate flag on ``path``, pools not considered.

        For a privsep token these are the token's own roles, not yet limited by its user's.
        """
        if authid == ROOT:
            return {"Administrator": True}
        norm = normalize_path(path)
        if norm is None:
            return {}
        if is_tokenid(authid):
            token = self.tokens.get(authid)
            if token is None:
                return {}
            if not token.privsep:
                return self.roles_on(token.userid, norm)
        result: dict[str, bool] = {}
        for prefix, final in _walk(norm):
            node = self._acl.get(prefix)
            if node is None:
                continue
            new = _applicable(node.entries["token"].get(authid), final)
            if new:
                result = new  # overwrite previous settings
                continue
            new = _applicable(node.entries["user"].get(authid), final)
            if new:
                result = new  # user privs always override group privs
                continue
            new = {}
            for groupid, ri in node.entries["group"].items():
                if self._is_member(groupid, authid):
                    for role, prop in _applicable(ri, final).items():
                        new[role] = new.get(role, False) or prop
            if new:
                result = new
        if "NoAccess" in result:
            return {"NoAccess": result["NoAccess"]}
        return result

    def _pool_roles(self, authid: str, path: str) -> set[str]:
        """Roles ``authid`` holds on the pools ``path`` (a guest or a storage) belongs to."""
        found: set[str] = set()
        m = re.fullmatch(r"/(vms|storage)/([^/]+)", path)
        if m is None:
            return found
        kind, ident = m.groups()
        for pool in self.pools.values():
            member = ident.isdigit() and int(ident) in pool.vms if kind == "vms" else ident in pool.storage
            if member:
                found.update(self.roles_on(authid, f"/pool/{pool.poolid}"))
        return found

    def _compile(self, authid: str, path: str) -> dict[str, bool]:
        roles = self.roles_on(authid, path)
        pool_roles = self._pool_roles(authid, path)
        # NoAccess on the path must not be trumped by pool ACLs, NoAccess on the pool trumps
        # the path's ACLs, pool roles never propagate and never replace the path's own flag.
        if pool_roles and "NoAccess" not in roles:
            if "NoAccess" in pool_roles:
                roles = {"NoAccess": False}
            else:
                for role in pool_roles:
                    roles.setdefault(role, False)
        privs: dict[str, bool] = {}
        for role, prop in roles.items():
            for priv in self.roles.get(role, frozenset()):
                privs[priv] = privs.get(priv, False) or prop
        return privs

    def permission_map(self, authid: str, path: str, now: float | None = None) -> dict[str, bool]:
        """``$rpcenv->permissions``: privilege -> propagate flag, as ``GET /access/permissions``
        reports them. Empty for an inactive user or token."""
        if not self.is_active(authid, now):
            return {}
        return self._permission_map(authid, path)

    def _permission_map(self, authid: str, path: str) -> dict[str, bool]:
        if authid == ROOT:
            return dict.fromkeys(self.roles["Administrator"], True)
        norm = normalize_path(path)
        if norm is None:
            return {}
        if is_tokenid(authid):
            token = self.tokens.get(authid)
            if token is None:
                return {}
            user_privs = self._permission_map(token.userid, norm)
            if not token.privsep:
                return user_privs
            privs = self._compile(authid, norm)
            if token.userid != ROOT:  # PVE does not intersect root@pam's tokens
                privs = {p: user_privs[p] and v for p, v in privs.items() if p in user_privs}
            return privs
        if not is_userid(authid):
            return {}
        return self._compile(authid, norm)

    def permissions(self, authid: str, path: str, now: float | None = None) -> frozenset[str]:
        """The privileges ``authid`` (a userid or tokenid) holds on ``path``."""
        return frozenset(self.permission_map(authid, path, now))

    # ------------------------------------------------------------------ checks

    def check(
        self,
        authid: str,
        path: str,
        privs: Sequence[str],
        any_: bool = False,
        now: float | None = None,
    ) -> bool:
        """``check_full`` without raising: all of ``privs`` (or any, with ``any_``) on ``path``.

        Unknown privilege names raise :class:`InvalidPrivilegeError`, as in PVE.
        """
        try:
            self.require(authid, path, privs, any_, now)
        except PermissionDeniedError:
            return False
        return True

    def require(
        self,
        authid: str,
        path: str,
        privs: Sequence[str],
        any_: bool = False,
        now: float | None = None,
    ) -> None:
        """``check``/``check_any``: raise :class:`PermissionDeniedError` with PVE's message.

        ``check`` names the first missing privilege (``(/vms/100, VM.Audit)``); ``check_any``
        names them all joined by ``|`` (``(/vms/100, VM.Console|VM.Audit)``).
        """
        have = self.permission_map(authid, path, now)
        if any_:
            for priv in privs:
                verify_privname(priv)
                if priv in have:
                    return
            raise PermissionDeniedError(f"{path}, " + "|".join(privs))
        for priv in privs:
            verify_privname(priv)
            if priv not in have:
                raise PermissionDeniedError(f"{path}, {priv}")

    def check_vm_perm(
        self,
        authid: str,
        vmid: int,
        pool: str | None,
        privs: Sequence[str],
        any_: bool = False,
        now: float | None = None,
    ) -> None:
        """``check_vm_perm``: privileges on ``/pool/<pool>`` (when creating into a pool) or else
        on ``/vms/<vmid>``; raises the ``/vms/<vmid>`` error."""
        if pool and self.check(authid, f"/pool/{pool}", privs, any_, now):
            return
        self.require(authid, f"/vms/{vmid}", privs, any_, now)

    def check_perm_modify(self, authid: str, path: str | None, now: float | None = None) -> None:
        """``check_perm_modify`` (the ``perm-modify`` check of ``PUT /access/acl``)."""
        if not path:
            self.require(authid, "/access", ["Permissions.Modify"], now=now)
            return
        test = ["Permissions.Modify"]
        if re.match(r"/storage/.+$", path):
            test.append("Datastore.Allocate")
        elif re.match(r"/vms/.+$", path):
            test.append("VM.Allocate")
        elif re.match(r"/pool/.+$", path):
            test.append("Pool.Allocate")
        self.require(authid, path, test, any_=True, now=now)

    def check_sdn_bridge(
        self,
        authid: str,
        zone: str,
        bridge: str,
        privs: Sequence[str],
        now: float | None = None,
    ) -> None:
        """``check_sdn_bridge``: any of ``privs`` on the VNet, or on any of its VLANs with an ACL."""
        path = f"/sdn/zones/{zone}/{bridge}"
        if self.check(authid, path, privs, True, now):
            return
        vlans = {p[len(path) + 1 :].split("/")[0] for p in self._acl if p.startswith(path + "/")}
        for vlan in sorted(vlans):
            if self.check(authid, f"{path}/{vlan}", privs, True, now):
                return
        self.require(authid, path, privs, True, now)

    def check_api(
        self,
        spec: Sequence[Any],
        authid: str,
        params: Mapping[str, Any],
        now: float | None = None,
    ) -> None:
        """``exec_api2_perm_check``: evaluate a ``permissions.check`` spec from PVE's API schema,
        e.g. ``["perm", "/vms/{vmid}", ["VM.PowerMgmt"]]`` or ``["or", [...], [...]]``."""
        self._exec_check(spec, authid, params, now, noerr=False)

    def check_api_permissions(
        self,
        perm: Mapping[str, Any] | None,
        authid: str | None,
        params: Mapping[str, Any],
        now: float | None = None,
    ) -> None:
        """``check_api2_permissions``: a method's whole ``permissions`` object."""
        if not authid and perm and perm.get("user") == "world":
            return
        if not authid:
            raise PermissionDeniedError("user != null")
        if authid == ROOT:
            return
        if not perm:
            raise PermissionDeniedError("user != root@pam")
        if perm.get("user") == "all":
            return
        if perm.get("check"):
            self.check_api(perm["check"], authid, params, now)
            return
        raise PermissionDeniedError()

    def _exec_check(
        self,
        check: Sequence[Any],
        authid: str,
        params: Mapping[str, Any],
        now: float | None,
        noerr: bool,
    ) -> bool:
        test = check[0] if check else None
        if test == "and":
            for sub in check[1:]:
                self._exec_check(sub, authid, params, now, noerr=False)
            return True
        if test == "or":
            for sub in check[1:]:
                if self._exec_check(sub, authid, params, now, noerr=True):
                    return True
            if noerr:
                return False
            raise PermissionDeniedError()
        if test == "perm":
            tmpl, privs = check[1], list(check[2])
            options = dict(zip(check[3::2], check[4::2], strict=False))
            required = options.get("require_param")
            if required and params.get(required) is None:
                if noerr:
                    return False
                raise PermissionDeniedError()
            path = normalize_path(_template_replace(str(tmpl), params)) or ""
            return self._check_full(authid, path, privs, bool(options.get("any")), now, noerr)
        if test == "perm-modify":
            mpath = normalize_path(_template_replace(str(check[1]), params))
            if mpath is None:
                return False
            return self._soft(lambda: self.check_perm_modify(authid, mpath, now), noerr)
        if test == "userid-param":
            userid, _, realm = verify_username(str(params.get("userid", "")))
            if check[1] == "self":
                if userid not in self.users:
                    if noerr:
                        return False
                    raise AccessError(f"no such user ('{userid}')")
                if authid == userid:
                    return True
                if noerr:
                    return False
                raise PermissionDeniedError()
            if check[1] == "Realm.AllocateUser":
                path = f"/access/realm/{realm}"
                return self._check_full(authid, path, ["Realm.AllocateUser"], False, now, noerr)
            raise AccessError("unknown userid-param test")
        if test == "userid-group":
            return self._userid_group(check, authid, params, now, noerr)
        raise AccessError("unknown permission test")

    def _userid_group(
        self,
        check: Sequence[Any],
        authid: str,
        params: Mapping[str, Any],
        now: float | None,
        noerr: bool,
    ) -> bool:
        privs = list(check[1])
        options = dict(zip(check[2::2], check[3::2], strict=False))
        userid = str(params.get("userid", ""))
        check_existing = options.get("groups_param") != "create"
        if check_existing:
            verify_username(userid)
            if userid not in self.users:
                if noerr:
                    return False
                raise AccessError(f"no such user ('{userid}')")
        if self.check(authid, "/access/groups", privs, True, now):
            return True
        allowed = {g for g in self.groups if self.check(authid, f"/access/groups/{g}", privs, True, now)}
        joined = "|".join(privs)
        if options.get("groups_param"):
            wanted = _names(params.get("groups"))
            if not wanted:
                raise PermissionDeniedError(f"/access/groups, {joined}")
            for g in wanted:
                if g not in allowed:
                    raise PermissionDeniedError(f"/access/groups/{g}, {joined}")
        if check_existing and not any(userid in self.groups[g].members for g in allowed):
            if noerr:
                return False
            raise PermissionDeniedError()
        return True

    def _check_full(
        self,
        authid: str,
        path: str,
        privs: Sequence[str],
        any_: bool,
        now: float | None,
        noerr: bool,
    ) -> bool:
        return self._soft(lambda: self.require(authid, path, privs, any_, now), noerr)

    @staticmethod
    def _soft(fn: Callable[[], None], noerr: bool) -> bool:
        try:
            fn()
        except PermissionDeniedError:
            if noerr:
                return False
            raise
        return True

    # ------------------------------------------------------------------ summaries

    def effective_permissions(self, authid: str, now: float | None = None) -> dict[str, dict[str, int]]:
        """``get_effective_permissions`` (``GET /access/permissions`` without ``path``): every
        top-level path, every path with an ACL and every pool member, where ``authid`` holds
        anything, with PVE's 0/1 propagate flags."""
        paths = {"/", "/access", "/access/groups", "/nodes", "/pool", "/sdn", "/storage", "/vms"}
        paths.update(self._acl_paths())
        for pool in self.pools.values():
            paths.update(f"/vms/{v}" for v in pool.vms)
            paths.update(f"/storage/{s}" for s in pool.storage)
        result: dict[str, dict[str, int]] = {}
        for path in sorted(paths):
            privs = self.permission_map(authid, path, now)
            if privs:
                result[path] = {p: int(v) for p, v in sorted(privs.items())}
        return result

    def api_capabilities(self, authid: str, now: float | None = None) -> dict[str, dict[str, int]]:
        """``compute_api_permission``: the ``cap`` object of the ``/access/ticket`` answer."""
        priv_re = {
            "vms": r"VM\.|Permissions\.Modify",
            "access": r"(User|Group)\.|Permissions\.Modify",
            "storage": r"Datastore\.|Permissions\.Modify",
            "nodes": r"Sys\.|Permissions\.Modify",
            "sdn": r"SDN\.|Permissions\.Modify",
            "dc": r"Sys\.Audit|Sys\.Modify|SDN\.",
            "mapping": r"Mapping\.|Permissions.Modify",
        }
        res: dict[str, dict[str, int]] = {k: {} for k in priv_re}
        required = ["/", "/nodes", "/access/groups", "/vms", "/storage", "/sdn", "/mapping"]
        seen: set[str] = set()
        for path in [*required, *self._acl_paths()]:
            if path in seen:
                continue
            seen.add(path)
            perm = self.permission_map(authid, path, now)
            m = re.match(r"/(\w+)", path)
            top = m.group(1) if m else "dc"
            if top == "pool":
                for priv in perm:
                    if priv.startswith("VM."):
                        res["vms"][priv] = 1
                    elif priv.startswith("Datastore."):
                        res["storage"][priv] = 1
                    elif priv == "Permissions.Modify":
                        res["storage"][priv] = 1
                        res["vms"][priv] = 1
            elif top in priv_re:
                for priv in perm:
                    if re.match(f"({priv_re[top]})", priv):
                        res[top][priv] = 1
        return res

    def _acl_paths(self) -> list[str]:
        """Paths of the ACL tree: the ones with entries and their ancestors (PVE's tree nodes)."""
        paths: set[str] = {"/"}
        for path in self._acl:
            for prefix, _ in _walk(path):
                paths.add(prefix)
        return sorted(paths)
