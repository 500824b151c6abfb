"""PVE::Storage `check_volume_access`: who may read a storage's volume."""

from __future__ import annotations

from partilha.lab.access import PermissionDeniedError
from partilha.lab.server.context import Ctx


def check_volume_access(ctx: Ctx, sid: str, content: str, owner: int | None,
                        vmid: int | None = None) -> None:
    """403 in PVE's words unless the caller may use the volume (`vmid`: the guest asking)."""
    storage = f"/storage/{sid}"
    if content in ("iso", "vztmpl", "import"):
        # templates and ISOs could be sensitive: at least read access to the storage
        ctx.require(storage, ["Datastore.AllocateSpace", "Datastore.Audit"], any_=True)
    elif owner is not None and owner == vmid:
        return  # the guest's own volume
    elif content == "backup" and owner:
        ctx.require(storage, ["Datastore.AllocateSpace"])
        ctx.require(f"/vms/{owner}", ["VM.Backup"])
    elif content in ("images", "rootdir") and owner:
        ctx.require(storage, ["Datastore.Audit"])
        ctx.require(f"/vms/{owner}", ["VM.Config.Disk"])
    else:
        ctx.require(storage, ["Datastore.Allocate"])


def may_access(ctx: Ctx, sid: str, content: str, owner: int | None) -> bool:
    try:
        check_volume_access(ctx, sid, content, owner)
    except PermissionDeniedError:
        return False
    return True
