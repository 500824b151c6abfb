"""What the firewall endpoints share: the option parameters, reading and setting an `[OPTIONS]`
section with its digest, the checks before a guest's firewall is touched, and `change`, PVE's
`lock_*fw_conf` + save, after which the lab's nftables table is re-applied at once
(pve-firewall applies a change within seconds)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any

from partilha.lab.cluster import online_node
from partilha.lab.firewall import firewall_schema
from partilha.lab.guests import load_guest
from partilha.lab.machine import MachineError
from partilha.lab.sdn import sdn_apply
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError, assert_if_modified, param_error
from partilha.lab.server.params import Param

POLICY = Param(enum=("ACCEPT", "REJECT", "DROP"))
LOG_LEVEL = Param(enum=firewall_schema.LOG_LEVELS)
DIGEST = Param(max_length=64)
DELETE = Param(format="pve-configid-list", max_length=4096)
Check = Callable[[Ctx, dict[str, Any]], None]  # raises unless the caller may go on


@contextmanager
def change(ctx: Ctx) -> Iterator[None]:
    """One firewall config edit, all or nothing, with the table re-applied before it commits."""
    try:
        with sdn_apply.firewall_change(ctx.store, ctx.instance):
            yield
    except firewall_schema.RuleError as exc:
        raise param_error(**{exc.param: exc.message}) from None
    except MachineError as exc:
        raise PveError(f"unable to apply the firewall: {exc}") from None


def options_out(options: dict[str, Any]) -> dict[str, Any]:
    """`copy_opject_with_digest`: the options that are set, and their digest."""
    return {**options, "digest": firewall_schema.object_digest(options)}


def set_options(options: dict[str, Any], keys: Collection[str], p: dict[str, Any],
                delete: list[str], digest: str | None) -> None:
    """PVE's `set_options`: digest check, `delete`, then the given values (`enable` as 0/1)."""
    assert_if_modified(firewall_schema.object_digest(options), digest)
    for opt in delete:
        if opt not in keys:
            raise param_error(delete=f"no such option '{opt}'")
        options.pop(opt, None)
    for key in keys:
        if key in p:
            value = p[key]
            options[key] = int(bool(value)) if key == "enable" or isinstance(value, bool) else value


def guest_access(kind: str, *privs: str) -> Check:
    """The node, permission and existence checks before a guest's `.fw` is touched."""
    def check(ctx: Ctx, p: dict[str, Any]) -> None:
        online_node(ctx, p["node"])
        ctx.require(f"/vms/{p['vmid']}", list(privs))
        load_guest(ctx.store, p["node"], int(p["vmid"]), kind)
    return check


def audit(ctx: Ctx, p: dict[str, Any]) -> None:
    ctx.require("/", ["Sys.Audit"])


def modify(ctx: Ctx, p: dict[str, Any]) -> None:
    ctx.require("/", ["Sys.Modify"])
