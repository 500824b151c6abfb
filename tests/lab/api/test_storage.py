"""Storages through PVE's API with proxmoxer: the seeded `local` and inventory storages, dir
storage CRUD with PVE's errors and digest, status and content per node (the Debian 12 template
under a stable volid, real backup files with notes), deleting a backup, and who sees what."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from partilha.lab.instance import LabInstance
from partilha.lab.machine.lxc.template import ensure_template

pytestmark = pytest.mark.lab

WaitTask = Callable[..., dict[str, Any]]
Fails = Callable[[Callable[[], Any]], ResourceException]


def test_local_and_the_inventorys_dir_storages_are_seeded(admin: ProxmoxAPI) -> None:
    listed = {s["storage"]: s for s in admin.storage.get()}
    assert {"local", "lab-guests", "lab-backup", "lab-guests-dr", "lab-backup-dr"} <= set(listed)
    local = admin.storage("local").get()
    assert (local["type"], local["path"], local["content"]) == (
        "dir", "/var/lib/vz", "backup,images,iso,rootdir,vztmpl")
    assert re.fullmatch(r"[0-9a-f]{40}", local["digest"])
    assert listed["lab-backup"]["path"] == "/var/lib/partilha/lab/backup"
    assert (listed["lab-backup"]["content"], listed["lab-backup"]["shared"]) == ("backup", 1)
    assert admin.storage.get(type="nfs") == []


def test_dir_storage_crud_with_pves_errors_and_digest(lab: LabInstance, admin: ProxmoxAPI, fails: Fails,
                                                      modified: str) -> None:
    created = admin.storage.post(storage="scratch", type="dir", path="/srv/partilha-scratch",
                                 content="backup,iso", **{"prune-backups": "keep-last=2"})
    assert created == {"storage": "scratch", "type": "dir"}
    assert (lab.state_dir / "storage" / "scratch").is_dir()  # realised inside the instance
    assert not Path("/srv/partilha-scratch").exists()  # never outside it
    conf = admin.storage("scratch").get()
    assert (conf["path"], conf["content"], conf["prune-backups"]) == (
        "/srv/partilha-scratch", "backup,iso", "keep-last=2")
    err = fails(lambda: admin.storage.post(storage="scratch", type="dir", path="/srv/x"))
    assert (err.status_code, err.content) == (500, "create storage failed: storage ID 'scratch' "
                                                   "already defined")
    err = fails(lambda: admin.storage.post(storage="rel", type="dir", path="srv/x"))
    assert err.errors == {"path": "invalid format - value does not look like a valid absolute path\n"}
    err = fails(lambda: admin.storage.post(storage="bad", type="dir", path="/x", content="disks"))
    assert err.errors == {"content": "invalid format - invalid content type 'disks'\n"}
    err = fails(lambda: admin.storage.post(storage="bad", type="dir", path="/x",
                                           **{"prune-backups": "keep-all=1,keep-last=1"}))
    assert err.errors == {"prune-backups": "invalid format - keep-all cannot be set together "
                                           "with other options.\n"}

    digest = conf["digest"]
    assert admin.storage("scratch").put(content="backup", digest=digest) == {
        "storage": "scratch", "type": "dir"}
    err = fails(lambda: admin.storage("scratch").put(disable=1, digest=digest))
    assert (err.status_code, err.content) == (500, f"update storage failed: {modified}")
    admin.storage("scratch").put(delete="prune-backups", disable=1)
    conf = admin.storage("scratch").get()
    assert "prune-backups" not in conf and (conf["content"], conf["disable"]) == ("backup", 1)
    err = fails(lambda: admin.storage("scratch").put(delete="disable", disable=0))
    assert err.content == "update storage failed: cannot set and delete property 'disable' at " \
                          "the same time!"

    assert admin.storage("scratch").delete() is None
    err = fails(lambda: admin.storage("scratch").get())
    assert (err.status_code, err.content) == (500, "storage 'scratch' does not exist")
    err = fails(lambda: admin.storage("scratch").delete())
    assert err.content == "delete storage failed: storage 'scratch' does not exist"


def test_status_per_node_is_the_real_file_systems(lab: LabInstance, admin: ProxmoxAPI, fails: Fails) -> None:
    status = {s["storage"]: s for s in admin.nodes("pve1").storage.get()}
    local = status["local"]
    assert (local["active"], local["enabled"], local["type"]) == (1, 1, "dir")
    assert 0 < local["used"] < local["total"] and 0 < local["avail"] < local["total"]
    assert set(status) == {s["storage"] for s in admin.nodes("pve1").storage.get(enabled=1)}
    backup_only = {s["storage"] for s in admin.nodes("pve1").storage.get(content="backup")}
    assert backup_only == {"local", "lab-backup", "lab-backup-dr"}
    err = fails(lambda: admin.nodes("pve1").storage.get(storage="nope"))
    assert err.errors == {"storage": "No such storage."}


def test_content_lists_the_template_and_real_backups(lab: LabInstance, admin: ProxmoxAPI,
                                                     wait_task: WaitTask, ostemplate: str) -> None:
    ensure_template()
    content = admin.nodes("pve1").storage("local").content
    templates = content.get(content="vztmpl")
    assert [(t["volid"], t["format"]) for t in templates] == [(ostemplate, "tzst")]
    assert templates[0]["size"] > 100 * 2**20

    dump = lab.state_dir / "storage" / "lab-backup" / "dump"
    dump.mkdir(parents=True, exist_ok=True)
    name = "vzdump-lxc-9501-2024_05_01-02_30_00.tar.zst"
    (dump / name).write_bytes(b"\x28\xb5\x2f\xfd" + bytes(60))
    (dump / f"{name}.notes").write_text("Portal do munícipe\nsecond line")
    (dump / "vzdump-lxc-9501-2024_05_01-02_30_00.log").write_text("INFO: ...\n")
    (dump / "not-a-backup.txt").write_text("ignored")
    [backup] = admin.nodes("pve1").storage("lab-backup").content.get()
    assert backup == {"volid": f"lab-backup:backup/{name}", "format": "tar.zst", "content": "backup",
                      "size": 64, "ctime": backup["ctime"], "subtype": "lxc", "vmid": 9501,
                      "notes": "Portal do munícipe"}
    assert admin.nodes("pve1").storage("lab-backup").content.get(vmid=9502) == []

    upid = admin.nodes("pve1").storage("lab-backup").content(f"lab-backup:backup/{name}").delete()
    status = wait_task(admin, upid)
    assert (status["type"], status["id"], status["exitstatus"]) == ("imgdel", "9501@lab-backup", "OK")
    assert sorted(p.name for p in dump.iterdir()) == ["not-a-backup.txt"]


def test_who_sees_which_storage(lab: LabInstance, admin: ProxmoxAPI, fails: Fails) -> None:
    admin.access.users.post(userid="ops@pve", password="Secret-123")
    admin.access.acl.put(path="/storage/local", roles="PVEDatastoreUser", users="ops@pve")
    ops = ProxmoxAPI("127.0.0.1", port=lab.port, user="ops@pve", password="Secret-123",
                     verify_ssl=str(lab.cert))
    assert [s["storage"] for s in ops.storage.get()] == ["local"]
    assert [s["storage"] for s in ops.nodes("pve1").storage.get()] == ["local"]
    err = fails(lambda: ops.storage("local").get())
    assert (err.status_code, err.content) == (
        403, "Permission check failed (/storage/local, Datastore.Allocate)")
    err = fails(lambda: ops.nodes("pve1").storage("lab-backup").content.get())
    assert err.status_code == 403
    err = fails(lambda: ops.storage.post(storage="mine", type="dir", path="/srv/mine"))
    assert err.content == "Permission check failed (/storage, Datastore.Allocate)"
