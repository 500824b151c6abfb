"""Storage on the real engine and lab: create, no-op, update in place, drift, replace, delete;
adopting a storage PVE already defines; and the inputs it refuses or replaces on."""

from __future__ import annotations

import pytest
from proxmoxer import ProxmoxAPI
from pulumi import automation as auto

from partilha.errors import UserError
from partilha.proxmox.resources.storage import Storage, StorageProvider

from .conftest import LabStack, Program


def storage(*, path: str = "/srv/partilha-test/tst1", content: tuple[str, ...] = ("images", "backup"),
            nodes: list[str] | None = None, shared: bool = False,
            prune: str | None = "keep-last=3,keep-daily=7", protected: str = "2") -> Program:
    """A dir storage, its lists and prune-backups given out of PVE's order."""

    def declare() -> None:
        Storage("st", storage="tst1", type="dir", path=path, content=list(content), nodes=nodes,
                shared=shared, prune_backups=prune, options={"max-protected-backups": protected})

    return declare


def test_storage_lifecycle(stack: LabStack, admin_token: ProxmoxAPI) -> None:
    assert stack.up(storage(nodes=["pve2", "pve1"])) == {"create": 1}
    assert stack.writes() == ["POST /storage"]
    conf = admin_token.storage("tst1").get()
    assert (conf["type"], conf["path"], conf["content"], conf["nodes"], conf["max-protected-backups"]) == (
        "dir", "/srv/partilha-test/tst1", "backup,images", "pve1,pve2", 2)

    assert stack.up() == {"same": 1}  # the lists and prune-backups compare in PVE's order
    assert stack.writes() == []

    assert stack.up(storage(content=("backup",), shared=True, prune="keep-last=5", protected="4")) == {
        "update": 1}
    assert stack.writes() == ["PUT /storage/tst1"]
    conf = admin_token.storage("tst1").get()
    assert "nodes" not in conf
    assert (conf["content"], conf["shared"], conf["prune-backups"], conf["max-protected-backups"]) == (
        "backup", 1, "keep-last=5", 4)

    admin_token.storage("tst1").put(content="backup,iso", delete="prune-backups")
    assert stack.refresh() == {"st": ["content", "prune_backups"]}
    assert stack.up() == {"update": 1}
    conf = admin_token.storage("tst1").get()
    assert (conf["content"], conf["prune-backups"]) == ("backup", "keep-last=5")

    assert stack.up(storage(path="/srv/partilha-test/tst1b", content=("backup",), shared=True,
                            prune="keep-last=5", protected="4")) == {"replace": 1}
    assert admin_token.storage("tst1").get()["path"] == "/srv/partilha-test/tst1b"

    stack.destroy()
    assert "tst1" not in {s["storage"] for s in admin_token.storage.get()}


def test_a_storage_already_defined_is_adopted_and_left_defined(stack: LabStack,
                                                               admin_token: ProxmoxAPI) -> None:
    """The lab defines the inventory's storages at start, as an installer does the first ones."""
    path = admin_token.storage("lab-backup").get()["path"]

    def backup(at: str) -> Program:
        return lambda: Storage("b", storage="lab-backup", type="dir", path=at, content=["iso", "backup"],
                               shared=True)

    with pytest.raises(auto.CommandError, match=f"storage lab-backup exists with path '{path}', "
                                                f"not the declared '/elsewhere'"):
        stack.up(backup("/elsewhere"))
    assert stack.writes() == []
    assert stack.up(backup(path)) == {"create": 1}
    assert stack.writes() == ["PUT /storage/lab-backup"]
    assert admin_token.storage("lab-backup").get()["content"] == "backup,iso"
    stack.destroy()
    assert "lab-backup" in {s["storage"] for s in admin_token.storage.get()}


def test_a_secret_option_is_refused_before_any_call() -> None:
    with pytest.raises(UserError, match="storage pbs: 'password' is a secret"):
        Storage("pbs", storage="pbs", type="pbs", content=["backup"], options={"password": "x"})


def test_a_fixed_option_replaces() -> None:
    olds = {"storage": "nfs1", "type": "nfs", "content": ["backup"], "path": "/mnt/pve/nfs1",
            "options": {"server": "10.0.0.5", "export": "/backups", "options": "vers=4.2"}}
    moved = {**olds, "options": {**olds["options"], "server": "10.0.0.6"}}
    tuned = {**olds, "options": {**olds["options"], "options": "vers=4.1"}}
    assert StorageProvider().diff("nfs1", olds, moved).replaces == ["options"]
    assert StorageProvider().diff("nfs1", olds, tuned).replaces == []
