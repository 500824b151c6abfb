"""`partilha audit` end to end on a throwaway lab: one municipality with a guest and two with
none, made by `up` and backed up. Nothing in the pack, the token matrix or the backups fails;
what was not run here reads "not proven" (verify and probe: their results are read as tests/unit
reads them; the recoverability check: no `verify-backups` run), so the audit exits 3. A guest's
firewall turned off and a municipality's token granted another's pool, both through the API,
fail it (exit 1) naming each with its evidence row; `up` puts both back and it holds again.
Its HTML, opened in headless Chromium, shows the counts audit.json has."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest
import yaml
from proxmoxer import ProxmoxAPI

from partilha.lab.instance import LabInstance

from .conftest import Cli, lab_cli

pytestmark = pytest.mark.lab
GUESTS = ("abrantes-intranet",)
UNPROVEN = {"verify", "probe", "backup-recoverable"}
ARTEFACTS = Path(__file__).resolve().parents[2] / "artefacts"


def ok(run: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert run.returncode == 0, f"{run.args}: {run.stderr}\n{run.stdout[-3000:]}"
    return run


@pytest.fixture(scope="module")
def cli(lab: LabInstance, tmp_path_factory: pytest.TempPathFactory,
        subnet_pool: Callable[[int], list[IPv4Network]]) -> Cli:
    def one_guest(_work: Path, inventory: Path) -> None:
        tenants = yaml.safe_load((inventory / "municipalities.yaml").read_text())
        for tenant in tenants["municipalities"]:
            tenant["services"] = {"intranet": None} if f"{tenant['slug']}-intranet" in GUESTS else {}
        tenants["shared"]["services"] = {}
        (inventory / "municipalities.yaml").write_text(yaml.safe_dump(tenants, allow_unicode=True))

    return lab_cli(lab, tmp_path_factory.mktemp("audit"), subnet_pool, one_guest)


@pytest.fixture(scope="module")
def made(cli: Cli) -> Path:
    """The env made and its guest backed up; the reports' folder."""
    ok(cli("up"))
    for guest in GUESTS:
        ok(cli("backup", "now", guest))
    return cli.home / ".partilha" / "reports" / "lab"


def audited(cli: Cli, reports: Path, code: int) -> dict[str, Any]:
    run = cli("audit", COLUMNS="200")
    assert run.returncode == code, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    return {"run": run, "json": json.loads((reports / "audit.json").read_text())}


def rows(found: dict[str, Any], status: str) -> list[tuple[str, str, str]]:
    return [(i["id"], e["subject"], e["detail"]) for i in found["json"]["items"] for e in i["evidence"]
            if e["status"] == status]


def check_holds(found: dict[str, Any]) -> None:
    assert rows(found, "failed") == []
    unproven = {i["id"] for i in found["json"]["items"] if i["status"] == "not proven"}
    assert unproven == UNPROVEN, rows(found, "not proven")
    items = {i["id"]: i for i in found["json"]["items"]}
    assert items["PTL-POL-FW-01"]["status"] == "passed"
    assert items["access"]["status"] == "passed"
    # every token against every municipality's pool (three by three), and abrantes' guest, VNet
    # and storage
    access = items["access"]["evidence"]
    assert len([e for e in access if ": pool " in e["subject"]]) == 9
    assert {e["subject"].split(": ")[1].split()[0] for e in access} == {"pool", "guest", "VNet", "storage"}
    assert {e["status"] for e in access} == {"passed"}
    assert any(e["subject"] == "constancia -> abrantes: guest abrantes-intranet"
               and e["detail"].startswith("refused: 403") for e in access)
    assert any(e["subject"].startswith("abrantes -> abrantes: VNet ") and e["detail"].startswith("allowed")
               for e in access)
    assert items["backup-rpo"]["status"] == "passed"
    assert items["PTL-POL-IAM-03"]["status"] == "not applicable"  # a lab env
    for item in found["json"]["items"]:
        for e in item["evidence"]:
            assert e["source"] and (e["at"] or e["status"] == "not proven"), (item["id"], e)


def test_the_audit_holds_then_fails_on_what_was_broken_then_holds_after_up(
        cli: Cli, made: Path, admin: ProxmoxAPI) -> None:
    found = audited(cli, made, 3)
    check_holds(found)
    summary = found["json"]["summary"]
    assert set(summary) == {"NIS2", "ISO 27001", "RGPD", "CIS"}
    assert summary["CIS"]["passed"] > 0 and summary["NIS2"]["failed"] == 0
    page = (made / "audit.html").read_text()
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", page), "the page must work offline"

    guest = cli.outputs("lab-abrantes")["guests"]["abrantes-intranet"]
    token = cli.outputs("lab-platform")["tokens"]["abrantes"]["tokenid"]
    admin.nodes(guest["node"]).lxc(guest["vmid"]).firewall.options.put(enable=0)
    admin.access.acl.put(path="/pool/constancia", roles="PartilhaGuests", tokens=token)
    admin.access.acl.put(path="/pool/constancia", roles="PartilhaGuests", users="abrantes@pve")
    broken = audited(cli, made, 1)
    failed = rows(broken, "failed")
    assert ("PTL-POL-FW-01", "lab-abrantes abrantes-intranet-firewall",
            "guest abrantes-intranet's firewall is off") in failed, failed
    assert any(i == "access" and s == "abrantes -> constancia: pool constancia" and d.startswith("allowed")
               for i, s, d in failed), failed
    shown = broken["run"].stdout
    assert "PTL-POL-FW-01" in shown and "abrantes -> constancia: pool constancia" in shown

    ok(cli("up"))
    check_holds(audited(cli, made, 3))


def test_the_page_shows_the_counts_of_audit_json(cli: Cli, made: Path, tmp_path: Path) -> None:
    found = json.loads((made / "audit.json").read_text()) if (made / "audit.json").is_file() else \
        audited(cli, made, 3)["json"]
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium package (scripts/debian-packages.txt)"
    page = (made / "audit.html").as_uri()
    base = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
            f"--user-data-dir={tmp_path / 'profile'}"]
    ARTEFACTS.mkdir(exist_ok=True)
    shot = ARTEFACTS / "audit.png"
    dom = subprocess.run([*base, f"--screenshot={shot}", "--window-size=1280,2000", "--dump-dom", page],
                         check=True, capture_output=True, text=True, timeout=120).stdout  # one browser start
    assert shot.stat().st_size > 10_000
    shown = {(m[0], m[1]): int(m[2]) for m in re.findall(
        r"data-framework=\"([^\"]+)\" data-status=\"([^\"]+)\">(\d+)<", dom)}
    assert shown == {(f, s): n for f, counts in found["summary"].items() for s, n in counts.items()}
