"""/access: tickets, users, groups, roles, ACL and API tokens."""

from __future__ import annotations

from typing import Any

from partilha.lab.access import users
from partilha.lab.access.ids import verify_acl_path, verify_username
from partilha.lab.access.roles import is_builtin_role, parse_privs, verify_new_roleid
from partilha.lab.access.stored import GROUP, ROLE
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError, unauthorized
from partilha.lab.server.lists import split_list
from partilha.lab.server.params import Param
from partilha.lab.server.router import Router

routes = Router()


@routes.route("POST", "/access/ticket", {
    "username": Param(optional=False), "password": Param(optional=False),
    "realm": Param(), "otp": Param(), "path": Param(), "privs": Param(),
    "new-format": Param("boolean")}, authenticated=False)
def ticket(ctx: Ctx, p: dict[str, Any]) -> Any:
    userid = p["username"] if "@" in p["username"] else f"{p['username']}@{p.get('realm', 'pam')}"
    if not (users.password_valid(ctx.store, userid, p["password"])
            and ctx.access.is_active(userid)):
        raise unauthorized("authentication failure")
    ticket_text, csrf = ctx.tickets.issue(userid)
    return {"ticket": ticket_text, "CSRFPreventionToken": csrf, "username": userid,
            "cap": {}}


USERID = Param(optional=False, format="pve-userid")


def _visible_userids(ctx: Ctx) -> list[str]:
    every = list(ctx.store.objects(users.USER))
    if ctx.allowed("/access/groups", ["User.Modify", "Sys.Audit"], any_=True):
        return every
    return [u for u in every if u == ctx.userid]


@routes.route("GET", "/access/users", {"enabled": Param("boolean"), "full": Param("boolean")})
def list_users(ctx: Ctx, p: dict[str, Any]) -> Any:
    entries = ctx.store.objects(users.USER)
    return [{"userid": uid, **{k: v for k, v in entries[uid].items() if k != "password"}}
            for uid in _visible_userids(ctx)
            if "enabled" not in p or bool(entries[uid].get("enable", 1)) == p["enabled"]]


@routes.route("POST", "/access/users", {
    "userid": USERID, "password": Param(), "comment": Param(), "email": Param(),
    "enable": Param("boolean"), "expire": Param("integer", minimum=0), "firstname": Param(),
    "lastname": Param(), "groups": Param(), "keys": Param()})
def create_user(ctx: Ctx, p: dict[str, Any]) -> Any:
    userid = verify_username(p["userid"])[0]
    ctx.require(f"/access/realm/{userid.partition('@')[2]}", ["Realm.AllocateUser"])
    with ctx.store.tx():
        if ctx.store.get_object(users.USER, userid) is not None:
            raise PveError(f"create user failed: user '{userid}' already exists")
        entry: dict[str, Any] = {"enable": int(p.get("enable", True)),
                                 "expire": int(p.get("expire", 0))}
        entry.update({k: p[k] for k in ("comment", "email", "firstname", "lastname") if k in p})
        if "password" in p:
            entry["password"] = users.hash_password(p["password"])
        ctx.store.put_object(users.USER, userid, entry)
        for group in split_list(p.get("groups", "")):
            members = ctx.store.get_object(GROUP, group)
            if members is None:
                raise PveError(f"create user failed: no such group '{group}'")
            ctx.require(f"/access/groups/{group}", ["User.Modify"])
            members["members"] = sorted({*members.get("members", []), userid})
            ctx.store.put_object(GROUP, group, members)
    return None


@routes.route("GET", "/access/groups")
def list_groups(ctx: Ctx, p: dict[str, Any]) -> Any:
    return [{"groupid": gid, "comment": g.get("comment", ""),
             "users": ",".join(g.get("members", []))}
            for gid, g in ctx.store.objects(GROUP).items()
            if ctx.allowed(f"/access/groups/{gid}", ["Sys.Audit", "Group.Allocate"], any_=True)]


@routes.route("POST", "/access/groups", {"groupid": Param(optional=False, format="pve-groupid"),
                                         "comment": Param()})
def create_group(ctx: Ctx, p: dict[str, Any]) -> Any:
    ctx.require("/access/groups", ["Group.Allocate"])
    with ctx.store.tx():
        if ctx.store.get_object(GROUP, p["groupid"]) is not None:
            raise PveError(f"create group failed: group '{p['groupid']}' already exists")
        ctx.store.put_object(GROUP, p["groupid"], {"comment": p.get("comment", ""),
                                                   "members": []})
    return None


@routes.route("GET", "/access/roles")
def list_roles(ctx: Ctx, p: dict[str, Any]) -> Any:
    return [{"roleid": rid, "privs": ",".join(sorted(privs)),
             "special": int(is_builtin_role(rid))}
            for rid, privs in ctx.access.roles.items()]


@routes.route("POST", "/access/roles", {"roleid": Param(optional=False, format="pve-roleid"),
                                        "privs": Param()})
def create_role(ctx: Ctx, p: dict[str, Any]) -> Any:
    ctx.require("/access", ["Sys.Modify"])
    roleid = verify_new_roleid(p["roleid"])
    privs = sorted(parse_privs(p.get("privs", "")))
    with ctx.store.tx():
        if ctx.store.get_object(ROLE, roleid) is not None:
            raise PveError(f"role '{roleid}' already exists")
        ctx.store.put_object(ROLE, roleid, {"privs": privs})
    return None


@routes.route("GET", "/access/acl")
def list_acl(ctx: Ctx, p: dict[str, Any]) -> Any:
    return [{"path": e.path, "ugid": e.ugid, "type": e.type, "roleid": e.roleid,
             "propagate": int(e.propagate)}
            for e in ctx.access.acl
            if ctx.allowed(e.path, ["Sys.Audit", "Permissions.Modify"], any_=True)]


@routes.route("GET", "/access/permissions", {
    "userid": Param(pattern=r"[^\s:/]+@[A-Za-z][A-Za-z0-9\.\-_]+(![A-Za-z][A-Za-z0-9\.\-_]+)?"),
    "path": Param()})
def permissions(ctx: Ctx, p: dict[str, Any]) -> Any:
    """PVE's "Map of path => (Map of privilege => propagate boolean)": the caller's own, or a
    token's it owns; another user's with Sys.Audit on /access."""
    authid = p.get("userid", ctx.authid)
    if authid != ctx.authid and authid.partition("!")[0] != ctx.authid:
        ctx.require("/access", ["Sys.Audit"])
    if "path" not in p:
        return ctx.access.effective_permissions(authid)
    privs = ctx.access.permission_map(authid, p["path"])
    return {p["path"]: {k: int(v) for k, v in sorted(privs.items())}} if privs else {}


@routes.route("PUT", "/access/acl", {
    "path": Param(optional=False), "roles": Param(optional=False), "users": Param(),
    "groups": Param(), "tokens": Param(), "propagate": Param("boolean", default=True),
    "delete": Param("boolean"), "digest": Param()})
def update_acl(ctx: Ctx, p: dict[str, Any]) -> Any:
    path = verify_acl_path(p["path"])
    ctx.access.check_perm_modify(ctx.authid, path)
    roles = split_list(p["roles"])
    for role in roles:
        if role not in ctx.access.roles:
            raise PveError(f"role '{role}' does not exist")
    subjects = ([("user", u) for u in split_list(p.get("users", ""))]
                + [("group", g) for g in split_list(p.get("groups", ""))]
                + [("token", t) for t in split_list(p.get("tokens", ""))])
    with ctx.store.tx() as db:
        for kind, ugid in subjects:
            known = {"user": users.USER, "group": GROUP, "token": users.TOKEN}[kind]
            if not p.get("delete") and ctx.store.get_object(known, ugid) is None:
                raise PveError(f"{kind} '{ugid}' does not exist")
            for role in roles:
                if p.get("delete"):
                    db.execute("DELETE FROM acl WHERE path = ? AND ugid = ? AND type = ? "
                               "AND roleid = ?", (path, ugid, kind, role))
                else:
                    db.execute("INSERT OR REPLACE INTO acl VALUES (?, ?, ?, ?, ?)",
                               (path, ugid, kind, role, int(p["propagate"])))
    return None


def _token_owner(ctx: Ctx, userid: str) -> None:
    """Users manage their own tokens; others need User.Modify on one of the user's groups. The
    check comes first, the user's existence after it (as in PVE)."""
    ctx.access.check_api_permissions({"check": users.TOKEN_OWNER}, ctx.authid, {"userid": userid})
    if ctx.store.get_object(users.USER, userid) is None:
        raise PveError(f"no such user ('{userid}')")


@routes.route("GET", "/access/users/{userid}/token", {"userid": USERID})
def list_tokens(ctx: Ctx, p: dict[str, Any]) -> Any:
    _token_owner(ctx, p["userid"])
    prefix = f"{p['userid']}!"
    return [{"tokenid": tid.removeprefix(prefix), "privsep": t["privsep"],
             "expire": t["expire"], "comment": t.get("comment", "")}
            for tid, t in ctx.store.objects(users.TOKEN).items() if tid.startswith(prefix)]


@routes.route("POST", "/access/users/{userid}/token/{tokenid}", {
    "userid": USERID, "tokenid": Param(optional=False, format="pve-tokenid"),
    "privsep": Param("boolean", default=True), "expire": Param("integer", minimum=0),
    "comment": Param()})
def create_token(ctx: Ctx, p: dict[str, Any]) -> Any:
    _token_owner(ctx, p["userid"])
    full = f"{p['userid']}!{p['tokenid']}"
    with ctx.store.tx():
        if ctx.store.get_object(users.TOKEN, full) is not None:
            raise PveError("Token already exists.")
        secret = users.create_token(ctx.store, p["userid"], p["tokenid"], p["privsep"],
                                    p.get("comment", ""), int(p.get("expire", 0)))
    return {"full-tokenid": full, "value": secret,
            "info": {"privsep": int(p["privsep"]), "expire": int(p.get("expire", 0)),
                     "comment": p.get("comment", "")}}


@routes.route("DELETE", "/access/users/{userid}/token/{tokenid}", {
    "userid": USERID, "tokenid": Param(optional=False, format="pve-tokenid")})
def delete_token(ctx: Ctx, p: dict[str, Any]) -> Any:
    _token_owner(ctx, p["userid"])
    full = f"{p['userid']}!{p['tokenid']}"
    with ctx.store.tx() as db:
        if not ctx.store.delete_object(users.TOKEN, full):
            raise PveError(f"no such token '{p['tokenid']}' for user '{p['userid']}'")
        db.execute("DELETE FROM acl WHERE type = 'token' AND ugid = ?", (full,))
    return None
