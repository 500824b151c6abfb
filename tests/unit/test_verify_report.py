"""The verify report: a controls x hosts matrix, each failure with its message, each "not
applicable" with its reason, and hosts that refused the connection."""

from __future__ import annotations

import json
from pathlib import Path

from partilha.verify.isolation import Isolation, section
from partilha.verify.report import Outcome, Outcomes, markdown


def outcomes(unreachable: dict[str, str] | None = None) -> Outcomes:
    return Outcomes("lab", ("a-portal", "b-dms", "c-gis"), (
        Outcome("PTL-SSH-01", "a-portal", "passed"),
        Outcome("PTL-SSH-01", "b-dms", "failed", "sshd -T: {'passwordauthentication': 'yes'}"),
        Outcome("PTL-SSH-01", "c-gis", "failed", "refused: c-gis: its SSH host key is not the one pinned"),
        Outcome("PTL-AUD-01", "a-portal", "na", "audit is not namespaced"),
        Outcome("PTL-AUD-01", "b-dms", "na", "audit is not namespaced"),
    ), unreachable or {})


def test_matrix_failures_and_reasons() -> None:
    text = markdown(outcomes(), {"PTL-SSH-01": "SSH accepts public keys only"}, "2026-11-22 12:00")
    lines = text.splitlines()
    assert lines[0] == "# partilha verify: lab"
    assert "3 hosts, 2 controls; 1 passed, 2 failed, 2 not applicable; **controls fail**." in text
    assert "| Control | Title | a-portal | b-dms | c-gis |" in lines
    assert "| PTL-SSH-01 | SSH accepts public keys only | pass | **FAIL** | **FAIL** |" in lines
    assert "| PTL-AUD-01 |  | n/a | n/a | — |" in lines  # no outcome for c-gis: a dash
    assert "- **PTL-SSH-01** on **b-dms**: sshd -T: {'passwordauthentication': 'yes'}" in lines
    assert "- **PTL-AUD-01** on a-portal, b-dms: audit is not namespaced" in lines


def test_refused_hosts_are_listed_once_not_per_control() -> None:
    result = outcomes({"c-gis": "its SSH host key is not the one pinned"})
    text = markdown(result, {}, "now")
    assert "## Hosts refused or unreachable\n\n- **c-gis**: its SSH host key is not the one pinned" in text
    assert "on **c-gis**" not in text
    assert not result.ok and [o.host for o in result.failures] == ["b-dms", "c-gis"]


def test_all_passing_and_loading_the_tests_file(tmp_path: Path) -> None:
    path = tmp_path / "verify.json"
    path.write_text(json.dumps({"env": "lab", "hosts": ["a"], "unreachable": {}, "outcomes": [
        {"control": "PTL-SSH-01", "host": "a", "outcome": "passed", "message": "", "test": "t"}]}))
    loaded = Outcomes.load(path)
    assert loaded.ok and loaded.controls == ["PTL-SSH-01"]
    assert "all controls hold" in markdown(loaded, {}, "now")
    assert not Outcomes("lab", ("a",), (), {}).ok  # nothing tested proves nothing


def test_the_latest_probe_joins_the_report_or_its_absence_is_said(tmp_path: Path) -> None:
    assert Isolation.load(tmp_path) is None
    assert "No probe has run for this env yet (`partilha probe`)." in section(None)
    pairs = [{"from": "management", "to": "a-portal", "port": 22, "expected": "open", "observed": "open"},
             {"from": "a-portal", "to": "b-dms", "port": 443, "expected": "filtered", "observed": "open"},
             {"from": "b-dms", "to": "a-portal", "port": 443, "expected": "filtered", "observed": "filtered"}]
    (tmp_path / "probe.json").write_text(json.dumps({
        "env": "lab", "when": "2026-12-05 12:00:00 UTC", "pairs": pairs, "unexpected": [pairs[1]]}))
    found = Isolation.load(tmp_path)
    assert found is not None and not found.proven
    assert found.as_json() == {"when": "2026-12-05 12:00:00 UTC", "pairs": 3, "expected_open": 1,
                               "unexpected": ["a-portal -> b-dms:443 expected filtered, observed open"],
                               "proven": False}
    text = section(found)
    assert "latest probe (2026-12-05 12:00:00 UTC): 3 pairs, 1 expected open, the rest filtered; " \
           "**1 unexpected**" in text
    assert "- a-portal -> b-dms:443 expected filtered, observed open" in text.splitlines()
