"""/access: one role, user or API token read, changed or deleted (PVE::API2::Role and User).

Permissions are PVE's own `permissions.check` specs, evaluated by the access model. As in PVE,
deleting a user takes its tokens, group memberships and ACL entries with it, and a token's
comment is only changed to a non-empty one (`update_token_info` sets it `if $param->{comment}`).
"""

from __future__ import annotations

from typing import Any

from partilha.lab.access import users
from partilha.lab.access.errors import perm_failed_message
from partilha.lab.access.model import ROOT
from partilha.lab.access.roles import is_builtin_role, parse_privs
from partilha.lab.access.stored import GROUP, ROLE
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError, param_error, unauthorized
from partilha.lab.server.params import BOOL, Param
from partilha.lab.server.router import Router

routes = Router()
ROLEID = Param(optional=False, format="pve-roleid")
USERID = Param(optional=False, format="pve-userid")
TOKENID = Param(optional=False, format="pve-tokenid")
SYS_MODIFY = ["perm", "/access", ["Sys.Modify"]]
USER_PROPS = {"enable": BOOL, "expire": Param("integer", minimum=0), "comment": Param(),
              "email": Param(), "firstname": Param(), "lastname": Param()}
TOKEN_PROPS = {"privsep": BOOL, "expire": Param("integer", minimum=0), "comment": Param()}


def _check(ctx: Ctx, spec: list[Any], p: dict[str, Any]) -> None:
    """The route's `permissions.check` (root@pam skips it, as in PVE)."""
    ctx.access.check_api_permissions({"check": spec}, ctx.authid, p)


@routes.route("GET", "/access/roles/{roleid}", {"roleid": ROLEID})
def read_role(ctx: Ctx, p: dict[str, Any]) -> Any:
    privs = ctx.access.roles.get(p["roleid"])
    if privs is None:
        raise PveError(f"role '{p['roleid']}' does not exist")
    return dict.fromkeys(sorted(privs), 1)


@routes.route("PUT", "/access/roles/{roleid}", {"roleid": ROLEID, "privs": Param(), "append": BOOL})
def update_role(ctx: Ctx, p: dict[str, Any]) -> Any:
    _check(ctx, SYS_MODIFY, p)
    roleid = p["roleid"]
    if is_builtin_role(roleid):
        raise PveError(f"auto-generated role '{roleid}' cannot be modified")
    with ctx.store.tx():
        role = ctx.store.get_object(ROLE, roleid)
        if role is None:
            raise PveError(f"update role failed: role '{roleid}' does not exist")
        kept = set(role.get("privs", [])) if p.get("append") else set()
        ctx.store.put_object(ROLE, roleid, {"privs": sorted(kept | parse_privs(p.get("privs", "")))})
    return None


@routes.route("DELETE", "/access/roles/{roleid}", {"roleid": ROLEID})
def delete_role(ctx: Ctx, p: dict[str, Any]) -> Any:
    _check(ctx, SYS_MODIFY, p)
    roleid = p["roleid"]
    if is_builtin_role(roleid):
        raise PveError(f"auto-generated role '{roleid}' cannot be deleted")
    if not ctx.store.delete_object(ROLE, roleid):
        raise PveError(f"delete role failed: role '{roleid}' does not exist")
    return None


def _user(ctx: Ctx, userid: str) -> dict[str, Any]:
    user = ctx.store.get_object(users.USER, userid)
    if user is None:
        raise PveError(f"no such user ('{userid}')")
    return user


def _token_info(token: dict[str, Any]) -> dict[str, Any]:
    info = {"privsep": token["privsep"], "expire": token["expire"]}
    return {**info, "comment": token["comment"]} if token.get("comment") else info


@routes.route("GET", "/access/users/{userid}", {"userid": USERID})
def read_user(ctx: Ctx, p: dict[str, Any]) -> Any:
    _check(ctx, ["userid-group", ["User.Modify", "Sys.Audit"]], p)
    user = _user(ctx, p["userid"])
    prefix = f"{p['userid']}!"
    tokens = {tid.removeprefix(prefix): _token_info(t)
              for tid, t in ctx.store.objects(users.TOKEN).items() if tid.startswith(prefix)}
    groups = sorted(g for g, v in ctx.store.objects(GROUP).items()
                    if p["userid"] in v.get("members", []))
    return {**{k: v for k, v in user.items() if k != "password"}, "groups": groups,
            "tokens": tokens}


@routes.route("PUT", "/access/users/{userid}", {"userid": USERID, **USER_PROPS})
def update_user(ctx: Ctx, p: dict[str, Any]) -> Any:
    _check(ctx, ["userid-group", ["User.Modify"], "groups_param", "update"], p)
    with ctx.store.tx():
        user = _user(ctx, p["userid"])
        user.update({k: int(v) if isinstance(v, bool) else v
                     for k, v in p.items() if k in USER_PROPS})
        ctx.store.put_object(users.USER, p["userid"], user)
    return None


@routes.route("PUT", "/access/password", {
    "userid": USERID, "password": Param(optional=False, min_length=8, max_length=64),
    "confirmation-password": Param(max_length=64)})
def change_password(ctx: Ctx, p: dict[str, Any]) -> Any:
    """PVE's `change_password` (allowtoken => 0): root@pam changes anyone's, a user their own,
    and one with Realm.AllocateUser and User.Modify another's but not a pam user's; anyone but
    root@pam confirms with their own password first."""
    if "!" in ctx.authid:
        raise PveError(perm_failed_message("URI '/access/password' not available with API token, "
                                           "need proper ticket."), 403)
    _check(ctx, ["or", ["userid-param", "self"],
                 ["and", ["userid-param", "Realm.AllocateUser"], ["userid-group", ["User.Modify"]]]], p)
    userid = p["userid"]
    with ctx.store.tx():
        user = _user(ctx, userid)
        if ctx.authid != ROOT:
            if userid == ROOT:
                raise PveError(perm_failed_message(), 403)
            confirmation = p.get("confirmation-password")
            if confirmation is None:
                raise param_error(**{"confirmation-password": "password is required to modify user"})
            if not users.password_valid(ctx.store, ctx.authid, confirmation):
                raise unauthorized()
            if ctx.authid != userid and userid.endswith("@pam"):
                raise PveError(perm_failed_message(), 403)
        user["password"] = users.hash_password(p["password"])
        ctx.store.put_object(users.USER, userid, user)
    return None


@routes.route("DELETE", "/access/users/{userid}", {"userid": USERID})
def delete_user(ctx: Ctx, p: dict[str, Any]) -> Any:
    _check(ctx, ["and", ["userid-param", "Realm.AllocateUser"], ["userid-group", ["User.Modify"]]], p)
    userid = p["userid"]
    with ctx.store.tx() as db:
        if not ctx.store.delete_object(users.USER, userid):
            raise PveError(f"delete user failed: no such user ('{userid}')")
        tokens = [tid for tid in ctx.store.objects(users.TOKEN) if tid.startswith(f"{userid}!")]
        for tid in tokens:
            ctx.store.delete_object(users.TOKEN, tid)
        for gid, group in ctx.store.objects(GROUP).items():
            if userid in group.get("members", []):
                group["members"] = [m for m in group["members"] if m != userid]
                ctx.store.put_object(GROUP, gid, group)
        db.execute("DELETE FROM acl WHERE type = 'user' AND ugid = ?", (userid,))
        for tid in tokens:
            db.execute("DELETE FROM acl WHERE type = 'token' AND ugid = ?", (tid,))
    return None


def _token(ctx: Ctx, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    _user(ctx, p["userid"])
    full = f"{p['userid']}!{p['tokenid']}"
    token = ctx.store.get_object(users.TOKEN, full)
    if token is None:
        raise PveError(f"no such token '{p['tokenid']}' for user '{p['userid']}'")
    return full, token


@routes.route("GET", "/access/users/{userid}/token/{tokenid}", {"userid": USERID, "tokenid": TOKENID})
def read_token(ctx: Ctx, p: dict[str, Any]) -> Any:
    _check(ctx, users.TOKEN_OWNER, p)
    return _token_info(_token(ctx, p)[1])


@routes.route("PUT", "/access/users/{userid}/token/{tokenid}", {
    "userid": USERID, "tokenid": TOKENID, **TOKEN_PROPS})
def update_token(ctx: Ctx, p: dict[str, Any]) -> Any:
    _check(ctx, users.TOKEN_OWNER, p)
    with ctx.store.tx():
        full, token = _token(ctx, p)
        for key in ("privsep", "expire"):
            if key in p:
                token[key] = int(p[key])
        if p.get("comment"):
            token["comment"] = p["comment"]
        ctx.store.put_object(users.TOKEN, full, token)
    return _token_info(token)
