"""verify-backups' per-guest results in the dr report: a row per guest and site in Markdown and
HTML (escaped), the list in the JSON's figures; a restore run's report has no such table."""

from __future__ import annotations

import json
from pathlib import Path

from partilha.dr import report
from partilha.dr.journal import Journal, StepRecord

BAD = {"guest": "abrantes-dms", "site": "primary", "age_s": 10.0, "checksum": "mismatch", "boot": None,
       "service": None, "data": None, "seconds": 1.0, "recoverable": False, "why": ["sha256 <x> differs"]}


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
    good = {**BAD, "checksum": "ok", "boot": True, "service": True, "data": "ok", "seconds": 41.4,
            "restore_s": 12.2, "boot_s": 8.6, "checks_s": 19.9, "recoverable": True, "why": []}
    made = journal("verify-backups", {"backups": [good]})
    assert "| ok | ok | ok | 41 (restore 12, boot 9, checks 20) | yes |" in report.markdown(made)
    assert "<td>41 (restore 12, boot 9, checks 20)</td>" in report.page(made)


def test_a_restore_report_has_no_backups_table() -> None:
    made = journal("restore-guest", {})
    assert "<th>checksum</th>" not in report.page(made) and "| guest | site |" not in report.markdown(made)
