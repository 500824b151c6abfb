"""The services catalogue an inventory names (`catalogue: inventories/catalogue.yaml`, a path in
its repository), refined by the inventory's own `services:` entries (sizes, tiers, HA).

Without `catalogue:`, an inventory's `services:` is the whole catalogue, written out in full.
With it, each `services:` entry names a catalogue service and the fields this data centre sets
differently; the result is the inventory's `services`, and a problem in a field points at the
file that wrote it: the inventory where it overrides, the catalogue elsewhere."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partilha.inventory.errors import InventoryError, Problem
from partilha.inventory.source import Loc, SourceFile, dotted, read_yaml

# What a data centre may set differently; what a service is (role, number, scope, data class,
# exposure, ports) stays the catalogue's, so every data centre runs the same service.
OVERRIDABLE = ("cpus", "memory_mib", "disk_gib", "backup_tier", "ha")


@dataclass(frozen=True)
class Catalogue:
    source: SourceFile
    inventory: SourceFile | None  # the inventory file overriding entries, if it has `services:`

    def owner(self, loc: Loc) -> SourceFile:
        """The file that wrote the field at `loc` (a location under `services`)."""
        if self.inventory is not None and loc[:3] in self.inventory.lines:
            return self.inventory
        return self.source


def resolve(data: dict[str, Any], owners: dict[str, SourceFile], root: Path) -> Catalogue | None:
    """Replaces `catalogue` and the overrides in `data` by the services they make, or None when
    the inventory names no catalogue; InventoryError for a catalogue or override at fault."""
    if "catalogue" not in data:
        return None
    named, source = data.pop("catalogue"), owners["catalogue"]
    found = _find(named, root)
    if isinstance(found, str):
        raise InventoryError([Problem(source.path, "catalogue", found, source.line_of(("catalogue",)))])
    catalogue = Catalogue(read_yaml(found), owners.get("services"))
    services = _services(catalogue.source)
    overrides = data.get("services") or {}
    problems = _check_overrides(overrides, services, catalogue, named)
    if problems:
        raise InventoryError(problems)
    data["services"] = {name: {**entry, **(overrides.get(name) or {})} if isinstance(entry, dict)
                        else entry for name, entry in services.items()}
    return catalogue


def _find(named: Any, root: Path) -> Path | str:
    """The catalogue file `named`, or why not."""
    if not isinstance(named, str) or not named:
        return "must be a path in the repository, like inventories/catalogue.yaml"
    path = (root / named).resolve()
    if not path.is_relative_to(root.resolve()):
        return f"{named!r} is outside the repository {root}"
    if not path.is_file():
        return f"no catalogue at {root / named}"
    return path


def _services(source: SourceFile) -> dict[str, Any]:
    unknown = [key for key in source.data if key != "services"]
    if unknown:
        raise InventoryError([Problem(source.path, unknown[0], "unknown field (a catalogue holds "
                                      "`services` only)", source.line_of((unknown[0],)))])
    services = source.data.get("services")
    if not isinstance(services, dict) or not services:
        raise InventoryError([Problem(source.path, "services", "must map service names to services",
                                      source.line_of(("services",)))])
    return services


def _check_overrides(overrides: Any, services: dict[str, Any], catalogue: Catalogue,
                     named: str) -> list[Problem]:
    inventory = catalogue.inventory
    if inventory is None:
        return []

    def problem(loc: Loc, message: str) -> Problem:
        return Problem(inventory.path, dotted(loc), message, inventory.line_of(loc))

    if not isinstance(overrides, dict):
        return [problem(("services",), "with a catalogue, maps service names to the fields "
                                       "this data centre sets differently")]
    problems = []
    for name, fields in overrides.items():
        loc: Loc = ("services", name)
        if name not in services:
            problems.append(problem(loc, f"{name!r} is not in the catalogue {named}"))
        elif fields is not None and not isinstance(fields, dict):
            problems.append(problem(loc, "must map fields to their values here"))
        else:
            problems.extend(problem((*loc, field), f"cannot be set per data centre (only "
                                                   f"{', '.join(OVERRIDABLE)} can)")
                            for field in fields or {} if field not in OVERRIDABLE)
    return problems
