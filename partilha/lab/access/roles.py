"""PVE 8's privileges and built-in roles, generated the way pve-access-control generates them.

Source: ``PVE::AccessControl`` (``$privgroups``, ``create_roles``, ``verify_privname``,
``verify_rolename``, ``add_role_privs``) and ``PVE::API2::Role`` of pve-access-control as shipped
with Proxmox VE 8.4. Every category lists its privileges in four tiers:

- ``root``: only ``Administrator`` (and ``root@pam``) gets them;
- ``admin``: ``PVE<Cat>Admin`` and ``PVEAdmin``;
- ``user``: also ``PVE<Cat>User`` (only created when the tier is not empty);
- ``audit``: also ``PVEAuditor``.

``Permissions.Modify`` belongs to no category, so only ``Administrator`` has it. ``PVEAdmin`` loses
``Mapping.Modify`` and ``PVETemplateUser`` is written out by hand, both exactly as PVE does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from partilha.lab.access.errors import AccessError, InvalidPrivilegeError
from partilha.lab.server.lists import split_list

#: The privilege tiers of PVE 8 (``$privgroups`` in PVE::AccessControl), category -> tier -> privs.
PRIVGROUPS: Final[Mapping[str, Mapping[str, tuple[str, ...]]]] = MappingProxyType(
    {
        "VM": MappingProxyType(
            {
                "root": (),
                "admin": (
                    "VM.Config.Disk",
                    "VM.Config.CPU",
                    "VM.Config.Memory",
                    "VM.Config.Network",
                    "VM.Config.HWType",
                    "VM.Config.Options",  # covers all other things
                    "VM.Allocate",
                    "VM.Clone",
                    "VM.Migrate",
                    "VM.Monitor",
                    "VM.Snapshot",
                    "VM.Snapshot.Rollback",
                ),
                "user": (
                    "VM.Config.CDROM",  # change CDROM media
                    "VM.Config.Cloudinit",
                    "VM.Console",
                    "VM.Backup",
                    "VM.PowerMgmt",
                ),
                "audit": ("VM.Audit",),
            }
        ),
        "Sys": MappingProxyType(
            {
                "root": (
                    "Sys.PowerMgmt",
                    "Sys.Modify",  # edit/change node settings
                    "Sys.Incoming",  # incoming storage/guest migrations
                    "Sys.AccessNetwork",  # for, e.g., downloading ISOs from any URL
                ),
                "admin": ("Sys.Console", "Sys.Syslog"),
                "user": (),
                "audit": ("Sys.Audit",),
            }
        ),
        "Datastore": MappingProxyType(
            {
                "root": (),
                "admin": ("Datastore.Allocate", "Datastore.AllocateTemplate"),
                "user": ("Datastore.AllocateSpace",),
                "audit": ("Datastore.Audit",),
            }
        ),
        "SDN": MappingProxyType(
            {
                "root": (),
                "admin": ("SDN.Allocate", "SDN.Audit"),
                "user": ("SDN.Use",),
                "audit": ("SDN.Audit",),
            }
        ),
        "User": MappingProxyType(
            {
                "root": ("Realm.Allocate",),
                "admin": (
                    "User.Modify",
                    "Group.Allocate",  # edit/change group settings
                    "Realm.AllocateUser",
                ),
                "user": (),
                "audit": (),
            }
        ),
        "Pool": MappingProxyType(
            {
                "root": (),
                "admin": ("Pool.Allocate",),  # create/delete pools
                "user": ("Pool.Audit",),
                "audit": ("Pool.Audit",),
            }
        ),
        "Mapping": MappingProxyType(
            {
                "root": (),
                "admin": ("Mapping.Modify",),
                "user": ("Mapping.Use",),
                "audit": ("Mapping.Audit",),
            }
        ),
    }
)

_TIERS: Final = ("root", "admin", "user", "audit")


def _build() -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    valid: set[str] = {"Permissions.Modify"}  # not contained in a group
    roles: dict[str, set[str]] = {"NoAccess": set()}
    for cat, tiers in PRIVGROUPS.items():
        for tier in _TIERS:
            valid.update(tiers[tier])
        for priv in (*tiers["admin"], *tiers["user"], *tiers["audit"]):
            roles.setdefault(f"PVE{cat}Admin", set()).add(priv)
            roles.setdefault("PVEAdmin", set()).add(priv)
        if tiers["user"]:
            for priv in (*tiers["user"], *tiers["audit"]):
                roles.setdefault(f"PVE{cat}User", set()).add(priv)
        for priv in tiers["audit"]:
            roles.setdefault("PVEAuditor", set()).add(priv)
    # only Administrator, root@pam and PVEMappingAdmin may use Mapping.Modify "for now"
    roles["PVEAdmin"].discard("Mapping.Modify")
    roles["PVETemplateUser"] = {"VM.Clone", "VM.Audit"}
    roles["Administrator"] = set(valid)  # all privileges
    return frozenset(valid), {name: frozenset(privs) for name, privs in roles.items()}


_VALID, _BUILTIN = _build()

#: Every privilege PVE 8 knows (``$valid_privs``).
PRIVILEGES: Final[frozenset[str]] = _VALID

#: The built-in ("special") roles, role id -> privileges. They cannot be changed or deleted.
BUILTIN_ROLES: Final[Mapping[str, frozenset[str]]] = MappingProxyType(_BUILTIN)

_ROLEID_RE: Final = re.compile(r"[A-Za-z0-9.\-_]+")


def is_builtin_role(roleid: str) -> bool:
    """``role_is_special``: true for the roles PVE generates (shown with ``special: 1``)."""
    return roleid in BUILTIN_ROLES


def verify_privname(priv: str) -> str:
    """Return ``priv`` if PVE knows it, else raise ``invalid privilege '<priv>'``."""
    if priv not in PRIVILEGES:
        raise InvalidPrivilegeError(priv)
    return priv


def parse_privs(privs: str | Iterable[str]) -> frozenset[str]:
    """Validate a privilege list (PVE's ``pve-priv-list`` format, or already split).

    The first unknown privilege raises :class:`InvalidPrivilegeError`; its ``message`` is PVE's
    ``invalid privilege 'X'`` and ``param_error`` the text PVE puts under ``errors.privs``.
    """
    items = split_list(privs) if isinstance(privs, str) else list(privs)
    return frozenset(verify_privname(p) for p in items)


def verify_rolename(roleid: str) -> str:
    """``verify_rolename`` (format ``pve-roleid``)."""
    if not _ROLEID_RE.fullmatch(roleid):
        raise AccessError(f"role name '{roleid}' contains invalid characters", 400)
    return roleid


def verify_new_roleid(roleid: str) -> str:
    """The checks ``POST /access/roles`` makes on the id before touching the config."""
    verify_rolename(roleid)
    if roleid[:3].upper() == "PVE":
        raise AccessError(
            "cannot use role ID starting with the (case-insensitive) 'PVE' namespace",
            400,
            param="roleid",
        )
    return roleid


def builtin_role_immutable(roleid: str, action: str) -> AccessError:
    """The error PVE raises when asked to modify (``action='modified'``) or delete
    (``action='deleted'``) a built-in role."""
    return AccessError(f"auto-generated role '{roleid}' cannot be {action}", 500)
