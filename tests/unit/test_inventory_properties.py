"""Whatever is wrong with an inventory, loading it ends in InventoryError and nothing else.

The property tests mutate the valid inventory's data at random (delete a key, give a field a value
of another type, duplicate or swap list entries, change a number or a text, rename a key), write
it back as YAML and load it. The YAML tests feed the loader what YAML can say but data cannot.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import event, given, settings
from hypothesis import strategies as st

from partilha.inventory import Inventory, InventoryError, load_inventory

VALID = Path(__file__).resolve().parents[1] / "data" / "valid"
FILES: dict[str, dict[str, Any]] = {
    path.name: yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(VALID.glob("*.yaml"))}

DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's is faster, when there
TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
NUMBERS = st.integers(-(2**70), 2**70) | st.floats()
JSONISH = st.recursive(
    st.none() | st.booleans() | NUMBERS | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=5)

Slot = tuple[dict[str, Any] | list[Any], Any]  # a container and one of its keys or indexes


def slots(node: Any) -> Iterator[Slot]:
    """Every place in `node` that holds a value, outermost first."""
    keys = node.keys() if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else ()
    for key in list(keys):
        yield node, key
        yield from slots(node[key])


def delete(draw: st.DrawFn, box: Any, key: Any) -> None:
    del box[key]


def replace(draw: st.DrawFn, box: Any, key: Any) -> None:
    box[key] = draw(JSONISH)


def renumber(draw: st.DrawFn, box: Any, key: Any) -> None:
    box[key] = draw(NUMBERS)


def retext(draw: st.DrawFn, box: Any, key: Any) -> None:
    box[key] = draw(TEXT)


def rename(draw: st.DrawFn, box: Any, key: Any) -> None:
    box[draw(TEXT)] = box.pop(key)


def duplicate(draw: st.DrawFn, box: Any, key: Any) -> None:
    box.insert(key, copy.deepcopy(box[key]))


def swap(draw: st.DrawFn, box: Any, key: Any) -> None:
    other = draw(st.integers(0, len(box) - 1))
    box[key], box[other] = box[other], box[key]


# each mutation, and the slots it applies to
MUTATIONS = (
    (delete, lambda box, key: True),
    (replace, lambda box, key: True),
    (renumber, lambda box, key: isinstance(box[key], int | float) and not isinstance(box[key], bool)),
    (retext, lambda box, key: isinstance(box[key], str)),
    (rename, lambda box, key: isinstance(box, dict)),
    (duplicate, lambda box, key: isinstance(box, list)),
    (swap, lambda box, key: isinstance(box, list) and len(box) > 1),
)


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """The valid inventory's files with one to three random mutations."""
    files = copy.deepcopy(FILES)
    for _ in range(draw(st.integers(1, 3))):
        data = files[draw(st.sampled_from(sorted(files)))]
        mutation, applies = draw(st.sampled_from(MUTATIONS))
        candidates = [slot for slot in slots(data) if applies(*slot)]
        if candidates:
            mutation(draw, *draw(st.sampled_from(candidates)))
    return files


def write(folder: Path, files: dict[str, Any]) -> None:
    """The files as YAML; those left as they were link to the valid inventory's."""
    for name, data in files.items():
        if data == FILES[name]:
            (folder / name).symlink_to(VALID / name)
        else:
            text = yaml.dump(data, Dumper=DUMPER, allow_unicode=True, sort_keys=False)
            (folder / name).write_text(text, encoding="utf-8")


@settings(max_examples=150, deadline=None)
@given(files=mutated())
def test_a_mutated_inventory_loads_or_says_what_is_wrong(
        files: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("mutated")
    write(folder, files)
    try:
        assert isinstance(load_inventory(folder), Inventory)
        event("loads")
    except InventoryError as exc:
        event(f"rejected: {exc.problems[0].file.relative_to(folder)}")
        for problem in exc.problems:
            assert problem.file == folder or problem.file.parent == folder
            assert problem.message and "\n" not in str(problem)  # the CLI prints one line each
            if problem.line is not None:
                assert 1 <= problem.line <= len(problem.file.read_text(encoding="utf-8").splitlines())


def test_the_valid_inventory_round_trips(tmp_path: Path) -> None:
    """The property above starts from data that loads: written back, it is still valid."""
    write(tmp_path, FILES)
    assert load_inventory(tmp_path) == load_inventory(VALID)


HOSTILE_YAML = {
    "tagged-int": b"services: !!int many\n",
    "tagged-timestamp": b"services: !!timestamp soon\n",
    "tagged-bool": b"services: !!bool maybe\n",
    "python-tag": b"services: !!python/object/apply:os.system [echo]\n",
    "unknown-alias": b"services: *catalogue\n",
    "alias-containing-itself": b"services: &s [1, *s]\n",
    "nested-too-deep": b"services: " + b"[" * 600 + b"]" * 600 + b"\n",
    # a "billion laughs": each line ten aliases of the one before, 10**7 values in all
    "alias-bomb": b"".join(
        [b"a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"]
        + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n".encode() for i in range(1, 7)]
        + [b"services: *a6\n"]),
    "key-not-text": b"? [portal, dms]\n: services\n",
    "two-documents": b"services: {}\n---\nservices: {}\n",
    "not-utf8": "services:\n  portal: {description: Portal do munícipe}\n".encode("latin-1"),
}


@pytest.mark.parametrize("text", HOSTILE_YAML.values(), ids=HOSTILE_YAML.keys())
def test_hostile_yaml_is_an_inventory_error(text: bytes, tmp_path: Path) -> None:
    for name in set(FILES) - {"services.yaml"}:
        (tmp_path / name).symlink_to(VALID / name)
    services = tmp_path / "services.yaml"
    services.write_bytes(text)
    with pytest.raises(InventoryError) as caught:
        load_inventory(tmp_path)
    [problem] = caught.value.problems
    assert problem.file == services
    assert "\n" not in str(problem)
