"""The control catalogues: well-formed IDs, mapped, each proved by exactly one infra test, and
the table committed in deploys/README.md equal to the one generated from them."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from partilha.controls import Control
from partilha.deploy.catalogue import (
    all_controls,
    catalogues,
    controls_of,
    load_controls,
    markdown_table,
    readme_table,
)
from partilha.errors import UserError

ROOT = Path(__file__).resolve().parents[2]
MARKED = re.compile(r"""control\(\s*["'](PTL-[A-Z0-9-]+)["']""")


def test_readme_table_is_the_generated_one() -> None:
    committed = readme_table((ROOT / "deploys" / "README.md").read_text())
    assert committed is not None, "deploys/README.md has no controls table"
    assert committed == markdown_table(catalogues()), (
        "deploys/README.md is stale: regenerate its table with `partilha deploy controls --markdown`")


def test_every_control_has_exactly_one_infra_test() -> None:
    marked = Counter(m for path in sorted((ROOT / "tests" / "infra").glob("test_*.py"))
                     for m in MARKED.findall(path.read_text()))
    controls = set(all_controls())
    assert sorted(controls - set(marked)) == [], "controls without a test"
    assert sorted(set(marked) - controls) == [], "tests of unknown controls"
    assert [c for c, n in marked.items() if n > 1] == [], "controls with more than one test"


def test_baseline_controls_are_identified_and_mapped() -> None:
    controls = load_controls().CONTROLS
    assert all(re.fullmatch(r"PTL-[A-Z]+-\d\d", c.id) for c in controls)
    assert len({c.id for c in controls}) == len(controls)
    assert [c.id for c in controls if not (c.devsec or c.cis)] == []
    assert all(0 < c.impact <= 1 and c.title and c.rationale for c in controls)


def test_not_applicable_says_why() -> None:
    by_id = load_controls().BY_ID
    assert by_id["PTL-ACC-01"].not_applicable("node", False).startswith("nodes keep root's key login")
    assert by_id["PTL-ACC-01"].not_applicable("guest", True) is None
    assert "audit subsystem is not namespaced" in by_id["PTL-AUD-01"].not_applicable("node", True)
    assert by_id["PTL-AUD-01"].not_applicable("node", False) is None
    assert by_id["PTL-NET-01"].not_applicable("guest", True) is None  # per network namespace


def test_sshd_values_belong_to_ssh_controls() -> None:
    c = load_controls()
    assert set(c.SSHD) <= {x.id for x in c.CONTROLS if x.id.startswith("PTL-SSH-")}
    assert all(k == k.lower() for values in c.SSHD.values() for k in values)  # `sshd -T` spelling


def test_every_catalogue_declares_partilha_controls() -> None:
    assert all(isinstance(c, Control) for c in all_controls().values())


def test_a_catalogue_of_something_else_is_refused_naming_its_file() -> None:
    module = ModuleType("deploys.backup_controls")
    module.__file__ = "deploys/backup_controls.py"
    module.CONTROLS = (load_controls().CONTROLS[0], {"id": "PTL-BAK-01"})  # type: ignore[attr-defined]
    with pytest.raises(UserError, match=r"^deploys/backup_controls.py: CONTROLS\[1\] is a dict, not a "
                                        r"partilha.controls.Control$"):
        controls_of(module)
    module.CONTROLS = [load_controls().CONTROLS[0]]  # type: ignore[attr-defined]
    with pytest.raises(UserError, match="CONTROLS must be a tuple"):
        controls_of(module)
