"""`partilha dr run restore-guest` end to end on a throwaway lab, real archives, real SSH: data
written in a guest, two backups, the newest archive truncated, the guest destroyed; the restore
skips the broken archive (saying so), restores the one before byte for byte with the guest's own
host keys, verifies its baseline, and reports the RPO that archive achieved; `refresh` finds no
drift and `up` changes nothing. A drill beside the original joins no pool and leaves neither a
guest nor a pin. `dr plan` writes nothing; bad input is one clear line that changes nothing. A
guest a recovery moved goes back to its node. The gold tier (an HA guest) fails over to the DR site with every
primary node down, the run killed mid-restore and resumed: refusals first (primary answering, no
--fenced, unknown tier, not the memory), then out of HA, its data digest as recorded, RTO and RPO
per guest and tier, the stacks agreeing; then failback brings it home, into its HA group again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from proxmoxer import ProxmoxAPI

from partilha.deploy.fleet import Fleet
from partilha.deploy.hosts import build_hosts
from partilha.dr.digest import DIGEST
from partilha.inventory import guests, load_inventory
from partilha.lab import control

from .conftest import ROOT, Cli

pytestmark = pytest.mark.lab
GUEST, OTHER = "constancia-intranet", "constancia-dms"
# the data and the host keys: path, mode, owner, size, content hash
LISTING = ("sudo find /home/partilha/data /etc/ssh -xdev -printf '%p %m %u %g %s\\n' | sort; "
           "sudo find /home/partilha/data /etc/ssh -xdev -type f -exec sha256sum {} + | sort")


def ok(run: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert run.returncode == 0, f"{run.args}: {run.stderr}\n{run.stdout[-3000:]}"
    return run


def one_line(run: subprocess.CompletedProcess[str], words: str) -> None:
    assert run.returncode == 1, run.stdout + run.stderr
    assert words in run.stderr and "Traceback" not in run.stdout + run.stderr, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr


def task(api: ProxmoxAPI, upid: str) -> None:
    node = upid.split(":")[1]
    deadline = time.monotonic() + 600
    while (status := api.nodes(node).tasks(upid).status.get())["status"] != "stopped":
        assert time.monotonic() < deadline, upid
        time.sleep(0.3)
    assert status["exitstatus"] == "OK", api.nodes(node).tasks(upid).log.get()


def listing(cli: Cli) -> str:
    return ok(cli("ssh", GUEST, "--", LISTING)).stdout


def inventory_folder(cli: Cli) -> Path:
    config = yaml.safe_load((cli.project / "Pulumi.lab-platform.yaml").read_text())["config"]
    return Path(config["partilha:inventory"])


def constancia_baselined(cli: Cli, *services: str, ha: tuple[str, ...] = ()) -> tuple[dict[str, Any], Path]:
    """Constância with only `services` (keeps a module quick) made with the platform and its guests
    baselined: the guests' outputs and the fleet file that reaches them. Services in `ha` are
    HA-managed: the shared stack, which declares HA membership, is made too, without services of its
    own."""
    folder = inventory_folder(cli)
    data = yaml.safe_load((folder / "municipalities.yaml").read_text())
    for municipality in data["municipalities"]:
        if municipality["slug"] == "constancia":
            municipality["services"] = {s: {"ha": True} if s in ha else None for s in services}
        elif ha:  # their stacks are not made: the shared stack must not declare HA for their guests
            municipality["services"] = {k: {**(v or {}), "ha": False}
                                        for k, v in municipality["services"].items()}
    if ha:
        data["shared"]["services"] = {}
    (folder / "municipalities.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    cli.inventory = load_inventory(folder)
    ok(cli("up", "--only", "platform", "--only", "constancia", *(("--only", "shared") if ha else ())))
    guests = cli.outputs("lab-constancia")["guests"]
    fleet_file = cli.project / "fleet.json"
    hosts = build_hosts(cli.inventory, guests, {}, "lab", lab=True)
    key = cli.home / ".partilha" / "ssh" / "id_ed25519"
    Fleet("lab", tuple(hosts), cli.lab.known_hosts, key).save(fleet_file)
    ok(cli("deploy", "baseline", "--fleet", str(fleet_file)))
    return guests, fleet_file


def backup(cli: Cli, guest: str) -> None:
    made = ok(cli("backup", "now", guest))
    assert made.stdout.startswith(f"{guest}: lab-backup:backup/vzdump-lxc-"), made.stdout
    time.sleep(1.1)  # archives are named by the second


@pytest.fixture(scope="module")
def made(cli: Cli, admin: ProxmoxAPI) -> dict[str, Any]:
    """The platform and one municipality made; its guests baselined; one guest holding data,
    backed up twice (the data changed in between), the other once."""
    # a gold back end (HA-managed) and a bronze one
    guests, _ = constancia_baselined(cli, "dms", "intranet", ha=("dms",))
    vmid, node = guests[GUEST]["vmid"], guests[GUEST]["node"]
    backups = []
    for version in ("first", "second"):
        ok(cli("ssh", GUEST, "--", f"mkdir -p data && head -c 2000000 /dev/urandom > data/{version}.bin "
                                   f"&& echo {version} > data/version"))
        backups.append({"listing": listing(cli)})
        backup(cli, GUEST)
    content = sorted(admin.nodes(node).storage("lab-backup").content.get(vmid=vmid), key=lambda c: c["ctime"])
    for taken, item in zip(backups, content, strict=True):
        taken.update(volid=item["volid"], ctime=item["ctime"])
    return {"vmid": vmid, "node": node, "address": guests[GUEST]["address"], "backups": backups,
            "other": guests[OTHER]}


def test_plan_names_the_archives_and_writes_nothing_and_bad_input_is_one_line(
        cli: Cli, made: dict[str, Any]) -> None:
    since = cli.mark()
    plan = ok(cli("dr", "plan", "restore-guest", GUEST))
    newest, older = made["backups"][1]["volid"], made["backups"][0]["volid"]
    flat = " ".join(plan.stdout.split())
    for word in ("RB-RG-02", f"CT {made['vmid']} on {made['node']}", made["address"],
                 newest.split("/")[-1][:20], "nothing was changed"):
        assert word in flat, (word, plan.stdout)
    one_line(cli("dr", "run", "restore-guest", "constancia-intranett", "--yes"),
             "no guest 'constancia-intranett' in env lab; did you mean constancia-intranet")
    one_line(cli("dr", "run", "restore-guest", OTHER, "--yes"),
             f"guest {OTHER}: no backup on storage lab-backup; nothing to restore from")
    one_line(cli("dr", "run", "restore-gest", GUEST), "no runbook 'restore-gest'")
    one_line(cli("dr", "report", "restore-guest-20000101-000000-0000"), "no dr run")
    one_line(cli("backup", "now", "abrantes-dms"),  # its municipality's stack was never made
             "guest abrantes-dms: CT 10102 does not exist, nothing to back up")
    preflight = ok(cli("dr", "preflight", COLUMNS="200"))
    assert "missing" not in preflight.stdout and "API token of lab-constancia" in preflight.stdout
    assert [f"{e.method} {e.path}" for e in cli.calls(since) if e.write] == []
    assert older != newest


def test_backup_status_shows_each_guest_against_its_tier(cli: Cli, made: dict[str, Any]) -> None:
    since = cli.mark()
    shown = cli("backup", "status", "--json")
    assert shown.returncode == 1, shown.stderr  # constancia-dms has no backup: short
    found = {g["guest"]: g for g in json.loads(shown.stdout)["guests"]}
    mine = found[GUEST]
    assert (mine["tier"], mine["newest"], mine["kept"], mine["offsite"], mine["ok"]) == (
        "bronze", made["backups"][1]["volid"], 2, None, True)
    assert 0 < mine["age_s"] < mine["rpo_s"] == 168 * 3600
    assert (found[OTHER]["newest"], found[OTHER]["ok"]) == (None, False)
    assert found[OTHER]["offsite"] is False  # gold: an offsite copy is due, and there is none
    table = cli("backup", "status", COLUMNS="160")
    assert "constancia-intranet" in table.stdout and "guests no backup job covers" in table.stdout
    assert [f"{e.method} {e.path}" for e in cli.calls(since) if e.write] == []


def test_restore_skips_a_truncated_archive_and_brings_back_the_data_and_host_keys(
        cli: Cli, admin: ProxmoxAPI, made: dict[str, Any]) -> None:
    first, second = made["backups"]
    dump = cli.lab.state_dir / "storage" / "lab-backup" / "dump"
    newest = dump / second["volid"].split("/")[-1]
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    pinned = [line for line in cli.lab.known_hosts.read_text().splitlines()
              if line.startswith(made["address"] + " ")]
    node = admin.nodes(made["node"]).lxc(made["vmid"])
    task(admin, node.status.stop.post())
    task(admin, node.delete())  # the disaster: the guest and its disk are gone

    run = ok(cli("dr", "run", "restore-guest", GUEST, "--yes", timeout=900))
    flat = " ".join(run.stdout.split())
    assert "failed its check" in flat and "1 newer skipped" in flat, run.stdout
    assert listing(cli) == first["listing"]  # byte for byte, host keys included
    assert [line for line in cli.lab.known_hosts.read_text().splitlines()
            if line.startswith(made["address"] + " ")] == pinned
    [folder] = (cli.home / ".partilha" / "state" / "partilha-dr" / "runs").glob("restore-guest-*")
    report = json.loads((folder / "report.json").read_text())
    figures = report["figures"]
    [restored] = figures["restored"]
    assert restored["archive"] == first["volid"] and restored["skipped"][0]["archive"] == second["volid"]
    assert figures["rpo_s"] == pytest.approx(figures["disaster_at"] - first["ctime"], abs=0.01)
    assert figures["rto_target_s"] == 48 * 3600 and figures["rto_met"] is True
    checks = [c for s in report["journal"]["steps"] for c in s["checks"]]
    assert any("host key as pinned" in c for c in checks)
    assert any(c.startswith(f"verify baseline {GUEST}:") for c in checks)
    assert "preview lab-constancia: no change (firewall, tags, pool as the stack declares)" in checks
    assert "skipped" in (folder / "report.md").read_text() and (folder / "report.html").is_file()

    refresh = ok(cli("refresh", "--only", "constancia"))
    assert "no drift" in refresh.stdout, refresh.stdout
    assert "— 0 changes" in ok(cli("up", "--only", "constancia")).stdout


@contextmanager
def watched_guests(admin: ProxmoxAPI, seen: dict[int, dict[str, Any]]) -> Iterator[None]:
    """While the block runs, each guest /cluster/resources lists that was not there before goes
    into `seen` (vmid -> its last entry)."""
    before = {int(r["vmid"]) for r in admin.cluster.resources.get(type="vm")}
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.3):
            seen.update({int(r["vmid"]): r for r in admin.cluster.resources.get(type="vm")
                         if int(r["vmid"]) not in before})

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join(30)


def test_a_drill_beside_the_original_joins_no_pool_and_leaves_no_guest_and_no_pin(
        cli: Cli, admin: ProxmoxAPI, made: dict[str, Any]) -> None:
    before = {int(r["vmid"]) for r in admin.cluster.resources.get(type="vm")}
    known = cli.lab.known_hosts.read_text()
    copies: dict[int, dict[str, Any]] = {}
    with watched_guests(admin, copies):
        run = ok(cli("dr", "run", "restore-guest", GUEST, "--beside", "--yes", timeout=900))
    # the copy joined no municipality's pool: no drift in its stack, no rights for its token
    assert copies and all("pool" not in entry for entry in copies.values()), copies
    flat = " ".join(run.stdout.split())
    assert "RB-RG-04 Remove the drill copy and its pin" in flat and "succeeded" in flat
    assert {int(r["vmid"]) for r in admin.cluster.resources.get(type="vm")} == before
    assert cli.lab.known_hosts.read_text() == known
    assert listing(cli) == made["backups"][0]["listing"]  # the original untouched


def test_restore_municipality_brings_back_every_guest_back_ends_first(
        cli: Cli, made: dict[str, Any]) -> None:
    backup(cli, OTHER)
    run = ok(cli("dr", "run", "restore-municipality", "constancia", "--yes", timeout=900))
    flat = " ".join(run.stdout.split())
    assert flat.index(f"Restore {OTHER}") < flat.index(f"Restore {GUEST}"), run.stdout
    assert "RB-RM-05 Verify every guest" in flat and "succeeded" in flat
    assert listing(cli) == made["backups"][0]["listing"]  # the truncated newest skipped again
    [folder] = (cli.home / ".partilha" / "state" / "partilha-dr" / "runs").glob("restore-municipality-*")
    figures = json.loads((folder / "report.json").read_text())["figures"]
    assert sorted(r["guest"] for r in figures["restored"]) == [OTHER, GUEST]
    assert figures["rto_target_s"] == 2 * 3600 and figures["rto_met"] is True  # gold's, the strictest
    one_line(cli("dr", "plan", "restore-municipality", "constanca"),
             "no municipality 'constanca' in env lab; did you mean constancia?")


def test_a_guest_on_a_node_that_is_down_is_one_clear_line_and_nothing_changes(
        cli: Cli, made: dict[str, Any]) -> None:
    node = made["other"]["node"]
    control.set_node_online(cli.lab, node, False)
    try:
        since = cli.mark()
        started = time.monotonic()
        one_line(cli("dr", "run", "restore-guest", OTHER, "--yes"),
                 f"guest {OTHER}: CT {made['other']['vmid']} is on node {node}, which is offline")
        assert time.monotonic() - started < 60
        assert [f"{e.method} {e.path}" for e in cli.calls(since) if e.write] == []
    finally:
        control.set_node_online(cli.lab, node, True)


def test_with_a_node_down_the_stacks_say_so_at_once_and_restore_municipality_moves_its_guests(
        cli: Cli, admin: ProxmoxAPI, made: dict[str, Any]) -> None:
    node, vmid = made["other"]["node"], made["other"]["vmid"]
    control.set_node_online(cli.lab, node, False)
    try:
        since = cli.mark()
        for op in ("refresh", "preview", "up"):
            done = ok(cli(op, "--only", "constancia"))
            flat = " ".join(done.stdout.split())
            said = f"node {node} is offline; its guests CT {vmid} {OTHER} keep their state"
            assert said in flat, done.stdout
        assert "— 0 changes" in flat, done.stdout
        # each of the dead node's objects was asked about once per run, not retried to a deadline
        dead = [e for e in cli.calls(since) if e.path.startswith(f"/nodes/{node}/")]
        assert 0 < len(dead) <= 3 * 4, [e.path for e in dead]
        run = ok(cli("dr", "run", "restore-municipality", "constancia", "--yes", timeout=900))
        flat = " ".join(run.stdout.split())
        assert f"RB-RM-06 Give the guests of offline node {node} to live nodes" in flat, run.stdout
        assert f"config moved from {node} to" in flat and "RB-RM-05 Verify every guest" in flat
        [now] = [r for r in admin.cluster.resources.get(type="vm") if r["vmid"] == vmid]
        assert now["node"] != node and now["status"] == "running"
        assert listing(cli) == made["backups"][0]["listing"]
        assert "— 0 changes" in ok(cli("up", "--only", "constancia")).stdout
    finally:
        control.set_node_online(cli.lab, node, True)
    assert "— 0 changes" in ok(cli("up", "--only", "constancia")).stdout  # it stays where it came back
    forget_recovery(cli, OTHER)  # and goes back to its node when asked: a migration, not a replace
    assert "— 0 changes" in ok(cli("up", "--only", "constancia")).stdout
    moved = ok(cli("up", "--only", "constancia", "--rebalance"))
    assert "replace" not in moved.stdout and "delete" not in moved.stdout, moved.stdout
    [now] = [r for r in admin.cluster.resources.get(type="vm") if r["vmid"] == vmid]
    assert (now["node"], now["status"]) == (node, "running")
    for stack in ("constancia", "shared"):
        assert "— 0 changes" in ok(cli("up", "--only", stack)).stdout, stack


def records_digest(cli: Cli, guest: str) -> None:
    """partilha's vzdump hook for the lab's nodes (as `partilha deploy hypervisor` installs it), and
    in `guest` a data digest of its records (as a service deploy installs one), so each backup
    records the guest's data digest beside its archive."""
    conf = cli.lab.state_dir / "etc" / "vzdump.conf"
    conf.parent.mkdir(exist_ok=True)
    conf.write_text(f"script: {ROOT / 'backup' / 'hooks' / 'vzdump-partilha'}\n")
    script = "#!/bin/sh\ncat /srv/records/* | sha256sum | cut -d' ' -f1\n"
    ok(cli("ssh", guest, "--", "sudo mkdir -p /srv/records && echo 'doc 1' | sudo tee /srv/records/1 "
                               f">/dev/null && printf \"{script}\" | sudo tee {DIGEST} >/dev/null "
                               f"&& sudo chmod 755 {DIGEST}"))


@contextmanager
def edited(path: Path, change: Callable[[str], str]) -> Iterator[None]:
    """`path` changed by `change` for the block, as it was after."""
    before = path.read_text()
    after = change(before)
    assert after != before, path
    path.write_text(after)
    try:
        yield
    finally:
        path.write_text(before)


def sized(text: str, slug: str, service: str, memory_mib: int) -> str:
    """municipalities.yaml (`text`) with `slug`'s `service` given `memory_mib`."""
    data = yaml.safe_load(text)
    for municipality in data["municipalities"]:
        if municipality["slug"] == slug:
            municipality["services"][service] = {**(municipality["services"][service] or {}),
                                                 "memory_mib": memory_mib}
    return yaml.safe_dump(data, allow_unicode=True)


def forget_recovery(cli: Cli, guest: str) -> None:
    """The way back for a guest a recovery left on another node: its entry removed from
    `partilha:recoveredOn` in its stack's config and the shared stack's (README, *Back to its
    node*)."""
    for path in cli.project.glob("Pulumi.lab-*.yaml"):
        settings = yaml.safe_load(path.read_text())
        recorded = json.loads(settings["config"].get("partilha:recoveredOn") or "{}")
        if recorded.pop(guest, None) is not None:
            settings["config"]["partilha:recoveredOn"] = json.dumps(recorded) if recorded else None
            if not recorded:
                del settings["config"]["partilha:recoveredOn"]
            path.write_text(yaml.safe_dump(settings, sort_keys=False, allow_unicode=True))


def runs(cli: Cli) -> Path:
    return cli.home / ".partilha" / "state" / "partilha-dr" / "runs"


def journal(cli: Cli, runbook: str) -> tuple[str, dict[str, Any]]:
    """The newest run of `runbook`: its id and its journal."""
    found = max(runs(cli).glob(f"{runbook}-*/journal.json"), key=lambda p: p.stat().st_mtime)
    return found.parent.name, json.loads(found.read_text())


def killed_in(cli: Cli, argv: tuple[str, ...], runbook: str, step: str) -> str:
    """`partilha *argv` killed (SIGKILL) once `step` of its run has started: the run's id."""
    started = subprocess.Popen([str(ROOT / ".venv" / "bin" / "partilha"), *argv], cwd=cli.project,
                               env={**cli.env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while True:
            assert time.monotonic() < deadline and started.poll() is None, f"{step} never started"
            if list(runs(cli).glob(f"{runbook}-*/journal.json")) and any(
                    s["id"] == step and s["state"] == "running" for s in journal(cli, runbook)[1]["steps"]):
                break
            time.sleep(0.2)
        time.sleep(1.5)  # in the middle of it
    finally:
        os.killpg(started.pid, signal.SIGKILL)
        started.wait(30)
    return journal(cli, runbook)[0]


def test_failover_of_the_gold_tier_to_the_dr_site_with_every_primary_node_down(
        cli: Cli, admin: ProxmoxAPI, made: dict[str, Any]) -> None:
    vmid = made["other"]["vmid"]  # constancia-dms, gold, HA: its offsite copy at the DR site
    [where] = [r for r in admin.cluster.resources.get(type="vm") if r["vmid"] == vmid]
    records_digest(cli, OTHER)
    task(admin, admin.nodes(where["node"]).vzdump.post(vmid=vmid, storage="lab-backup-dr", compress="zstd"))
    assert admin.cluster.ha.resources(f"ct:{vmid}").get()["group"] == "partilha-primary"
    failover = ("dr", "run", "failover-site", "--from", "primary", "--to", "dr", "--tier", "gold")
    since = cli.mark()
    one_line(cli(*failover, "--fenced", "--yes"),
             "site primary still answers: nodes pve1, pve2, pve3 are online")
    primary = ("pve1", "pve2", "pve3")
    for node in primary:
        control.set_node_online(cli.lab, node, False)
    try:
        one_line(cli(*failover, "--yes"), "the nodes of site primary must be powered off (fenced)")
        one_line(cli(*failover, "--tier", "platinum", "--fenced", "--yes"), "--tier platinum: no such tier")
        folder = inventory_folder(cli)
        with edited(folder / "datacentre.yaml", lambda t: t.replace("site: dr, cpus: 2, memory_gib: 4",
                                                                    "site: dr, cpus: 2, memory_gib: 1")), \
                edited(folder / "municipalities.yaml", lambda t: sized(t, "constancia", "dms", 1100)):
            one_line(cli(*failover, "--fenced", "--yes"),
                     f"site dr has not the memory for {OTHER} (1100 MiB) (free: pve-dr1 1024 MiB); "
                     "nothing was changed")
        assert [f"{e.method} {e.path}" for e in cli.calls(since) if e.write] == []
        run_id = killed_in(cli, (*failover, "--fenced", "--yes"), "failover-site", "RB-FO-04.1")
        run = ok(cli("dr", "resume", run_id, "--yes", timeout=900))
        flat = " ".join(run.stdout.split())
        assert "RB-FO-02 Quorum" in flat and "RB-FO-07 Verify every guest" in flat, run.stdout
        steps = {s["id"]: s for s in journal(cli, "failover-site")[1]["steps"]}
        assert "pvecm expected 1 on pve-dr1" in steps["RB-FO-02"]["result"]
        assert f"ct:{vmid} out of HA (was in partilha-primary)" in steps["RB-FO-08"]["result"]
        [now] = [r for r in admin.cluster.resources.get(type="vm") if r["vmid"] == vmid]
        assert (now["node"], now["status"]) == ("pve-dr1", "running")
        assert admin.nodes("pve-dr1").lxc(vmid).config.get()["rootfs"].startswith("lab-guests-dr:")
        # pve-dr1 alone at its site: no HA there
        assert f"ct:{vmid}" not in [r["sid"] for r in admin.cluster.ha.resources.get()]
        report = runs(cli) / run_id
        figures = json.loads((report / "report.json").read_text())["figures"]
        [restored] = figures["restored"]
        assert (restored["guest"], restored["data"], restored["rto_met"], restored["rpo_met"]) == (
            OTHER, "ok", True, True)
        assert 0 < restored["rto_s"] <= figures["rto_s"] and restored["rto_target_s"] == 2 * 3600
        [tier] = figures["tiers"]
        assert (tier["tier"], tier["guests"], tier["rto_s"]) == ("gold", [OTHER], restored["rto_s"])
        assert f"{OTHER} (gold): restored from" in (report / "report.md").read_text()
        assert "tier gold (constancia-dms): RTO achieved" in (report / "report.html").read_text()
        for op in ("preview", "up"):  # the stacks agree: no replace, no duplicate, HA as it is
            for stack in ("constancia", "shared"):
                assert "— 0 changes" in ok(cli(op, "--only", stack)).stdout, (op, stack)
    finally:
        for node in primary:
            control.set_node_online(cli.lab, node, True)
    assert admin.cluster.status.get()[0]["quorate"] == 1
    assert "— 0 changes" in ok(cli("up", "--only", "constancia")).stdout
    assert [r["node"] for r in admin.cluster.resources.get(type="vm") if r["vmid"] == vmid] == ["pve-dr1"]


def test_failback_brings_the_gold_tier_home_and_the_stack_to_the_inventory(
        cli: Cli, admin: ProxmoxAPI, made: dict[str, Any]) -> None:
    vmid = made["other"]["vmid"]
    [home] = [g.node for g in guests(cli.inventory) if g.name == OTHER]
    one_line(cli("dr", "run", "failback", "--from", "dr", "--to", "dr", "--yes"),
             "--from and --to are both dr")
    run = ok(cli("dr", "run", "failback", "--from", "dr", "--to", "primary", "--yes", timeout=900))
    flat = " ".join(run.stdout.split())
    assert "RB-FB-06 Verify every guest and that none is left at dr" in flat, run.stdout
    [now] = [r for r in admin.cluster.resources.get(type="vm") if r["vmid"] == vmid]
    assert (now["node"], now["status"]) == (home, "running")
    assert admin.nodes(home).lxc(vmid).config.get()["rootfs"].startswith("lab-guests:")
    assert admin.cluster.ha.resources(f"ct:{vmid}").get()["group"] == "partilha-primary"
    for stack in ("constancia", "shared"):
        config = yaml.safe_load((cli.project / f"Pulumi.lab-{stack}.yaml").read_text())["config"]
        assert OTHER not in json.loads(config.get("partilha:recoveredOn") or "{}")
        assert "— 0 changes" in ok(cli("up", "--only", stack)).stdout
    report = runs(cli) / journal(cli, "failback")[0] / "report.json"
    [restored] = json.loads(report.read_text())["figures"]["restored"]
    assert restored["data"] == "ok"
