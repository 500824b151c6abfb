"""The audit without a lab: how statuses fold (nothing in scope is "not applicable", missing or
old evidence "not proven", never "passed"), `pulumi policy analyze` over an exported state,
verify's and probe's results read as evidence, the report's three forms, and bad input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from partilha.audit import backups, credentials, hosts, network, report
from partilha.audit.analyzer import analyze
from partilha.audit.model import Evidence, Item, fold
from partilha.audit.run import Audit
from partilha.automation import envs, project
from partilha.automation.policy_gate import PACK, load_rules
from partilha.dr.evidence import newest
from partilha.dr.journal import dr_root
from partilha.dr.status import GuestStatus
from partilha.errors import UserError
from partilha.inventory import guests
from partilha.policy.rule import Control
from partilha.probe import matrix, outside
from partilha.probe.remote import Probe
from partilha.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
NIS2 = Control("NIS2", "art. 21(2)(g)", "basic cyber hygiene practices")
CIS = Control("CIS Debian 12", "5.2.10", "SSH root login is disabled")
TYPE = "pulumi-python:dynamic/proxmox:"


def evidence(status: str) -> Evidence:
    return Evidence("abrantes-dms", status, "seen", "GET /x", 1.0)  # type: ignore[arg-type]


def test_nothing_in_scope_is_not_applicable_and_missing_evidence_is_not_proven() -> None:
    assert fold([]) == "not applicable"
    assert fold(["not applicable", "not applicable"]) == "not applicable"
    assert fold(["passed", "not applicable"]) == "passed"
    assert fold(["passed", "not proven"]) == "not proven"
    assert fold(["not proven", "failed", "passed"]) == "failed"


def _audit(*items: Item) -> Audit:
    return Audit("lab", "inventories/lab", 1_700_000_000.0, list(items), [], {}, 1_700_000_060.0)


def test_the_summary_counts_controls_per_framework_and_the_page_is_offline() -> None:
    done = _audit(Item("PTL-SSH-03", "root login", "host control", True, (CIS, NIS2),
                       (evidence("passed"), evidence("failed"))),
                  Item("PTL-AUD-01", "auditd", "host control", True,
                       (Control("CIS Debian 12", "6.2.1", "auditd"),), (evidence("not applicable"),)),
                  Item("probe", "probe", "network", True, (Control("RGPD", "art. 32(1)(b)", "cia"),),
                       (evidence("not proven"),)),
                  Item("PTL-POL-HA-01", "ha", "policy rule", False,
                       (Control("ISO/IEC 27001:2022", "A.8.14", "r"),), (evidence("failed"),)))
    counts = report.summary(done)
    assert counts["CIS"] == {"passed": 0, "failed": 1, "not applicable": 1, "not proven": 0}
    assert counts["NIS2"]["failed"] == 1 and counts["RGPD"]["not proven"] == 1
    assert counts["ISO 27001"]["failed"] == 1
    assert [i.id for i in done.failed] == ["PTL-SSH-03"]  # the advisory HA rule does not fail the audit
    assert report.verdict(done) == "failed"
    page = report.page(done)
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", page) and "<script" not in page
    assert "data-framework='CIS' data-status='not applicable'>1<" in page
    text = report.markdown(done)
    assert "| CIS | 0 | 1 | 1 | 0 |" in text
    assert "| abrantes-dms | failed | seen | GET /x | 1970-01-01 00:00:01Z |" in text
    data = report.as_json(done)
    assert data["verdict"] == "failed" and data["frameworks"]["CIS"][0]["ref"] == "5.2.10"


def _resource(stack: str, kind: str, name: str, outputs: dict[str, Any]) -> dict[str, Any]:
    return {"urn": f"urn:pulumi:{stack}::partilha::{TYPE}{kind}::{name}", "type": f"{TYPE}{kind}",
            "custom": True, "outputs": outputs}


def _state(resources: list[dict[str, Any]]) -> dict[str, Any]:
    manifest = {"time": "2026-01-01T00:00:00Z", "magic": "", "version": "v3.260.0"}
    return {"version": 3, "deployment": {"manifest": manifest, "resources": resources}}


def test_pulumi_policy_analyze_runs_the_pack_over_a_stacks_exported_state(tmp_path: Path) -> None:
    stack = "lab-abrantes"
    resources = [
        {"urn": f"urn:pulumi:{stack}::partilha::pulumi:pulumi:Stack::partilha-{stack}",
         "type": "pulumi:pulumi:Stack", "outputs": {}},
        _resource(stack, "Guest", "abrantes-intranet", {"vmid": 10105, "node": "pve1"}),
        _resource(stack, "GuestFirewall", "abrantes-intranet-firewall",
                  {"vmid": 10105, "enable": False, "policy_in": "DROP", "rules": []})]
    config = {"partilha:env": "lab", "partilha:inventory": "inventories/lab"}
    found = analyze(Workspace(tmp_path), PACK, stack, config, _state(resources))
    off = [d for d in found if d.rule == "PTL-POL-FW-01"]
    assert [(d.level, d.urn.rsplit("::", 1)[1], d.message) for d in off] == [
        ("mandatory", "abrantes-intranet-firewall", "guest abrantes-intranet's firewall is off")]
    # the stack's env comes from PULUMI_CONFIG: without it the pack stops, and that is one line
    with pytest.raises(UserError, match=r"^stack lab-abrantes: the policy analysis failed: .*"
                                        r"`partilha:env` \(not set\) does not name its env$"):
        analyze(Workspace(tmp_path), PACK, stack, {}, _state(resources))


def test_a_pack_that_does_not_start_is_one_line(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    runtime = {"name": "python", "options": {"virtualenv": str(project.CHECKOUT / ".venv")}}
    (pack / "PulumiPolicy.yaml").write_text(yaml.safe_dump({"runtime": runtime}))
    (pack / "__main__.py").write_text("raise SystemExit('no rules here')\n")
    guest = _resource("lab-abrantes", "Guest", "abrantes-intranet", {"vmid": 10105})
    with pytest.raises(UserError, match=r"^stack lab-abrantes: the policy analysis failed: loading policy"):
        analyze(Workspace(tmp_path), pack, "lab-abrantes", {}, _state([guest]))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("PARTILHA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "home"


def _verify_json(env: envs.Env, outcomes: list[dict[str, str]], hosts_: list[str]) -> Path:
    path = env.workspace.reports(env.name) / "verify.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"env": env.name, "hosts": hosts_, "unreachable": {}, "outcomes": outcomes}))
    return path


def test_verify_results_missing_old_or_partial_prove_nothing(home: Path) -> None:
    env = envs.load_env("audit", ROOT / "inventories" / "lab", lab=True)
    missing = hosts.items(env, 3600)
    assert [(i.id, i.status) for i in missing] == [("verify", "not proven")]
    every = hosts.expected_hosts(env)
    outcomes = [{"control": "PTL-SSH-03", "host": h, "outcome": "passed", "test": f"t[{h}]"}
                for h in every[1:]]
    outcomes.append({"control": "PTL-AUD-01", "host": every[1], "outcome": "na",
                     "message": "audit is not namespaced"})
    path = _verify_json(env, outcomes, every[1:])
    found = {i.id: i for i in hosts.items(env, 3600)}
    ssh = found["PTL-SSH-03"]
    assert ssh.status == "not proven"  # the first node was not tested
    assert [e.detail for e in ssh.evidence if e.subject == every[0]] == ["verify did not test this host"]
    assert {e.status for e in ssh.evidence if e.subject != every[0]} == {"passed"}
    assert f"pytest t[{every[1]}]" in ssh.evidence[1].source
    audit_row = next(e for e in found["PTL-AUD-01"].evidence if e.subject == every[1])
    assert (audit_row.status, audit_row.detail) == ("not applicable", "audit is not namespaced")
    old = time.time() - 2 * 3600
    os.utime(path, (old, old))
    stale = {i.id: i for i in hosts.items(env, 3600)}["PTL-SSH-03"]
    assert {e.status for e in stale.evidence} == {"not proven"}
    assert "verify.json is 2.0 h old" in stale.evidence[1].detail


def test_a_probe_that_missed_a_guest_proves_nothing(home: Path) -> None:
    env = envs.load_env("audit", ROOT / "inventories" / "lab", lab=True)
    assert network.item(env, (NIS2,), 3600).status == "not proven"
    path = env.workspace.reports(env.name) / "probe.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    pair = {"from": "abrantes-dms", "to": "abrantes-portal", "port": 443, "expected": "open",
            "observed": "open"}
    path.write_text(json.dumps({"env": "audit", "ports": [443], "pairs": [pair]}))
    item = network.item(env, (NIS2,), 3600)
    assert item.status == "not proven" and "the probe did not try abrantes-crm" in item.evidence[0].detail


def test_outside_rows_with_nowhere_to_try_them_are_neither_passed_nor_failed(home: Path) -> None:
    env = envs.load_env("audit", ROOT / "inventories" / "lab", lab=True)
    placed = guests(env.inventory)
    inside, rows = matrix.pairs(env.inventory, placed), outside.pairs(env.inventory, placed, None)
    observed = {(p.source, p.target, p.port): p.expected for p in inside}
    observed |= {(p.source, p.target, p.port): outside.NOT_APPLICABLE for p in rows}
    probed = Probe("audit", matrix.ports(placed), inside + rows, observed, {}, 1.0, "now")
    path = env.workspace.reports(env.name) / "probe.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(probed.as_json()))
    item = network.item(env, (NIS2,), 3600)
    door = next(e for e in item.evidence if e.subject == "outside -> cim-medio-tejo-frontdoor")
    assert door.status == "not applicable" and item.status == "passed"


def test_each_guests_recoverability_is_its_newest_verify_backups_result_in_the_env(home: Path) -> None:
    env = envs.load_env("audit", ROOT / "inventories" / "lab", lab=True)
    root = dr_root(env.workspace)
    now = time.time()

    def proved() -> Evidence:
        verified = newest(root, env.name).get(("abrantes-dms", "primary"))
        guest = GuestStatus("abrantes-dms", 1000, "silver", "v", now - 60, 60.0, 86400.0, 1, 7, None,
                            verified)
        return backups.recoverability(guest, now)

    def run(run_id: str, env_name: str, finished: float, recoverable: bool, data: str = "ok") -> None:
        folder = root / "runs" / run_id
        folder.mkdir(parents=True)
        journal = {"run_id": run_id, "runbook": "verify-backups", "env": env_name, "outcome": "succeeded",
                   "started": finished - 60, "finished": finished}
        checked = {"guest": "abrantes-dms", "site": "primary", "archive": f"{run_id}.tar.zst",
                   "recoverable": recoverable, "why": [] if recoverable else ["data: mismatch"], "data": data}
        report = {"journal": journal, "figures": {"backups": [checked]}}
        (folder / "report.json").write_text(json.dumps(report))

    assert proved().status == "not proven"  # no run yet
    run("verify-backups-1", "audit", now - 3600, True)
    run("verify-backups-2", "other", now - 1800, False)  # another env's run says nothing of this one
    found = proved()
    assert (found.status, found.at) == ("passed", now - 3600) and "verify-backups-1" in found.source
    assert "its data matched" in found.detail
    run("verify-backups-2b", "audit", now - 1200, True, data="not recorded")  # a static site: no records
    assert proved().status == "passed" and "no data digest was recorded to match" in proved().detail
    run("verify-backups-3", "audit", now - 60, False)
    assert proved().status == "failed" and "data: mismatch" in proved().detail


def test_a_recoverability_check_older_than_the_limit_proves_nothing(home: Path) -> None:
    old = {"run": "verify-backups-1", "verified_at": time.time() - backups.RECOVERY_MAX_AGE - 60,
           "archive": "a.tar.zst", "recoverable": True}
    guest = GuestStatus("abrantes-dms", 1000, "silver", "v", 0.0, 60.0, 86400.0, 1, 7, None, old)
    assert backups.recoverability(guest, time.time()).status == "not proven"


def test_root_at_pam_fails_outside_the_lab_and_is_not_applicable_in_it(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rule = next(r for r in load_rules() if r.id == "PTL-POL-IAM-03")
    monkeypatch.setenv("PROXMOX_VE_ENDPOINT", "https://pve.example.invalid:8006/")
    monkeypatch.setenv("PROXMOX_VE_API_TOKEN", "root@pam!ops=" + "0" * 36)
    prod = credentials.root_item(envs.load_env("prod", ROOT / "inventories" / "lab"), rule)
    rows = {e.subject: e for e in prod.evidence}
    assert prod.status == "failed" and rows["prod-platform"].status == "failed"
    assert rows["prod-platform"].detail.startswith("PTL-POL-IAM-03: prod-platform would act as root@pam")
    # a municipality's stack acts with its own token, which the store does not have yet
    assert rows["prod-abrantes"].status == "not proven" and "no API token" in rows["prod-abrantes"].detail
    monkeypatch.setenv("PROXMOX_VE_API_TOKEN", "partilha@pve!admin=" + "0" * 36)
    named = credentials.root_item(envs.load_env("prod", ROOT / "inventories" / "lab"), rule)
    assert {e.subject: e.status for e in named.evidence}["prod-shared"] == "passed"
    lab = credentials.root_item(envs.load_env("audit", ROOT / "inventories" / "lab", lab=True), rule)
    assert lab.status == "not applicable"


def _partilha(cwd: Path, home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_VE_", "PULUMI_"))}
    return subprocess.run([str(ROOT / ".venv" / "bin" / "partilha"), "audit", *args], cwd=cwd,
                          env={**environ, "PARTILHA_HOME": str(home), "NO_COLOR": "1", **extra},
                          capture_output=True, text=True, timeout=300, check=False)


def one_line(run: subprocess.CompletedProcess[str], words: str) -> None:
    assert run.returncode == 1, run.stdout + run.stderr
    assert words in run.stderr and "Traceback" not in run.stdout + run.stderr, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    one_line(_partilha(tmp_path, home, "--env", "nosuch"), "env nosuch: no stack config")
    one_line(_partilha(tmp_path, home, "--env", "Bad_Env"), "--env 'Bad_Env'")
    # a lab env whose stacks hold nothing yet (the lab's credentials are never called)
    lab = {"PROXMOX_VE_ENDPOINT": "https://127.0.0.1:9/",
           "PROXMOX_VE_API_TOKEN": "partilha@pve!admin=" + "0" * 36}
    made = _partilha(tmp_path, home, "--env", "empty", "--inventory", str(ROOT / "inventories" / "lab"),
                     **lab)
    one_line(made, "env empty: no stack has any state yet")


def test_a_production_env_never_falls_back_to_the_lab(tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "project"
    (home / ".partilha" / "lab").mkdir(parents=True)
    (home / ".partilha" / "lab" / "credentials.json").write_text(json.dumps(
        {"token_id": "root@pam!lab", "token_secret": "s", "port": 8006}))
    project.write_project(work)
    config = {"partilha:env": "prod", "partilha:inventory": str(ROOT / "inventories" / "lab")}
    (work / "Pulumi.prod-platform.yaml").write_text(yaml.safe_dump({"config": config}))
    one_line(_partilha(work, home, "--env", "prod"), "no Proxmox VE credentials: set PROXMOX_VE_ENDPOINT")
