"""Backups through PVE's API with proxmoxer, on a real guest over real SSH: vzdump of a running
guest (real archive, `.log`, `.notes`, the `backup` lock held throughout, retention), restore to
a new vmid with byte-identical files and the original's pinned host keys, failed restores that
leave nothing, and backup jobs that the lab's scheduler runs by itself."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import replace
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from partilha.lab.backup import scheduler
from partilha.lab.instance import LabInstance
from partilha.lab.machine.lxc import known_hosts
from partilha.lab.server.store import Store

pytestmark = pytest.mark.lab

WaitTask = Callable[..., dict[str, Any]]
ARCHIVE = re.compile(r"vzdump-lxc-9501-\d{4}_\d{2}_\d{2}-\d{2}_\d{2}_\d{2}\.tar\.zst")
# Files written in the guest: modes, owners, xattrs, a hard link, a symlink, a sparse file.
WRITE_DATA = """
set -e
mkdir -p /srv/data/private /srv/data/empty
head -c 3000000 /dev/urandom > /srv/data/random.bin
seq 1 200000 > /srv/data/numbers.txt
printf 'segredo\\n' > /srv/data/private/secret
chown -R 1234:5678 /srv/data/private && chmod 0750 /srv/data/private && chmod 4750 /srv/data/private/secret
chmod 0700 /srv/data/empty
ln /srv/data/numbers.txt /srv/data/numbers.hardlink
ln -s ../data/random.bin /srv/data/link
truncate -s 50M /srv/data/sparse.img
python3 -c "import os; os.setxattr('/srv/data/numbers.txt', 'user.partilha', b'municipio')"
"""
# A listing of the files above and the host keys: path, type, mode, owner, size, content hash,
# link target, xattrs, and which paths share an inode.
LISTING = r"""
import hashlib, os, stat
inodes = {}
for top in ("/srv/data", "/etc/ssh"):
    for dirpath, dirs, files in os.walk(top):
        dirs.sort()
        for name in sorted(dirs + files):
            p = os.path.join(dirpath, name); st = os.lstat(p)
            digest = ""
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f: digest = hashlib.sha256(f.read()).hexdigest()
            link = os.readlink(p) if stat.S_ISLNK(st.st_mode) else ""
            xattrs = sorted((k, os.getxattr(p, k, follow_symlinks=False).hex())
                            for k in os.listxattr(p, follow_symlinks=False))
            inodes.setdefault(st.st_ino, []).append(p)
            links = "" if stat.S_ISDIR(st.st_mode) else st.st_nlink  # overlayfs: dirs say 1
            print(p, oct(st.st_mode), st.st_uid, st.st_gid, st.st_size, digest, link, xattrs, links)
print(sorted(sorted(v) for v in inodes.values() if len(v) > 1))
"""


Fails = Callable[[Callable[[], Any]], ResourceException]
SSH_TIMEOUT = 120  # seconds: writing and listing the guest's data take a while


@pytest.fixture(scope="module")
def net(make_vnets: Callable[..., dict[str, IPv4Network]]) -> IPv4Network:
    return make_vnets("bkz", "vbk")["vbk"]


def net0(net: IPv4Network, host: int) -> str:
    return f"name=eth0,bridge=vbk,ip={net[host]}/{net.prefixlen},gw={net[1]}"


def listing(ssh: Any, ip: str) -> str:
    result = ssh(ip, "python3", "-", input=LISTING, timeout=SSH_TIMEOUT)
    assert result.returncode == 0, result.stderr
    return str(result.stdout)


@pytest.fixture(scope="module")
def original(admin: ProxmoxAPI, net: IPv4Network, create_ct: Callable[..., Any], guest_ssh: Any,
             wait_task: WaitTask) -> Any:
    """A running guest holding the data, and the listing of it taken before any backup."""
    ct, upid = create_ct(9501, "vbk", net, 10, hostname="portal.abrantes.lab.test", swap=64,
                         cores=1, start=1, unprivileged=1, description="Portal do munícipe")
    assert wait_task(admin, upid)["exitstatus"] == "OK", admin.nodes("pve1").tasks(upid).log.get()
    result = guest_ssh(ct.ip, "sh", "-s", input=WRITE_DATA, timeout=SSH_TIMEOUT)
    assert result.returncode == 0, result.stderr
    return ct


@pytest.fixture(scope="module")
def before(guest_ssh: Any, original: Any) -> str:
    return listing(guest_ssh, original.ip)


@pytest.fixture(scope="module")
def backup(lab: LabInstance, admin: ProxmoxAPI, original: Any, before: str, fails: Fails,
           wait_task: WaitTask) -> dict[str, Any]:
    """vzdump of the running guest (with a firewall config, which the archive carries), slowed
    by `bwlimit` so the test sees its lock; while it runs, a config change fails on the `backup`
    lock."""
    fw = admin.nodes("pve1").lxc(original.vmid).firewall
    fw.options.put(enable=0, policy_in="DROP", log_level_in="info")
    fw.rules.post(type="in", action="ACCEPT", macro="SSH", source="10.0.0.0/8", comment="admins",
                  enable=1)
    fw.rules.post(type="out", action="REJECT", proto="tcp", dport="25", log="warning")
    upid = admin.nodes("pve1").vzdump.post(
        vmid=original.vmid, storage="lab-backup", mode="snapshot", compress="zstd", zstd=2,
        bwlimit=65536, **{"notes-template": "{{guestname}} on {{node}} ({{cluster}}), CT {{vmid}}"})
    assert upid.split(":")[5:8] == ["vzdump", "9501", "root@pam"]
    config = admin.nodes("pve1").lxc(original.vmid).config
    deadline = time.monotonic() + 30
    while config.get().get("lock") != "backup":
        assert time.monotonic() < deadline, "the backup lock never showed"
        time.sleep(0.05)
    locked = fails(lambda: config.put(description="changed during the backup"))
    status = wait_task(admin, upid, timeout=300)
    log = [line["t"] for line in admin.nodes("pve1").tasks(upid).log.get(limit=500)]
    [item] = admin.nodes("pve1").storage("lab-backup").content.get(vmid=original.vmid)
    return {"status": status, "log": log, "locked": locked, "item": item}


def test_vzdump_writes_a_real_archive_with_log_and_notes(lab: LabInstance, admin: ProxmoxAPI,
                                                         guest_ssh: Any, original: Any,
                                                         backup: dict[str, Any]) -> None:
    assert backup["status"]["exitstatus"] == "OK", backup["log"]
    log = backup["log"]
    assert log[0].startswith("INFO: starting new backup job: vzdump 9501 ")
    for line in ("INFO: Starting Backup of VM 9501 (lxc)", "INFO: status = running",
                 "INFO: CT Name: portal.abrantes.lab.test", "INFO: backup mode: suspend",
                 "INFO: suspending guest", "INFO: resuming guest", "INFO: adding notes to backup",
                 "INFO: Backup job finished successfully", "TASK OK"):
        assert line in log, line
    item = backup["item"]
    name = item["volid"].removeprefix("lab-backup:backup/")
    assert ARCHIVE.fullmatch(name)
    assert (item["format"], item["subtype"], item["vmid"]) == ("tar.zst", "lxc", 9501)
    assert item["notes"] == "portal.abrantes.lab.test on pve1 (lab), CT 9501"
    dump = lab.state_dir / "storage" / "lab-backup" / "dump"
    archive = dump / name
    assert sorted(p.name for p in dump.iterdir()) == sorted(
        [name, f"{name}.notes", name.replace(".tar.zst", ".log")])
    assert f"INFO: creating vzdump archive '{archive}'" in log
    file_log = (dump / name.replace(".tar.zst", ".log")).read_text().splitlines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d INFO: Starting Backup of VM 9501 \(lxc\)",
                        file_log[0])
    members = subprocess.run(["tar", "--zstd", "-tvf", str(archive)], capture_output=True,
                             text=True, check=True).stdout.splitlines()
    assert members[0].endswith("./etc/vzdump/pct.conf")
    assert any(m.startswith("-rwsr-x--- 1234/5678") and m.endswith("./srv/data/private/secret")
               for m in members)
    links = {m.split(" ./", 1)[1] for m in members if m.startswith("h")}
    assert links & {"srv/data/numbers.hardlink link to ./srv/data/numbers.txt",
                    "srv/data/numbers.txt link to ./srv/data/numbers.hardlink"}
    conf = subprocess.run(["tar", "--zstd", "-xOf", str(archive), "./etc/vzdump/pct.conf"],
                          capture_output=True, text=True, check=True).stdout
    assert "hostname: portal.abrantes.lab.test\n" in conf and "lock" not in conf
    firewall = subprocess.run(["tar", "--zstd", "-xOf", str(archive), "./etc/vzdump/pct.fw"],
                              capture_output=True, text=True, check=True).stdout
    assert firewall == ("[OPTIONS]\n\nenable: 0\nlog_level_in: info\npolicy_in: DROP\n\n[RULES]\n\n"
                        "|OUT REJECT -p tcp -dport 25 -log warning\n"
                        "IN SSH(ACCEPT) -source 10.0.0.0/8 # admins\n")
    assert guest_ssh(original.ip, "true", timeout=SSH_TIMEOUT).returncode == 0  # resumed after the freeze


def test_the_backup_lock_refuses_changes_while_it_runs(admin: ProxmoxAPI, original: Any,
                                                       backup: dict[str, Any]) -> None:
    assert (backup["locked"].status_code, backup["locked"].content) == (500, "CT is locked (backup)")
    config = admin.nodes("pve1").lxc(original.vmid).config.get()
    assert "lock" not in config and config["description"] == "Portal do munícipe"


def test_restore_to_a_new_vmid_is_byte_identical(lab: LabInstance, admin: ProxmoxAPI,
                                                 guest_ssh: Any, net: IPv4Network, original: Any,
                                                 before: str, backup: dict[str, Any],
                                                 wait_task: WaitTask) -> None:
    copy = replace(original, vmid=9502, ip=str(net[11]))
    upid = admin.nodes("pve1").lxc.post(vmid=copy.vmid, ostemplate=backup["item"]["volid"],
                                        restore=1, net0=net0(net, 11), storage="lab-guests", start=1)
    status = wait_task(admin, upid, timeout=300)
    log = [line["t"] for line in admin.nodes("pve1").tasks(upid).log.get(limit=500)]
    assert (status["type"], status["exitstatus"]) == ("vzrestore", "OK"), log
    assert f"recovering backed-up configuration from '{backup['item']['volid']}'" in log
    assert listing(guest_ssh, copy.ip) == before
    # an overlay on the template: only what differs from it was written
    upper = lab.guests_root / f"{lab.prefix}{copy.vmid}" / "upper"
    assert (upper / "srv/data/random.bin").is_file() and not (upper / "usr/bin/apt").exists()
    for part in ("options", "rules"):  # the archive's pct.fw became the copy's firewall config
        assert getattr(admin.nodes("pve1").lxc(copy.vmid).firewall, part).get() == \
            getattr(admin.nodes("pve1").lxc(original.vmid).firewall, part).get()
    config = admin.nodes("pve1").lxc(copy.vmid).config.get()
    assert (config["hostname"], config["memory"], config["description"]) == (
        "portal.abrantes.lab.test", 256, "Portal do munícipe")
    assert config["rootfs"] == "lab-guests:9502/vm-9502-disk-0.raw,size=4G"
    assert "lock" not in config
    # the restored guest keeps the archive's host keys, pinned for its own address too
    keys = known_hosts.pinned(lab.known_hosts, copy.ip)
    assert keys and keys == known_hosts.pinned(lab.known_hosts, original.ip)
    assert guest_ssh(original.ip, "true", timeout=SSH_TIMEOUT).returncode == 0


def test_a_failed_restore_leaves_no_guest_and_no_lock(lab: LabInstance, admin: ProxmoxAPI,
                                                      net: IPv4Network, backup: dict[str, Any],
                                                      fails: Fails, wait_task: WaitTask) -> None:
    dump = lab.state_dir / "storage" / "lab-backup" / "dump"
    good = dump / backup["item"]["volid"].removeprefix("lab-backup:backup/")
    broken = dump / "vzdump-lxc-9501-2001_01_01-00_00_00.tar.zst"
    broken.write_bytes(good.read_bytes()[: good.stat().st_size // 2])  # cut in the middle
    try:
        for volid, error in (
            (f"lab-backup:backup/{broken.name}", r"unable to restore CT 9503 - command 'tar .*"),
            ("lab-backup:backup/vzdump-lxc-9501-2001_01_01-00_00_01.tar.zst",
             r"unable to restore CT 9503 - can't find file 'lab-backup:backup/vzdump-lxc-9501-"
             r"2001_01_01-00_00_01.tar.zst'"),
        ):
            upid = admin.nodes("pve1").lxc.post(vmid=9503, ostemplate=volid, restore=1,
                                                net0=net0(net, 12))
            status = wait_task(admin, upid, timeout=300)
            assert re.fullmatch(error, status["exitstatus"], re.DOTALL), status["exitstatus"]
            err = fails(lambda: admin.nodes("pve1").lxc(9503).config.get())
            assert err.content == "Configuration file 'nodes/pve1/lxc/9503.conf' does not exist"
            assert not (lab.guests_root / f"{lab.prefix}9503").exists()
            assert not Path(f"/var/lib/lxc/{lab.prefix}9503").exists()
            assert admin.cluster.nextid.get(vmid=9503) == 9503
            assert f"{net[12]} " not in lab.known_hosts.read_text()
    finally:
        broken.unlink()
    err = fails(lambda: admin.nodes("pve1").lxc.post(vmid=9501, ostemplate=backup["item"]["volid"],
                                                     restore=1))
    assert err.content == "CT 9501 already exists on node 'pve1'"
    err = fails(lambda: admin.nodes("pve1").lxc.post(vmid=9501, ostemplate=backup["item"]["volid"],
                                                     restore=1, force=1))
    assert err.content == "can't overwrite running container"
    assert "lock" not in admin.nodes("pve1").lxc(9501).config.get()


def test_force_restores_over_a_stopped_guest(admin: ProxmoxAPI, guest_ssh: Any, net: IPv4Network,
                                             before: str, backup: dict[str, Any],
                                             wait_task: WaitTask) -> None:
    copy = admin.nodes("pve1").lxc(9502)
    assert wait_task(admin, copy.status.stop.post())["exitstatus"] == "OK"
    copy.config.put(memory=300, description="to be overwritten")
    upid = admin.nodes("pve1").lxc.post(vmid=9502, ostemplate=backup["item"]["volid"], restore=1,
                                        force=1, net0=net0(net, 11), storage="lab-guests", start=1)
    assert wait_task(admin, upid, timeout=300)["exitstatus"] == "OK"
    config = copy.config.get()
    assert (config["memory"], config["description"]) == (256, "Portal do munícipe")
    assert listing(guest_ssh, str(net[11])) == before


def test_retention_prunes_older_backups(lab: LabInstance, admin: ProxmoxAPI, original: Any,
                                        backup: dict[str, Any], wait_task: WaitTask) -> None:
    time.sleep(1.1)  # a new archive name (they have one-second resolution)
    upid = admin.nodes("pve1").vzdump.post(vmid=original.vmid, storage="lab-backup",
                                           compress="zstd", **{"prune-backups": "keep-last=1"})
    assert wait_task(admin, upid, timeout=300)["exitstatus"] == "OK"
    log = [line["t"] for line in admin.nodes("pve1").tasks(upid).log.get(limit=500)]
    assert "INFO: prune older backups with retention: keep-last=1" in log
    assert f"INFO: removing backup '{backup['item']['volid']}'" in log
    assert "INFO: pruned 1 backup(s) not covered by keep-retention policy" in log
    [kept] = admin.nodes("pve1").storage("lab-backup").content.get(vmid=original.vmid)
    assert kept["volid"] != backup["item"]["volid"] and "notes" not in kept
    dump = lab.state_dir / "storage" / "lab-backup" / "dump"
    assert len(list(dump.glob("vzdump-lxc-9501-*.log"))) == 1


def _vzdump_tasks_since(admin: ProxmoxAPI, when: dt.datetime) -> list[dict[str, Any]]:
    return [t for t in admin.nodes("pve1").tasks.get(typefilter="vzdump", limit=50)
            if t["starttime"] >= int(when.timestamp())]


def test_a_held_scheduler_starts_no_job_that_comes_due(lab: LabInstance, admin: ProxmoxAPI,
                                                       original: Any) -> None:
    """Tests hold the scheduler (the lab fixture does), so a tier's calendar event cannot fire
    in the middle of what they assert."""
    when = dt.datetime.now() + dt.timedelta(seconds=2)
    admin.cluster.backup.post(id="backup-held", schedule=f"{when:%H:%M:%S}", vmid=str(original.vmid),
                              storage="local", compress="zstd", mode="stop")
    try:
        time.sleep(2 + 3 * scheduler.INTERVAL)  # the event and a few scheduler rounds past it
        assert _vzdump_tasks_since(admin, when) == []
    finally:
        admin.cluster.backup("backup-held").delete()


def test_a_backup_job_runs_by_itself_when_due(lab: LabInstance, admin: ProxmoxAPI, original: Any,
                                              wait_task: WaitTask) -> None:
    with Store(lab.db) as store:
        scheduler.hold(store, False)
    when = dt.datetime.now() + dt.timedelta(seconds=5)
    schedule = f"{when:%H:%M:%S}"
    before = {i["volid"] for i in admin.nodes("pve1").storage("local").content.get(content="backup")}
    admin.cluster.backup.post(id="backup-abrantes", schedule=schedule, vmid=str(original.vmid),
                              storage="local", compress="zstd", mode="stop",
                              comment="Abrantes, nightly")
    try:
        [job] = admin.cluster.backup.get()
        assert (job["id"], job["type"], job["schedule"], job["enabled"]) == (
            "backup-abrantes", "vzdump", schedule, 1)
        assert job["next-run"] == int(when.replace(microsecond=0).timestamp())
        deadline = time.monotonic() + 120
        while True:
            tasks = _vzdump_tasks_since(admin, when)
            if tasks:
                break
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(1)
        status = wait_task(admin, tasks[0]["upid"], timeout=300)
        assert (status["user"], status["exitstatus"]) == ("root@pam", "OK")
        after = {i["volid"] for i in admin.nodes("pve1").storage("local").content.get(content="backup")}
        assert len(after - before) == 1
        assert admin.nodes("pve1").lxc(original.vmid).status.current.get()["status"] == "running"
        assert admin.cluster.backup.get()[0]["next-run"] == job["next-run"] + 86400  # tomorrow
    finally:
        admin.cluster.backup("backup-abrantes").delete()
        with Store(lab.db) as store:
            scheduler.hold(store)


def test_backup_jobs_crud_and_pves_errors(admin: ProxmoxAPI, original: Any, fails: Fails) -> None:
    err = fails(lambda: admin.cluster.backup.post(schedule="every full moon", all=1))
    assert err.status_code == 400
    assert err.errors["schedule"].startswith(
        "invalid format - invalid calendar event 'every full moon' - ")
    err = fails(lambda: admin.cluster.backup.post(schedule="daily", vmid="9501", all=1))
    assert err.errors == {"all": "option conflicts with option 'vmid'"}
    err = fails(lambda: admin.cluster.backup.post(schedule="daily"))
    assert err.errors == {"vmid": "property is missing"}
    admin.cluster.backup.post(schedule="mon..fri 21:00", all=1, storage="lab-backup",
                              enabled=0, **{"prune-backups": "keep-daily=7,keep-weekly=4"})
    [job] = admin.cluster.backup.get()
    assert re.fullmatch(r"backup-[0-9a-f]{8}-[0-9a-f]{4}", job["id"]) and "next-run" not in job
    jobs = admin.cluster.backup(job["id"])
    jobs.put(vmid="9501", enabled=1, delete="prune-backups")
    read = jobs.get()
    assert (read["vmid"], read["enabled"], "all" in read, "prune-backups" in read) == (
        "9501", 1, False, False)
    uncovered = admin.cluster("backup-info")("not-backed-up").get
    assert [g["vmid"] for g in uncovered()] == [9502]  # the restored copy
    jobs.delete()
    assert [(g["vmid"], g["type"]) for g in uncovered()] == [(9501, "lxc"), (9502, "lxc")]
    err = fails(lambda: jobs.get())
    assert err.errors == {"id": f"No such job '{job['id']}'"}


def test_backup_needs_vm_backup_and_space_on_the_storage(lab: LabInstance, admin: ProxmoxAPI,
                                                          original: Any, fails: Fails,
                                                          wait_task: WaitTask) -> None:
    admin.access.users.post(userid="backup@pve", password="Secret-123")
    admin.access.acl.put(path="/storage/lab-backup", roles="PVEDatastoreUser", users="backup@pve")
    user = ProxmoxAPI("127.0.0.1", port=lab.port, user="backup@pve", password="Secret-123",
                      verify_ssl=str(lab.cert))
    err = fails(lambda: user.nodes("pve1").vzdump.post(vmid=original.vmid, storage="local"))
    assert err.content == "Permission check failed (/storage/local, Datastore.AllocateSpace)"
    status = wait_task(admin, user.nodes("pve1").vzdump.post(vmid=original.vmid,
                                                             storage="lab-backup"))
    assert status["exitstatus"] == f"Permission check failed (/vms/{original.vmid}, VM.Backup)"
    err = fails(lambda: user.nodes("pve1").vzdump.post(vmid=original.vmid, storage="lab-backup",
                                                       bwlimit=100))
    assert err.errors == {"bwlimit": "Only root may set this option."}
    assert user.nodes("pve1").storage("lab-backup").content.get() == []  # not its guest's


RECORDER = """#!/bin/sh
echo "$* TARGET=${TARGET:-} LOGFILE=${LOGFILE:-} DUMPDIR=${DUMPDIR:-} STOREID=${STOREID:-} \
VMTYPE=${VMTYPE:-} HOSTNAME=${HOSTNAME:-}" >> "$(dirname "$0")/calls"
echo "recorded $1"
"""
HOOK = Path(__file__).resolve().parents[3] / "backup" / "hooks" / "vzdump-partilha"


def test_the_hook_script_runs_at_pves_phases_and_records_the_checksums(
        lab: LabInstance, admin: ProxmoxAPI, original: Any, guest_ssh: Any, tmp_path: Path,
        wait_task: WaitTask) -> None:
    recorder = tmp_path / "recorder"
    recorder.write_text(RECORDER)
    recorder.chmod(0o755)
    time.sleep(1.1)
    upid = admin.nodes("pve1").vzdump.post(vmid=original.vmid, storage="lab-backup", compress="zstd",
                                           script=str(recorder))
    assert wait_task(admin, upid, timeout=300)["exitstatus"] == "OK"
    assert "INFO: recorded backup-end" in [line["t"] for line in admin.nodes("pve1").tasks(upid).log.get()]
    dump = lab.state_dir / "storage" / "lab-backup" / "dump"
    newest = max(admin.nodes("pve1").storage("lab-backup").content.get(vmid=original.vmid),
                 key=lambda c: c["ctime"])
    archive = dump / newest["volid"].removeprefix("lab-backup:backup/")
    calls = [line.split(" TARGET=")[0] for line in (tmp_path / "calls").read_text().splitlines()]
    assert calls == ["job-start", "backup-start suspend 9501", "pre-stop suspend 9501",
                     "pre-restart suspend 9501", "post-restart suspend 9501",
                     "backup-end suspend 9501", "log-end suspend 9501", "job-end"]
    end = next(c for c in (tmp_path / "calls").read_text().splitlines() if c.startswith("backup-end"))
    assert (f"TARGET={archive} LOGFILE= DUMPDIR={dump} STOREID=lab-backup VMTYPE=lxc "
            "HOSTNAME=portal.abrantes.lab.test") in end
    attrs = admin.nodes("pve1").storage("lab-backup").content(newest["volid"]).get()
    assert (attrs["path"], attrs["size"]) == (str(archive), archive.stat().st_size)

    # partilha's hook, as deploys/hypervisor.py installs it (vzdump.conf's `script:`)
    digest = "#!/bin/sh\nsha256sum /srv/data/numbers.txt | cut -d' ' -f1\n"
    assert guest_ssh(original.ip, "sh", "-c", "'cat > /usr/local/sbin/partilha-data-digest && chmod 755 "
                     "/usr/local/sbin/partilha-data-digest'", input=digest).returncode == 0
    conf = lab.state_dir / "etc" / "vzdump.conf"
    conf.parent.mkdir(exist_ok=True)
    conf.write_text(f"# the nodes' vzdump.conf\nscript: {HOOK}\n")
    try:
        time.sleep(1.1)
        upid = admin.nodes("pve1").vzdump.post(vmid=original.vmid, storage="lab-backup",
                                               compress="zstd", **{"prune-backups": "keep-last=1"})
        assert wait_task(admin, upid, timeout=300)["exitstatus"] == "OK", \
            admin.nodes("pve1").tasks(upid).log.get()
    finally:
        conf.unlink()
    [kept] = admin.nodes("pve1").storage("lab-backup").content.get(vmid=original.vmid)
    archive = dump / kept["volid"].removeprefix("lab-backup:backup/")
    recorded = archive.with_name(archive.name + ".sha256").read_text()
    made = subprocess.run(["sha256sum", archive.name], cwd=dump, capture_output=True, text=True, check=True)
    assert recorded == made.stdout
    numbers = guest_ssh(original.ip, "sha256sum", "/srv/data/numbers.txt").stdout.split()[0]
    assert archive.with_name(archive.name + ".data.sha256").read_text().strip() == numbers
    # the older archive was pruned: its sidecars too (job-end), and no digest left half-made
    assert sorted(p.name for p in dump.glob("vzdump-lxc-9501-*sha256")) == [
        f"{archive.name}.data.sha256", f"{archive.name}.sha256"]
    assert not list(dump.glob(".partilha-data-*"))
