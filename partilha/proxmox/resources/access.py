"""Access control (`/access`): roles, users, API tokens and ACL entries.

A municipality's stack acts only through its own privilege-separated token, scoped by ACL entries
to its pool and VNet. The token's secret is shown by PVE once, at creation: ApiToken writes it to
the token store (partilha.proxmox.token_store) under the name of the stack that uses it, and never
to its outputs, so Pulumi state holds no secret. A token whose secret the store lost shows as
drift (`store_as` empty) and is replaced by the next `up` (a new token, a new secret, its ACL
entries made again: Pulumi replaces the resources whose inputs come from a replaced one, so pass
`ugid=token.full_tokenid`, not a plain string).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import pulumi
from proxmoxer.core import ResourceException
from pulumi.dynamic import DiffResult, Resource

from partilha.proxmox.client import Pve
from partilha.proxmox.resources.base import Props, PveProvider, unless_gone
from partilha.proxmox.resources.normalised import NormalisedProvider
from partilha.proxmox.token_store import TokenStore


class RoleProvider(NormalisedProvider):
    replace_on = frozenset({"roleid"})

    def normalise(self, props: Props) -> Props:
        return {"privs": sorted(set(props["privs"]))}  # a set to PVE, listed sorted

    @staticmethod
    def _privs(props: Props) -> dict[str, str]:
        return {"privs": ",".join(props["privs"])} if props["privs"] else {}

    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        pve.call("POST", "/access/roles", roleid=inputs["roleid"], **self._privs(inputs))
        return inputs["roleid"], {}

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        role = unless_gone(lambda: pve.get(f"/access/roles/{id_}"))
        if role is None:
            return None
        return {"roleid": id_, "privs": sorted(priv for priv, on in dict(role).items() if on)}

    def update_live(self, pve: Pve, id_: str, olds: Props, news: Props) -> Props:
        pve.call("PUT", f"/access/roles/{id_}", **self._privs(news))  # no privs: none left
        return {}

    def delete_live(self, pve: Pve, id_: str, props: Props) -> None:
        pve.call("DELETE", f"/access/roles/{id_}")


class Role(Resource, module="proxmox", name="Role"):
    roleid: pulumi.Output[str]
    privs: pulumi.Output[list[str]]

    def __init__(self, name: str, *, roleid: pulumi.Input[str],
                 privs: pulumi.Input[Sequence[pulumi.Input[str]]],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(RoleProvider(), name, {"roleid": roleid, "privs": privs}, opts)


class UserProvider(PveProvider):
    replace_on = frozenset({"userid"})

    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        comment = {"comment": inputs["comment"]} if inputs["comment"] else {}
        pve.call("POST", "/access/users", userid=inputs["userid"], enable=int(inputs["enable"]),
                 **comment)
        return inputs["userid"], {}

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        user = unless_gone(lambda: pve.get(f"/access/users/{id_}"))
        if user is None:
            return None
        return {"userid": id_, "comment": user.get("comment", ""),
                "enable": bool(int(user.get("enable", 1)))}

    def update_live(self, pve: Pve, id_: str, olds: Props, news: Props) -> Props:
        pve.call("PUT", f"/access/users/{id_}", comment=news["comment"], enable=int(news["enable"]))
        return {}

    def delete_live(self, pve: Pve, id_: str, props: Props) -> None:
        pve.call("DELETE", f"/access/users/{id_}")  # PVE drops its tokens and ACL entries too


class User(Resource, module="proxmox", name="User"):
    userid: pulumi.Output[str]
    comment: pulumi.Output[str]
    enable: pulumi.Output[bool]

    def __init__(self, name: str, *, userid: pulumi.Input[str], comment: pulumi.Input[str] = "",
                 enable: pulumi.Input[bool] = True,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(UserProvider(), name,
                         {"userid": userid, "comment": comment, "enable": enable}, opts)


class ApiTokenProvider(PveProvider):
    replace_on = frozenset({"userid", "tokenid", "store_as"})
    computed = frozenset({"full_tokenid"})

    @staticmethod
    def _path(props: Props) -> str:
        return f"/access/users/{props['userid']}/token/{props['tokenid']}"

    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        path = self._path(inputs)
        params: dict[str, Any] = {"privsep": int(inputs["privsep"])}
        if inputs["comment"]:
            params["comment"] = inputs["comment"]
        try:
            made = pve.call("POST", path, **params)
        except ResourceException as exc:
            if "already exists" not in f"{exc.content} {exc.errors or ''}":
                raise
            # its secret was lost (a run stopped before recording it): a new token replaces it
            pve.call("DELETE", path)
            made = pve.call("POST", path, **params)
        full = str(made["full-tokenid"])
        TokenStore().write(inputs["store_as"], f"{full}={made['value']}")
        return full, {"full_tokenid": full}

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        userid, _, tokenid = id_.partition("!")
        info = unless_gone(lambda: pve.get(self._path({"userid": userid, "tokenid": tokenid})),
                           owner_gone=lambda: _user_gone(pve, userid))
        if info is None:
            return None
        stored = TokenStore().read(props["store_as"]) if props.get("store_as") else None
        return {"userid": userid, "tokenid": tokenid,
                # a store without this token's secret is drift: the next up replaces the token
                "store_as": props["store_as"] if (stored or "").startswith(f"{id_}=") else "",
                "comment": info.get("comment", ""), "privsep": bool(int(info["privsep"]))}

    def diff(self, id_: str, olds: Props, news: Props) -> DiffResult:
        result = super().diff(id_, olds, news)
        if olds.get("comment") and not news.get("comment"):  # PVE cannot empty a token's comment
            result.replaces = sorted({*(result.replaces or []), "comment"})
            result.delete_before_replace = True
        return result

    def update_live(self, pve: Pve, id_: str, olds: Props, news: Props) -> Props:
        pve.call("PUT", self._path(news), privsep=int(news["privsep"]), comment=news["comment"])
        return {}

    def delete_live(self, pve: Pve, id_: str, props: Props) -> None:
        unless_gone(lambda: pve.call("DELETE", self._path(props)),
                    owner_gone=lambda: _user_gone(pve, props["userid"]))
        if props.get("store_as"):
            TokenStore().remove(props["store_as"])


def _user_gone(pve: Pve, userid: str) -> bool:
    """PVE checks a token route's permission (the user itself, or User.Modify on its groups)
    before the user's existence, and both fail for a missing user: a token caller gets 403 for a
    token of a user that is gone (root@pam alone is told "no such user")."""
    return unless_gone(lambda: pve.get(f"/access/users/{userid}")) is None


class ApiToken(Resource, module="proxmox", name="ApiToken"):
    userid: pulumi.Output[str]
    tokenid: pulumi.Output[str]
    store_as: pulumi.Output[str]
    comment: pulumi.Output[str]
    privsep: pulumi.Output[bool]
    full_tokenid: pulumi.Output[str]  # user@realm!tokenid, what ACL entries name

    def __init__(self, name: str, *, userid: pulumi.Input[str], tokenid: pulumi.Input[str],
                 store_as: pulumi.Input[str], comment: pulumi.Input[str] = "",
                 privsep: pulumi.Input[bool] = True,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(ApiTokenProvider(), name, {
            "userid": userid, "tokenid": tokenid, "store_as": store_as, "comment": comment,
            "privsep": privsep, "full_tokenid": None}, opts)


AclKind = Literal["user", "token", "group"]


class AclProvider(PveProvider):
    replace_on = frozenset({"path", "roleid", "ugid", "kind"})
    delete_before_replace = False  # another entry: granting it first leaves no gap

    @staticmethod
    def _put(pve: Pve, props: Props, **extra: Any) -> None:
        pve.call("PUT", "/access/acl", path=props["path"], roles=props["roleid"],
                 **{f"{props['kind']}s": props["ugid"]}, **extra)

    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        self._put(pve, inputs, propagate=int(inputs["propagate"]))
        return f"{inputs['kind']}:{inputs['ugid']}:{inputs['path']}:{inputs['roleid']}", {}

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        kind, ugid, rest = id_.split(":", 2)
        path, _, roleid = rest.rpartition(":")
        for entry in pve.get("/access/acl"):
            if (entry["type"], entry["ugid"], entry["path"], entry["roleid"]) == (kind, ugid, path, roleid):
                return {"path": path, "roleid": roleid, "ugid": ugid, "kind": kind,
                        "propagate": bool(int(entry.get("propagate", 1)))}
        return None

    def update_live(self, pve: Pve, id_: str, olds: Props, news: Props) -> Props:
        self._put(pve, news, propagate=int(news["propagate"]))  # the entry, with its new flag
        return {}

    def delete_live(self, pve: Pve, id_: str, props: Props) -> None:
        self._put(pve, props, delete=1)


class Acl(Resource, module="proxmox", name="Acl"):
    path: pulumi.Output[str]
    roleid: pulumi.Output[str]
    ugid: pulumi.Output[str]
    kind: pulumi.Output[str]
    propagate: pulumi.Output[bool]

    def __init__(self, name: str, *, path: pulumi.Input[str], roleid: pulumi.Input[str],
                 ugid: pulumi.Input[str], kind: pulumi.Input[AclKind],
                 propagate: pulumi.Input[bool] = True,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(AclProvider(), name, {"path": path, "roleid": roleid, "ugid": ugid,
                                               "kind": kind, "propagate": propagate}, opts)


def acl_entry(kind: str, ugid: str, path: str, roleid: str) -> str:
    """An ACL entry as ExclusiveAcl lists it: `token:abrantes@pve!partilha:/pool/abrantes:Role`."""
    return f"{kind}:{ugid}:{path}:{roleid}"


class ExclusiveAclProvider(PveProvider):
    """The ACL entries of some users and tokens are exactly those declared: one granted behind
    the stacks' back (another municipality's pool given to a token through the API) shows as
    drift on refresh, and `up` revokes it. The declared entries themselves are Acl resources."""

    replace_on = frozenset({"ugids"})

    @staticmethod
    def _live(pve: Pve, ugids: Sequence[str]) -> list[str]:
        return sorted(acl_entry(e["type"], e["ugid"], e["path"], e["roleid"]) for e in pve.get("/access/acl")
                      if e.get("ugid") in ugids)

    def _revoke_undeclared(self, pve: Pve, props: Props) -> None:
        declared = set(props["entries"])
        for entry in self._live(pve, props["ugids"]):
            if entry not in declared:
                kind, ugid, rest = entry.split(":", 2)
                path, _, roleid = rest.rpartition(":")
                pve.call("PUT", "/access/acl", path=path, roles=roleid, delete=1, **{f"{kind}s": ugid})

    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        self._revoke_undeclared(pve, inputs)
        return ",".join(inputs["ugids"]), {}

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        return {"ugids": props["ugids"], "entries": self._live(pve, props["ugids"])}

    def update_live(self, pve: Pve, id_: str, olds: Props, news: Props) -> Props:
        self._revoke_undeclared(pve, news)
        return {}

    def delete_live(self, pve: Pve, id_: str, props: Props) -> None:
        """Nothing: the declared entries go with their Acl resources."""


class ExclusiveAcl(Resource, module="proxmox", name="ExclusiveAcl"):
    ugids: pulumi.Output[list[str]]
    entries: pulumi.Output[list[str]]

    def __init__(self, name: str, *, ugids: pulumi.Input[Sequence[pulumi.Input[str]]],
                 entries: pulumi.Input[Sequence[pulumi.Input[str]]],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(ExclusiveAclProvider(), name, {"ugids": ugids, "entries": entries}, opts)
