"""Loads an inventory folder: YAML files -> pydantic models -> cross-field rules."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from partilha.inventory import catalogue, rules
from partilha.inventory.content import content_root, service_roles
from partilha.inventory.errors import InventoryError, Problem
from partilha.inventory.models import Inventory
from partilha.inventory.source import Loc, SourceFile, dotted, read_yaml


def load_inventory(folder: Path | str) -> Inventory:
    """The inventory in `folder`, or InventoryError naming every file, field and line at fault.

    Each top-level key (datacentre, storage, networks, backup, services, municipalities,
    shared, catalogue, and the optional flows) lives in exactly one of the folder's YAML files; the reference
    inventories keep one concern per file. Service roles and the catalogue come from the
    repository the folder belongs to (content.py)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InventoryError([Problem(folder, "", "not an inventory folder (a directory of YAML files)")])
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    if not files:
        raise InventoryError([Problem(folder, "", "holds no YAML files")])
    owners: dict[str, SourceFile] = {}
    data: dict[str, Any] = {}
    for path in files:
        source = read_yaml(path, folder)
        for key, value in source.data.items():
            if key in owners:
                raise InventoryError([Problem(path, key, f"already defined in {owners[key].path}",
                                              source.line_of((key,)))])
            owners[key], data[key] = source, value
    root = content_root(folder)
    services = catalogue.resolve(data, owners, root)

    def owner(loc: Loc) -> SourceFile | None:
        if services is not None and loc[:1] == ("services",):
            return services.owner(loc)
        return owners.get(str(loc[0])) if loc else None

    try:
        inventory = Inventory.model_validate(data)
    except ValidationError as exc:
        raise InventoryError([_problem(_loc(err["loc"]), _message(err), folder, owner)
                              for err in exc.errors()]) from None
    findings = rules.check(inventory, service_roles(root))
    if findings:
        raise InventoryError([_problem(loc, message, folder, owner) for loc, message in findings])
    return inventory


def _problem(loc: Loc, message: str, folder: Path,
             owner: Callable[[Loc], SourceFile | None]) -> Problem:
    source = owner(loc)
    if source is None:
        return Problem(folder, dotted(loc), message)
    return Problem(source.path, dotted(loc), message, source.line_of(loc))


def _loc(raw: tuple[str | int, ...]) -> Loc:
    return tuple(part for part in raw if part != "[key]")


def _message(err: Any) -> str:
    kind, msg, value = err["type"], err["msg"], err.get("input")
    if kind == "missing":
        return "missing (required)"
    if kind == "extra_forbidden":
        return "unknown field"
    msg = str(msg).removeprefix("Value error, ")
    if kind == "value_error" or isinstance(value, dict | list) or value is None:
        return msg
    return f"{value!r}: {str(msg)[0].lower()}{str(msg)[1:]}"
