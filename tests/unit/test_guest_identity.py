"""Guest identity: a guest's vmid and address never move (vmid is replace-on: a new vmid destroys
and re-creates the guest) and never collide."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from partilha.inventory import guests, load_inventory

ROOT = Path(__file__).resolve().parents[2]
RECORDED = yaml.safe_load((ROOT / "tests" / "data" / "guest-identities.yaml").read_text())
REFERENCE = sorted(path for path in (ROOT / "inventories").iterdir() if path.is_dir())


@pytest.mark.parametrize("folder", REFERENCE, ids=lambda folder: folder.name)
def test_every_reference_guest_keeps_its_recorded_vmid_and_address(folder: Path) -> None:
    now = {g.name: {"vmid": g.vmid, "address": str(g.address)} for g in guests(load_inventory(folder))}
    assert now == RECORDED[folder.name]


def test_the_record_covers_every_reference_inventory() -> None:
    assert sorted(RECORDED) == [folder.name for folder in REFERENCE]
