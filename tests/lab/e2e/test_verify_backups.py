"""`partilha dr run verify-backups` end to end on a throwaway lab: two services of Constância (a
records app on SQLite, a static intranet) deployed, holding data, backed up with partilha's vzdump
hook in the nodes' vzdump.conf (what `partilha deploy hypervisor` writes on real nodes; the lab's
nodes are this machine, so the test writes the lab's one file).

Good backups pass every check; an archive re-packed with one file changed (a valid zstd) and a
truncated one fail their checksum before anything is restored; data changed inside an archive
whose checksum holds fails the data check, a broken service the service check; each named, and
the run exits non-zero. The drill VNet reaches no production guest and none reaches it. A run
killed mid-drill leaves its throwaway, in no municipality's pool (Constância's token cannot see
it), until `dr clean` gives the run up or `dr resume` finishes it; a second run meanwhile is
refused."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from partilha.proxmox.token_store import TokenStore

from .conftest import ROOT, Cli
from .test_dr import constancia_baselined, ok, one_line, task

pytestmark = pytest.mark.lab
APP, STATIC = "constancia-einvoice", "constancia-intranet"
RECORDS = "./var/lib/partilha-einvoice/records.sqlite"
DRILL = range(990000, 990100)  # inventories/lab/backup.yaml backup.drill


def backup(cli: Cli, *names: str) -> None:
    for name in names:
        ok(cli("backup", "now", name))
    time.sleep(1.1)  # archives are named by the second


def newest(cli: Cli, admin: ProxmoxAPI, guest: dict[str, Any]) -> Path:
    content = admin.nodes(guest["node"]).storage("lab-backup").content.get(vmid=guest["vmid"])
    volid = max(content, key=lambda c: c["ctime"])["volid"]
    return cli.lab.state_dir / "storage" / "lab-backup" / "dump" / volid.split("/")[-1]


def repack(archive: Path, member: str, change: Any, record: bool) -> None:
    """The archive with one member changed by `change(path)`, compressed again (a valid zstd);
    with `record`, its sha256 recorded again, as if the backup had made it so."""
    with tempfile.TemporaryDirectory() as folder:
        tar, root = Path(folder) / "a.tar", Path(folder) / "root"
        root.mkdir()
        subprocess.run(["zstd", "-q", "-d", str(archive), "-o", str(tar)], check=True)
        subprocess.run(["tar", "-xpf", str(tar), "-C", str(root), "--numeric-owner", member], check=True)
        change(root / member)
        subprocess.run(["tar", "--delete", "-f", str(tar), member], check=True)
        subprocess.run(["tar", "-rpf", str(tar), "-C", str(root), "--numeric-owner", member], check=True)
        subprocess.run(["zstd", "-q", "-f", str(tar), "-o", str(archive)], check=True)
    if record:
        made = subprocess.run(["sha256sum", archive.name], cwd=archive.parent, capture_output=True,
                              text=True, check=True)
        archive.with_name(archive.name + ".sha256").write_text(made.stdout)


def drill_vmids(admin: ProxmoxAPI) -> list[int]:
    return sorted(int(r["vmid"]) for r in admin.cluster.resources.get(type="vm") if int(r["vmid"]) in DRILL)


def verdicts(cli: Cli) -> tuple[str, dict[str, dict[str, Any]]]:
    """The newest verify-backups run: its id and its per-guest results (the report's JSON)."""
    runs = cli.home / ".partilha" / "state" / "partilha-dr" / "runs"
    folder = max(runs.glob("verify-backups-*"), key=lambda p: p.stat().st_mtime)
    report = json.loads((folder / "report.json").read_text())
    return folder.name, {b["guest"]: b for b in report["figures"]["backups"]}


@pytest.fixture(scope="module")
def made(cli: Cli, admin: ProxmoxAPI) -> dict[str, Any]:
    """Constância's two guests up, baselined, their services deployed, one record written, the
    hook installed, both backed up."""
    guests, fleet_file = constancia_baselined(cli, "einvoice", "intranet")
    ok(cli("deploy", "services", "--fleet", str(fleet_file)))
    ok(cli("ssh", APP, "--", "curl -sf -X POST -H 'Content-Type: application/json' "
                             "-d '{\"invoice\": \"FT 2026/1\", \"total\": 12.5}' http://127.0.0.1:8080/api/invoices"))
    conf = cli.lab.state_dir / "etc" / "vzdump.conf"
    conf.parent.mkdir(exist_ok=True)
    conf.write_text(f"script: {ROOT / 'backup' / 'hooks' / 'vzdump-partilha'}\n")
    backup(cli, APP, STATIC)
    return guests


def test_good_backups_of_each_role_pass_every_check_and_leave_nothing(
        cli: Cli, admin: ProxmoxAPI, made: dict[str, Any]) -> None:
    known = cli.lab.known_hosts.read_text()
    run = ok(cli("dr", "run", "verify-backups", "--tenant", "constancia", timeout=1200))
    assert "succeeded" in run.stdout and "RB-VB-02.2" in run.stdout, run.stdout
    # the RPO achieved: the age of the older backup verified, at the run's start
    flat = " ".join(run.stdout.split())
    assert re.search(r"succeeded — RTO [^,]+, RPO \d+(\.\d)? (s|min)\b", flat), run.stdout
    # its services had their start before the checks (SureBackup's "wait for the applications")
    assert re.search(f"{APP} at \\w+: booted, systemd (running|degraded)", run.stdout), run.stdout
    run_id, found = verdicts(cli)
    report = cli.home / ".partilha" / "state" / "partilha-dr" / "runs" / run_id / "report.md"
    assert "2 of 2 backups recoverable" in report.read_text()
    app, static = found[APP], found[STATIC]
    assert (app["checksum"], app["boot"], app["service"], app["data"], app["recoverable"]) == (
        "ok", True, True, "ok", True)
    assert (static["checksum"], static["boot"], static["service"], static["data"]) == (
        "ok", True, True, "not recorded")  # a static site has no records
    primary = next(s.name for s in cli.inventory.datacentre.sites if s.role == "primary")
    assert app["site"] == primary and app["storage"] == "lab-backup"
    assert 0 < app["age_s"] < 3600 and app["seconds"] > 0 and app["restore_s"] > 0
    assert app["archive"].startswith("lab-backup:backup/vzdump-lxc-")
    assert drill_vmids(admin) == [] and cli.lab.known_hosts.read_text() == known


def test_a_filter_matching_nothing_is_one_line_naming_it_and_nothing_is_made(
        cli: Cli, admin: ProxmoxAPI, made: dict[str, Any]) -> None:
    for flag, value in (("--guest", "nowhere-intranet"), ("--tier", "platinum"), ("--site", "moon")):
        one_line(cli("dr", "run", "verify-backups", flag, value, "--yes"), f"{flag} {value}: none in env")
    assert drill_vmids(admin) == []


def test_the_drill_vnet_reaches_no_production_guest_and_none_reaches_it(
        cli: Cli, admin: ProxmoxAPI, made: dict[str, Any]) -> None:
    guest = made[STATIC]
    vnet = next(v for v in cli.inventory.networks.vnets if v.purpose == "drill")
    address = str(vnet.prefix[10])
    volid = f"lab-backup:backup/{newest(cli, admin, guest).name}"
    node = admin.nodes(guest["node"])
    site = next(n.site for n in cli.inventory.datacentre.nodes if n.name == guest["node"])
    storage = next(s.guest_storage for s in cli.inventory.datacentre.sites if s.name == site)
    task(admin, node.lxc.post(vmid=DRILL[-1], ostemplate=volid, restore=1, storage=storage, unique=1,
                              net0=f"name=eth0,bridge={vnet.id},ip={address}/24,gw={vnet.gateway},firewall=1"))
    try:
        task(admin, node.lxc(DRILL[-1]).status.start.post())
        probe = "timeout 3 bash -c '</dev/tcp/{}/{}' && echo open || echo closed"
        container = f"{cli.lab.prefix}{DRILL[-1]}"
        out = subprocess.run(["lxc-attach", "-n", container, "--", "bash", "-c",
                              probe.format(made[APP]["address"], 443)],
                             capture_output=True, text=True, timeout=30, check=False)
        assert out.stdout.strip() == "closed", out
        into = ok(cli("ssh", APP, "--", probe.format(address, 22))).stdout.strip()
        assert into == "closed"
        # the same probe to a guest of its own VNet opens: the probe itself works
        assert ok(cli("ssh", APP, "--", probe.format(made[STATIC]["address"], 443))).stdout.strip() == "open"
    finally:
        task(admin, node.lxc(DRILL[-1]).status.stop.post())
        task(admin, node.lxc(DRILL[-1]).delete(purge=1))


def test_altered_truncated_and_bad_data_backups_are_named_and_the_run_fails(
        cli: Cli, admin: ProxmoxAPI, made: dict[str, Any]) -> None:
    def other_data(path: Path) -> None:
        with sqlite3.connect(path) as db:
            db.execute("UPDATE records SET body = '{\"invoice\": \"FT 2026/1\", \"total\": 1250}'")

    repack(newest(cli, admin, made[APP]), RECORDS, other_data, record=True)
    repack(newest(cli, admin, made[STATIC]), "./etc/hostname",
           lambda p: p.write_text("somewhere-else\n"), record=False)
    since = cli.mark()
    run = cli("dr", "run", "verify-backups", "--tenant", "constancia", timeout=1200)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stdout + run.stderr
    assert f"not recoverable: {APP} at " in run.stderr and "data digest" in run.stderr
    assert f"{STATIC} at " in run.stderr and "altered or replaced" in run.stderr
    _, found = verdicts(cli)
    assert (found[APP]["checksum"], found[APP]["service"], found[APP]["data"]) == ("ok", True, "mismatch")
    assert (found[STATIC]["checksum"], found[STATIC]["boot"]) == ("mismatch", None)  # never restored
    restores = [e for e in cli.calls(since) if e.write and e.method == "POST" and e.path.endswith("/lxc")]
    assert len(restores) == 1  # the app's only: the altered archive was caught before
    assert drill_vmids(admin) == []


def tenant_api(cli: Cli, slug: str) -> ProxmoxAPI:
    """The API as municipality `slug`'s own token (from the token store `up` wrote)."""
    full, secret = (TokenStore(cli.home / ".partilha" / "tokens").read(f"lab-{slug}") or "=").split("=", 1)
    user, name = full.split("!")
    return ProxmoxAPI("127.0.0.1", port=cli.lab.port, user=user, token_name=name, token_value=secret,
                      verify_ssl=str(cli.lab.cert))


def killed_mid_drill(cli: Cli, admin: ProxmoxAPI) -> tuple[str, dict[str, Any]]:
    """A verify-backups run of Constância killed (SIGKILL) once its first throwaway is restored;
    the run's id and that throwaway (its /cluster/resources entry)."""
    first = subprocess.Popen([str(ROOT / ".venv" / "bin" / "partilha"), "dr", "run", "verify-backups",
                              "--tenant", "constancia"], cwd=cli.project, env={**cli.env},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not (left := [r for r in admin.cluster.resources.get(type="vm")
                            if int(r["vmid"]) in DRILL and not r.get("lock")]):
            assert time.monotonic() < deadline and first.poll() is None, "no throwaway was restored"
            time.sleep(0.5)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(30)
    return verdicts_or_journal(cli)[0], left[0]


def test_a_killed_drill_joins_no_pool_and_is_given_up_by_clean_or_finished_by_resume(
        cli: Cli, admin: ProxmoxAPI, made: dict[str, Any]) -> None:
    backup(cli, APP, STATIC)
    repack(newest(cli, admin, made[APP]), "./opt/partilha/records_app.py",
           lambda p: p.write_text("raise SystemExit(3)\n"), record=True)
    archive = newest(cli, admin, made[STATIC])
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    known = cli.lab.known_hosts.read_text()
    run_id, throwaway = killed_mid_drill(cli, admin)
    # no municipality's pool holds it, so Constância's own token neither lists nor reads it
    assert "pool" not in throwaway, throwaway
    constancia = tenant_api(cli, "constancia")
    assert made[APP]["vmid"] in {int(r["vmid"]) for r in constancia.cluster.resources.get(type="vm")}
    assert int(throwaway["vmid"]) not in {int(r["vmid"]) for r in constancia.cluster.resources.get(type="vm")}
    with pytest.raises(ResourceException, match="403"):
        constancia.nodes(throwaway["node"]).lxc(throwaway["vmid"]).config.get()
    second = cli("dr", "run", "verify-backups", "--tenant", "constancia")
    assert second.returncode == 1 and f"locked by dr run {run_id}" in second.stderr, second.stderr

    # given up: what it left is removed, and it cannot be resumed
    cleaned = ok(cli("dr", "clean", run_id))
    assert f"dr run {run_id} abandoned: removed 1 throwaway(s)" in cleaned.stdout, cleaned.stdout
    assert drill_vmids(admin) == [] and cli.lab.known_hosts.read_text() == known
    one_line(cli("dr", "resume", run_id), "was abandoned")

    # killed again, then resumed to its end
    run_id, _ = killed_mid_drill(cli, admin)
    resumed = cli("dr", "resume", run_id, timeout=1200)
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr
    assert f"not recoverable: {APP} at " in resumed.stderr and "service" in resumed.stderr
    assert "altered or replaced" in resumed.stderr  # the truncated one, named
    _, found = verdicts(cli)
    assert (found[APP]["boot"], found[APP]["service"]) == (True, False)
    assert drill_vmids(admin) == [] and cli.lab.known_hosts.read_text() == known


def verdicts_or_journal(cli: Cli) -> tuple[str, dict[str, Any]]:
    """The newest verify-backups run's id and journal (a killed run has no report yet)."""
    runs = cli.home / ".partilha" / "state" / "partilha-dr" / "runs"
    folder = max(runs.glob("verify-backups-*"), key=lambda p: p.stat().st_mtime)
    return folder.name, json.loads((folder / "journal.json").read_text())
