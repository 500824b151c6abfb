"""One services catalogue (inventories/catalogue.yaml) that inventories name and refine per data
centre, and service roles that exist because their deploy file does: a newcomer adds a role in a
copy of the repository without touching partilha/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from partilha.inventory import InventoryError, guests, load_inventory

ROOT = Path(__file__).resolve().parents[2]
VALID = ROOT / "tests" / "data" / "valid"
PARTILHA = Path(sys.executable).parent / "partilha"
NO_COLOUR = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}


def inventory_with(tmp_path: Path, services: str) -> Path:
    """tests/data/valid with its own services.yaml replaced by `services`."""
    folder = tmp_path / "inventory"
    folder.mkdir()
    for path in VALID.glob("*.yaml"):
        if path.name != "services.yaml":
            shutil.copy(path, folder)
    (folder / "services.yaml").write_text(services)
    return folder


def problem(folder: Path) -> str:
    with pytest.raises(InventoryError) as err:
        load_inventory(folder)
    assert len(err.value.problems) == 1, err.value
    return str(err.value.problems[0])


def test_an_inventory_naming_the_catalogue_gets_its_services_with_its_own_settings(
        tmp_path: Path) -> None:
    """valid/services.yaml is a catalogue too (a catalogue holds `services` only)."""
    folder = inventory_with(tmp_path, "catalogue: tests/data/valid/services.yaml\n"
                                      "services:\n  dms: { memory_mib: 640, backup_tier: silver }\n")
    inv, inline = load_inventory(folder), load_inventory(VALID)
    assert inv.services["dms"].model_dump() == {**inline.services["dms"].model_dump(),
                                                "memory_mib": 640, "backup_tier": "silver"}
    assert {k: v for k, v in inv.services.items() if k != "dms"} == \
        {k: v for k, v in inline.services.items() if k != "dms"}
    assert [(g.name, g.vmid, g.address) for g in guests(inv)] == \
        [(g.name, g.vmid, g.address) for g in guests(inline)]


CASES = {
    "not-found": ("catalogue: tests/data/nowhere.yaml\n",
                  "services.yaml:1: catalogue: no catalogue at"),
    "outside-the-repository": ("catalogue: ../../etc/hosts\n",
                               "services.yaml:1: catalogue: '../../etc/hosts' is outside the repository"),
    "unknown-service": ("catalogue: tests/data/valid/services.yaml\nservices:\n  portl: { cpus: 2 }\n",
                        "services.yaml:3: services.portl: 'portl' is not in the catalogue "
                        "tests/data/valid/services.yaml"),
    "identity-not-overridable": ("catalogue: tests/data/valid/services.yaml\nservices:\n"
                                 "  portal:\n    cpus: 2\n    number: 9\n",
                                 "services.yaml:5: services.portal.number: cannot be set per data "
                                 "centre (only cpus, memory_mib, disk_gib, backup_tier, ha can)"),
    "bad-override": ("catalogue: tests/data/valid/services.yaml\nservices:\n  dms:\n    memory_mib: 32\n",
                     "services.yaml:4: services.dms.memory_mib: 32: input should be greater than or "
                     "equal to 64"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_catalogue_or_override_at_fault_is_named_in_the_inventory(case: str, tmp_path: Path) -> None:
    services, expected = CASES[case]
    folder = inventory_with(tmp_path, services)
    assert problem(folder).startswith(f"{folder}/{expected}")


def test_a_fault_in_the_catalogue_is_named_in_the_catalogue(tmp_path: Path) -> None:
    """The catalogue of the memory-below-minimum case (intranet: 32 MiB, line 54); overriding that
    very field in the inventory makes it the inventory's."""
    catalogue = ROOT / "tests" / "data" / "memory-below-minimum" / "services.yaml"
    folder = inventory_with(tmp_path, f"catalogue: {catalogue.relative_to(ROOT)}\n")
    assert problem(folder) == (f"{catalogue}:54: services.intranet.memory_mib: 32: input should be "
                               "greater than or equal to 64")
    (folder / "services.yaml").write_text(f"catalogue: {catalogue.relative_to(ROOT)}\n"
                                          "services:\n  intranet: { memory_mib: 512 }\n")
    assert load_inventory(folder).services["intranet"].memory_mib == 512


LIBRARY = '''"""Biblioteca municipal: the library catalogue kept by the records app, behind nginx with TLS."""

from deploys.services._web_service import App, WebService, deploy

SERVICE = WebService(role="library", title="Biblioteca municipal", app=App("books"))

deploy(SERVICE)
'''
LIBRARY_ENTRY = '''  library:
    number: 8
    role: library
    description: "Catálogo da biblioteca municipal"
    cpus: 1
    memory_mib: 512
    disk_gib: 4
    data_class: internal
    exposure: internal
    ports: [443]
    backup_tier: bronze
'''


def validate(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PARTILHA, "inventory", "validate", str(folder)], capture_output=True,
                          text=True, env=NO_COLOUR, timeout=120, check=False, cwd=folder)


def test_a_new_service_role_needs_no_edit_of_partilha(tmp_path: Path) -> None:
    """In a copy of the repository's content (deploys/ and inventories/, no partilha/): a deploy
    file, a catalogue entry and a municipality running it are all a new role takes."""
    repo = tmp_path / "repo"
    for folder in ("deploys", "inventories"):
        shutil.copytree(ROOT / folder, repo / folder)
    (repo / "deploys" / "services" / "library.py").write_text(LIBRARY)
    catalogue = repo / "inventories" / "catalogue.yaml"
    catalogue.write_text(catalogue.read_text() + LIBRARY_ENTRY)
    municipalities = repo / "inventories" / "lab" / "municipalities.yaml"
    text = municipalities.read_text()
    assert text.count("      intranet:\n  - slug: ferreira-do-zezere") == 1
    municipalities.write_text(text.replace("      intranet:\n  - slug: ferreira-do-zezere",
                                           "      intranet:\n      library:\n  - slug: ferreira-do-zezere"))
    assert not (repo / "partilha").exists()

    run = validate(repo / "inventories" / "lab")
    assert (run.returncode, run.stderr) == (0, ""), run.stderr
    assert "17 guests" in run.stdout
    library = {g.name: g for g in guests(load_inventory(repo / "inventories" / "lab"))}["constancia-library"]
    assert (library.vmid, str(library.address)) == (10308, "10.103.0.18/24")

    (repo / "deploys" / "services" / "library.py").unlink()
    run = validate(repo / "inventories" / "lab")
    line = catalogue.read_text().splitlines().index("    role: library") + 1
    assert run.returncode == 2
    assert run.stderr == (f"invalid inventory: {catalogue}:{line}: services.library.role: 'library' "
                          "has no deploy: deploys/services/library.py does not exist\n")
