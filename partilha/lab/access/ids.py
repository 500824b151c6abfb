"""PVE's identifier and ACL-path formats (pve-userid, pve-tokenid, pve-groupid, pve-poolid, ACL paths).

Regexes and messages from ``PVE::Auth::Plugin`` and ``PVE::AccessControl`` (PVE 8.4).
"""

from __future__ import annotations

import re
from typing import Final

from partilha.lab.access.errors import AccessError

REALM_RE: Final = r"[A-Za-z][A-Za-z0-9.\-_]+"
USER_RE: Final = r"[^\s:/]+"
TOKEN_SUBID_RE: Final = REALM_RE
GROUPNAME_RE: Final = r"[A-Za-z0-9.\-_]+"

_USERID: Final = re.compile(rf"({USER_RE})@({REALM_RE})")
_TOKENID: Final = re.compile(rf"(({USER_RE})@({REALM_RE}))!({TOKEN_SUBID_RE})")
_GROUP: Final = re.compile(GROUPNAME_RE)
_POOL: Final = re.compile(r"[A-Za-z0-9.\-_]+(?:/[A-Za-z0-9.\-_]+){0,2}")

_SEG: Final = r"[A-Za-z0-9.\-_]+"
# PVE::AccessControl::check_path as of PVE 8.4 (nested pools, SDN vnets/VLANs, mappings).
_ACL_PATH: Final = re.compile(
    "|".join(
        (
            r"/",
            r"/access",
            r"/access/groups",
            rf"/access/groups/{_SEG}",
            r"/access/realm",
            rf"/access/realm/{_SEG}",
            r"/nodes",
            rf"/nodes/{_SEG}",
            r"/pool",
            r"/pool/[A-Za-z0-9.\-_]+(?:/[A-Za-z0-9.\-_]+){0,2}",
            r"/sdn",
            r"/sdn/controllers",
            r"/sdn/controllers/[A-Za-z0-9_\-]+",
            r"/sdn/dns",
            r"/sdn/dns/[A-Za-z0-9]+",
            r"/sdn/ipams",
            r"/sdn/ipams/[A-Za-z0-9]+",
            r"/sdn/zones",
            rf"/sdn/zones/{_SEG}",
            rf"/sdn/zones/{_SEG}/{_SEG}",
            rf"/sdn/zones/{_SEG}/{_SEG}/[1-9][0-9]{{0,3}}",
            r"/storage",
            rf"/storage/{_SEG}",
            r"/vms",
            r"/vms/[1-9][0-9]{2,}",
            r"/mapping",
            rf"/mapping/{_SEG}",
            rf"/mapping/{_SEG}/{_SEG}",
        )
    )
)
_PATH_CHARS: Final = re.compile(r"[A-Za-z0-9.\-_/]+")


def normalize_path(path: str | None) -> str | None:
    """``normalize_path``: collapse ``//``, drop a trailing ``/``, add a leading one; None when
    empty or holding characters PVE refuses."""
    if not path:
        return None
    path = re.sub(r"/+", "/", path)
    path = path.removesuffix("/")
    if not path:
        path = "/"
    if not path.startswith("/"):
        path = "/" + path
    if not _PATH_CHARS.fullmatch(path):
        return None
    return path


def check_path(path: str) -> bool:
    """``check_path``: is ``path`` (already normalised) one PVE accepts for new ACL entries?"""
    return _ACL_PATH.fullmatch(path) is not None


def verify_acl_path(path: str) -> str:
    """What ``PUT /access/acl`` does with ``path``: the normalised path, or a 400 naming it."""
    norm = normalize_path(path)
    if norm is None or not check_path(norm):
        raise AccessError(f"invalid ACL path '{path}'", 400, param="path")
    return norm


def verify_username(userid: str) -> tuple[str, str, str]:
    """``verify_username`` (format ``pve-userid``): ``(userid, name, realm)``."""
    n = len(userid)
    if n < 3:
        raise AccessError(f"user name '{userid}' is too short", 400)
    if n > 64:
        raise AccessError(f"user name '{userid}' is too long ({n} > 64)", 400)
    m = _USERID.fullmatch(userid)
    if m is None:
        raise AccessError(f"value '{userid}' does not look like a valid user name", 400)
    return userid, m.group(1), m.group(2)


def is_userid(authid: str) -> bool:
    try:
        verify_username(authid)
    except AccessError:
        return False
    return True


def is_tokenid(authid: str) -> bool:
    return _TOKENID.fullmatch(authid) is not None


def split_tokenid(tokenid: str) -> tuple[str, str]:
    """``split_tokenid``: ``user@realm!name`` -> ``("user@realm", "name")``."""
    m = _TOKENID.fullmatch(tokenid)
    if m is None:
        raise AccessError(
            f"'{tokenid}' is not a valid token ID - not able to split into user and token parts", 400
        )
    return m.group(1), m.group(4)


def verify_tokenid(tokenid: str) -> str:
    """``pve_verify_tokenid`` (format ``pve-tokenid``)."""
    if not is_tokenid(tokenid):
        raise AccessError(f"value '{tokenid}' does not look like a valid token ID", 400)
    return tokenid


def verify_groupname(groupid: str) -> str:
    if not _GROUP.fullmatch(groupid):
        raise AccessError(f"group name '{groupid}' contains invalid characters", 400)
    return groupid


def verify_poolname(poolid: str) -> str:
    """``verify_poolname``: up to three levels (``a/b/c``), PVE 8's nested pools."""
    if len([p for p in poolid.split("/") if p != ""]) > 3:
        raise AccessError(f"pool name '{poolid}' nested too deeply (max levels = 3)", 400)
    if not _POOL.fullmatch(poolid):
        raise AccessError(f"pool name '{poolid}' contains invalid characters", 400)
    return poolid
