"""What the SDN endpoints share: the parameters every section takes, the SDN config lock, and the
views of a section (edited, running, pending) with its digest."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from partilha.lab import sdn
from partilha.lab.sdn import sdn_schema
from partilha.lab.sdn.sdn_schema import SdnConfigError
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError, stringify
from partilha.lab.server.params import BOOL, Param

VIEW = {"running": BOOL, "pending": BOOL}
DELETE = Param(format="pve-configid-list", max_length=4096)
DIGEST = Param(max_length=64)
# pve-network's `pve-sdn-lock-token`: what a writer shows while the global SDN lock is held
LOCK_TOKEN = {"lock-token": Param()}


@contextmanager
def sdn_config_lock(ctx: Ctx, errmsg: str, token: str | None = None) -> Iterator[None]:
    """PVE's `lock_sdn_config`: one writer at a time, and while the global lock
    (`POST /cluster/sdn/lock`) is held only one showing its token; failures become
    `<errmsg>: <reason>`."""
    try:
        with ctx.store.tx():
            held = sdn.global_lock(ctx.store)
            if held is not None and token != held:
                raise PveError("invalid lock token provided!")
            yield
    except PveError as exc:
        raise PveError(f"{errmsg}: {stringify(exc)}") from None
    except SdnConfigError as exc:
        raise PveError(f"{errmsg}: {exc}") from None


def view(ctx: Ctx, section: str, p: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], str | None]:
    """The objects a read shows and the digest of that file (the edited config only has one)."""
    if p.get("pending"):
        running = sdn.objects(ctx.store, section, running=True)
        return sdn_schema.pending_config(running, sdn.objects(ctx.store, section)), None
    if p.get("running"):
        return sdn.objects(ctx.store, section, running=True), None
    objs = sdn.objects(ctx.store, section)
    return objs, sdn_schema.digest(sdn_schema.section_text(section, objs))


def with_digest(obj: dict[str, Any], digest: str | None) -> dict[str, Any]:
    return {**obj, "digest": digest} if digest else obj


def check_vnet_access(ctx: Ctx, vnet: str, privs: list[str]) -> None:
    """pve-network's `$check_vnet_access`: the VNet exists; any of `privs` on its ACL path."""
    obj = sdn.objects(ctx.store, "vnets").get(vnet)
    if obj is None:
        raise PveError(f"sdn vnet '{vnet}' does not exist")
    ctx.require(f"/sdn/zones/{obj['zone']}/{vnet}", privs, any_=True)
