"""The lab's import rules, read from the source (ast), so the tree keeps the shape it shows:

- outside the lab, code imports only the lab's public entry point (`from partilha.lab import
  <a name in partilha.lab.__all__>`); tests are the exception: they test the lab's internals and
  may import its area packages (the shared throwaway lab is the public `throwaway`), and so may
  bench/lab_guest_ready.py and bench/dr_restore.py, which measure the LXC backend alone (guests
  made ready; the restore pass);
- the machine backend (partilha/lab/machine/lxc/) imports nothing of the lab outside itself: no
  state, no routes, no area;
- in the lab, only the machine interface (partilha.lab.machine) imports the backend, and the
  interface imports nothing else of the lab;
- an area's state (`<area>/state.py`: what the store keeps) never reaches the machine: the apply
  modules beside it do;
- a route module (`routes_*.py`) is imported only where the routes are mounted
  (partilha/lab/server/routers.py), so never by another route module;
- the server (router, parameter formats, errors, tickets, tasks, ...) sits below the PVE areas:
  it imports none of them but access, whose permissions every route checks; only its two entry
  points, routers.py and __main__.py, assemble the areas;
- a PVE area is entered only through its package: the names in `partilha.lab.<area>.__all__` (its
  state, and the few functions and modules other areas use) are its public surface, and code of
  the lab outside the area imports the package or those names, never another module of the area
  (routers.py, which mounts every route module, aside); `<area>.<attribute>` reads only those names.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import partilha.lab

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "partilha" / "lab"
BACKEND = "partilha.lab.machine.lxc"
INTERFACE = "partilha.lab.machine"
OUTSIDE = ("partilha", "stacks", "deploys", "bench", "backup", "policies")
READS_INTERNALS = {ROOT / "bench" / "lab_guest_ready.py", ROOT / "bench" / "dr_restore.py"}
SERVER = "partilha.lab.server"
MOUNTS_ROUTES = f"{SERVER}.routers"
SERVER_ENTRY_POINTS = {MOUNTS_ROUTES, f"{SERVER}.__main__"}
AREAS = ("access", "backup", "cluster", "firewall", "guests", "ha", "sdn", "storage")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def lab_imports(path: Path) -> Iterator[tuple[int, str, str | None]]:
    """(line, module, name) of each import of the lab in `path`; `name` is None when the import
    names a module (a submodule imported by `from package import module` counts as one)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("partilha.lab"):
                    yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module \
                and node.module.startswith("partilha.lab"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if node.module != "partilha.lab" and is_module(sub):
                    yield node.lineno, sub, None
                else:
                    yield node.lineno, node.module, alias.name


def sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py")
                  if ".venv" not in p.parts and "__pycache__" not in p.parts)


def is_route_module(module: str) -> bool:
    return module.startswith("partilha.lab.") and module.rsplit(".", 1)[-1].startswith("routes_")


def reached(module: str, name: str | None) -> str:
    """The lab module an import reaches (`from partilha.lab import guests`: the guests area)."""
    return f"{module}.{name}" if module == "partilha.lab" and name else module


def area_of(module: str) -> str | None:
    """The PVE area a lab module belongs to (None: the server, the machine, the lab's root)."""
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[2] in AREAS else None


def test_outside_the_lab_only_its_public_entry_point_is_imported() -> None:
    public = set(partilha.lab.__all__)
    bad = [f"{p.relative_to(ROOT)}:{line}: {module}" + (f".{name}" if name else "")
           for p in sources(*OUTSIDE) if not p.is_relative_to(LAB) and p not in READS_INTERNALS
           for line, module, name in lab_imports(p)
           if module != "partilha.lab" or name not in public]
    assert bad == []


def test_the_machine_backend_imports_nothing_of_the_lab_but_itself() -> None:
    bad = [f"{p.relative_to(ROOT)}:{line}: {module}"
           for p in sources("partilha/lab/machine/lxc") for line, module, _ in lab_imports(p)
           if not module.startswith(BACKEND)]
    assert bad == []


def test_only_the_machine_interface_imports_the_backend() -> None:
    bad = [f"{p.relative_to(ROOT)}:{line}: {module}"
           for p in sources("partilha/lab") if not module_name(p).startswith(INTERFACE)
           for line, module, _ in lab_imports(p) if module.startswith(BACKEND)]
    assert bad == []


def test_the_machine_interface_imports_nothing_of_the_lab_but_its_backend() -> None:
    bad = [f"{line}: {module}" for line, module, _ in lab_imports(LAB / "machine" / "__init__.py")
           if not module.startswith(BACKEND)]
    assert bad == []


def test_an_area_s_state_imports_nothing_of_the_machine() -> None:
    states = sorted(LAB.glob("*/state.py"))
    assert len(states) >= 6  # the rule reads something
    bad = [f"{p.relative_to(ROOT)}:{line}: {module}" for p in states
           for line, module, _ in lab_imports(p) if module.startswith(INTERFACE)]
    assert bad == []


def test_route_modules_are_imported_only_where_the_routes_are_mounted() -> None:
    routes = [p for p in sources("partilha/lab") if is_route_module(module_name(p))]
    assert len(routes) > 20  # the rule reads something
    bad = [f"{p.relative_to(ROOT)}:{line}: {module}"
           for p in sources("partilha/lab") if module_name(p) != MOUNTS_ROUTES
           for line, module, _ in lab_imports(p) if is_route_module(module)]
    assert bad == []


def test_the_server_imports_no_area_but_access() -> None:
    server = [p for p in sources("partilha/lab/server") if module_name(p) not in SERVER_ENTRY_POINTS]
    assert len(server) > 10  # the rule reads something
    bad = [f"{p.relative_to(ROOT)}:{line}: {reached(module, name)}"
           for p in server for line, module, name in lab_imports(p)
           if area_of(reached(module, name)) not in (None, "access")]
    assert bad == []


@pytest.mark.parametrize("source, edge", [
    ("from partilha.lab.guests import routes_qemu\n", "routes_qemu"),
    ("from partilha.lab.machine.lxc.containers import GuestSpec\n", BACKEND),
    ("from partilha.lab.guests import qemu_config\n", "partilha.lab.guests.qemu_config"),
])
def test_the_rules_see_a_forbidden_edge(tmp_path: Path, source: str, edge: str) -> None:
    path = tmp_path / "module.py"
    path.write_text(source)
    assert any(edge in module for _, module, _ in lab_imports(path))


@pytest.mark.parametrize("module, area", [
    ("partilha.lab.guests.qemu_config", "guests"), ("partilha.lab.sdn", "sdn"),
    ("partilha.lab.server.params", None), ("partilha.lab.machine", None), ("partilha.lab.instance", None),
])
def test_a_module_s_area(module: str, area: str | None) -> None:
    assert area_of(module) == area


def public(area: str) -> set[str]:
    return set(getattr(importlib.import_module(f"partilha.lab.{area}"), "__all__", ()))


def area_edges(path: Path) -> Iterator[tuple[int, str]]:
    """(line, what) of each import of another PVE area's internals in `path`, and of each
    `<area>.<attribute>` that is not in the area's `__all__`."""
    tree = ast.parse(path.read_text(), str(path))
    own = area_of(module_name(path)) if path.is_relative_to(ROOT) else None
    bound: dict[str, str] = {}  # a name the module binds to an area package -> the area
    for line, module, name in lab_imports(path):
        target = reached(module, name)
        area = area_of(target)
        if area is None or area == own:
            continue
        if target == f"partilha.lab.{area}":
            if name is not None and module != "partilha.lab" and name not in public(area):
                yield line, f"{target}.{name}"
        elif target.count(".") != 3 or target.rsplit(".", 1)[-1] not in public(area):
            yield line, target
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "partilha.lab":
            bound.update({alias.asname or alias.name: alias.name for alias in node.names
                          if alias.name in AREAS and alias.name != own})
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in bound and node.attr not in public(bound[node.value.id]):
            yield node.lineno, f"{bound[node.value.id]}.{node.attr}"


def test_an_area_is_entered_only_through_its_package() -> None:
    lab = [p for p in sources("partilha/lab") if module_name(p) != MOUNTS_ROUTES]
    bad = [f"{p.relative_to(ROOT)}:{line}: {what}" for p in lab for line, what in area_edges(p)]
    assert bad == []


@pytest.mark.parametrize("source, edge", [
    ("from partilha.lab.guests.state import GuestRow\n", "partilha.lab.guests.state"),
    ("from partilha.lab.cluster import node_guard\n", "partilha.lab.cluster.node_guard"),
    ("from partilha.lab.guests import shape\n", "partilha.lab.guests.shape"),
    ("from partilha.lab import sdn\nsdn.sdn_config.view\n", "sdn.sdn_config"),
])
def test_the_area_rule_sees_a_forbidden_edge(tmp_path: Path, source: str, edge: str) -> None:
    path = tmp_path / "module.py"
    path.write_text(source)
    assert [what for _, what in area_edges(path)] == [edge]
