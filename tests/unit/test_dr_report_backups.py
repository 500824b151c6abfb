"""verify-backups' per-guest results in the dr report: a row per guest and site in Markdown and
HTML (escaped), the list in the JSON's figures; a restore run's report has no such table."""

from __future__ import annotations

import json
from pathlib import Path

from partilha.dr import report
from partilha.dr.journal import Journal, StepRecord

BAD = {"guest": "abrantes-dms", "site": "primary", "backup_at": -10.0, "age_s": 10.0, "checksum": "mismatch",
       "boot": None, "service": None, "data": None, "seconds": 1.0, "recoverable": False,
       "why": ["sha256 <x> differs"]}
GOOD = {**BAD, "checksum": "ok", "boot": True, "service": True, "data": "ok", "seconds": 41.4,
        "restore_s": 12.2, "boot_s": 8.6, "checks_s": 19.9, "recoverable": True, "why": []}


def journal(runbook: str, facts: dict[str, object]) -> Journal:
    return Journal(f"{runbook}-20261205-000000-abcd", runbook, [], {}, "lab", 0.0, 0.0, "the run's start",
                   facts, [StepRecord("RB-VB-01", "a step", False)])


def test_each_backup_is_a_row_and_its_json_fields(tmp_path: Path) -> None:
    made = journal("verify-backups", {"backups": [BAD]})
    assert "| abrantes-dms | primary | 10.0 s | mismatch | — | — | — | 1 | NO: sha256 <x> differs |" \
        in report.markdown(made)
    assert "NO: sha256 &lt;x&gt; differs" in report.page(made)
    _, js, _ = report.write(made, tmp_path)
    assert json.loads(js.read_text())["figures"]["backups"] == [BAD]


def test_a_restored_backups_seconds_say_how_much_was_restore_boot_and_checks() -> None:
    made = journal("verify-backups", {"backups": [GOOD]})
    assert "| ok | ok | ok | 41 (restore 12, boot 9, checks 20) | yes |" in report.markdown(made)
    assert "<td>41 (restore 12, boot 9, checks 20)</td>" in report.page(made)


def test_the_rpo_achieved_is_the_age_at_the_runs_start_of_the_oldest_backup_verified() -> None:
    # the run started at 0.0: backups made 15 and 5 minutes before it
    verified = [{**GOOD, "guest": "abrantes-dms", "backup_at": -900.0},
                {**GOOD, "guest": "abrantes-crm", "backup_at": -300.0}]
    made = journal("verify-backups", {"backups": verified})
    assert report.figures(made)["rpo_s"] == 900.0
    assert "RPO 15.0 min" in report.summary(made) and "RPO 15.0 min" in report.markdown(made)
    # a backup that does not restore achieves no RPO: no figure, rather than a better one
    failed = journal("verify-backups", {"backups": [*verified, {**BAD, "backup_at": -60.0}]})
    assert report.figures(failed)["rpo_s"] is None


def test_a_restore_report_has_no_backups_table() -> None:
    made = journal("restore-guest", {})
    assert "<th>checksum</th>" not in report.page(made) and "| guest | site |" not in report.markdown(made)
