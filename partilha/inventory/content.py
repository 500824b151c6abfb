"""The content an inventory is checked against: the repository folder it belongs to, which holds
deploys/services/<role>.py for every service role and the services catalogue inventories name.

An inventory inside a repository (inventories/<name>/, tests/data/<case>/, a copy of the
repository) belongs to the nearest folder above it holding deploys/services/; one elsewhere (a
generated or relocated copy) belongs to the checkout partilha runs from."""

from __future__ import annotations

from pathlib import Path

from partilha.inventory.errors import InventoryError, Problem
from partilha.workspace import CHECKOUT

SERVICE_DEPLOYS = Path("deploys") / "services"


def content_root(folder: Path) -> Path:
    here = folder.resolve()
    for candidate in (*here.parents, CHECKOUT):
        if (candidate / SERVICE_DEPLOYS).is_dir():
            return candidate
    raise InventoryError([Problem(folder, "", f"no {SERVICE_DEPLOYS}/ folder above it or in "
                                              f"{CHECKOUT}: the service roles live there")])


def service_roles(root: Path) -> frozenset[str]:
    """The roles a service can have: deploys/services/<role>.py (files starting with _ are the
    deploys' shared code, not roles)."""
    return frozenset(p.stem for p in (root / SERVICE_DEPLOYS).glob("*.py") if not p.name.startswith("_"))
