"""Whatever is wrong with an inventory, loading it ends in InventoryError and nothing else.

The property tests mutate the valid inventory's data at random (delete a key, give a field a value
of another type or a huge one, duplicate or swap list entries, change a number or a text, rename a
key), write it back as YAML and load it. The YAML tests feed the loader what YAML can say but data
cannot. Then one property per class of hostile or careless inventory: files that are not what they
seem, plain scalars YAML 1.1 and 1.2 read differently, tags on collections, control characters,
slug lengths, and overlapping prefixes found without comparing every pair.
"""

from __future__ import annotations

import copy
import math
import os
import re
import shutil
import stat
import unicodedata
from collections.abc import Iterator
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from partilha.inventory import Inventory, InventoryError, load_inventory
from partilha.inventory.files import MAX_BYTES
from partilha.inventory.rules import overlapping
from partilha.inventory.source import read_yaml

VALID = Path(__file__).resolve().parents[1] / "data" / "valid"
FILES: dict[str, dict[str, Any]] = {
    path.name: yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(VALID.glob("*.yaml"))}

DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's is faster, when there
MAX_LINE = 1000  # the folder's path, the field and the message of a problem, each capped
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


def enlarge(draw: st.DrawFn, box: Any, key: Any) -> None:
    """A value far longer than any message may be (under the cap on a file's size)."""
    box[key] = draw(st.characters(codec="utf-8")) * draw(st.integers(2_000, 200_000))


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
    (enlarge, lambda box, key: True),
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
    """The files as YAML; those left as they were are copies of the valid inventory's."""
    for name, data in files.items():
        if data == FILES[name]:
            shutil.copy(VALID / name, folder / name)
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
            assert len(str(problem)) < MAX_LINE, str(problem)[:MAX_LINE]  # capped, however long the value
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
        shutil.copy(VALID / name, tmp_path / name)
    services = tmp_path / "services.yaml"
    services.write_bytes(text)
    with pytest.raises(InventoryError) as caught:
        load_inventory(tmp_path)
    [problem] = caught.value.problems
    assert problem.file == services
    assert "\n" not in str(problem)


# Files that are not what they seem: a file of the inventory is read if and only if the path it
# finally resolves to (through any chain of symlinks) is a regular file inside the folder, no
# larger than the cap; anything else is refused, naming the file, before a byte of it is read.
ENDS = ("regular", "fifo", "device", "directory", "huge", "nothing")


@st.composite
def file_shapes(draw: st.DrawFn) -> tuple[str, list[bool], str]:
    name, end = draw(st.sampled_from(sorted(FILES))), draw(st.sampled_from(ENDS))
    # each symlink's target: inside the folder? ("nothing" at the end of no link is no file at all)
    hops = draw(st.lists(st.booleans(), min_size=int(end == "nothing"), max_size=3))
    return name, hops, end


def make_end(path: Path, end: str, original: Path) -> None:
    if end == "regular":
        shutil.copy(original, path)
    elif end == "fifo":
        os.mkfifo(path)
    elif end == "device":
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 5))  # /dev/zero's numbers
    elif end == "directory":
        path.mkdir()
    elif end == "huge":
        with path.open("wb") as file:
            file.truncate(MAX_BYTES + 1)  # sparse
            file.write(b"services: {}\n")


@pytest.mark.timeout(300)
@settings(max_examples=60, deadline=None)
@given(shape=file_shapes())
def test_an_inventory_file_is_read_only_when_it_is_a_small_regular_file_of_the_folder(
        shape: tuple[str, list[bool], str], tmp_path_factory: pytest.TempPathFactory) -> None:
    name, hops, end = shape
    root = tmp_path_factory.mktemp("shapes")
    folder, outside = root / "inventory", root / "outside"
    folder.mkdir()
    outside.mkdir()
    for other in set(FILES) - {name}:
        shutil.copy(VALID / other, folder / other)
    (outside / "secret").write_text("not-for-your-eyes: [\n", encoding="utf-8")
    path = folder / name
    for i, inside in enumerate(hops):  # links are named without .yaml: they are not inventory files
        target = (folder if inside else outside) / f"hop{i}"
        path.symlink_to(target)
        path = target
    make_end(path, end, VALID / name)
    event(f"{len(hops)} hops, {'inside' if not hops or hops[-1] else 'outside'}, {end}")
    readable = end == "regular" and (not hops or hops[-1])
    try:
        inventory = load_inventory(folder)
    except InventoryError as exc:
        assert not readable, str(exc)
        [problem] = exc.problems
        assert (problem.file, problem.field, problem.line) == (folder / name, "", None)
        assert "not-for-your-eyes" not in str(problem)
    else:
        assert readable
        assert inventory == load_inventory(VALID)


# YAML 1.1 surprises: a plain scalar is read as YAML 1.2's core schema says, and refused when a
# YAML 1.1 reader (PyYAML's safe_load) would read another value. Whatever is accepted, both agree on.
PLAIN = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.from_regex(r"[-+]?0[0-9_]{1,5}", fullmatch=True),  # octal to YAML 1.1
    st.from_regex(r"[-+]?[0-9]{1,3}(:[0-5]?[0-9]){1,3}(\.[0-9]{0,2})?", fullmatch=True),  # base 60
    st.from_regex(r"[-+]?(0x[0-9a-fA-F_]{1,4}|0o[0-7]{1,4}|0b[01_]{1,6})", fullmatch=True),
    st.from_regex(r"[-+]?[0-9]{0,3}[0-9_]{0,2}\.[0-9_]{0,3}([eE][-+]?[0-9]{1,2})?", fullmatch=True),
    st.from_regex(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}", fullmatch=True),
    st.sampled_from(["yes", "No", "ON", "off", "y", "n", "true", "False", "TRUE", "null", "Null", "~",
                     "<<", "=", ".inf", "-.Inf", ".NaN", "0o17", "1e3", "1_000", "+12", "4:00", "0443"]),
)


def yaml11(text: str) -> Any:
    return yaml.load(f"value: {text}\n", Loader=yaml.SafeLoader)["value"]


@settings(max_examples=300, deadline=None)
@given(text=PLAIN)
def test_a_plain_scalar_is_read_as_both_yaml_versions_read_it_or_refused(
        text: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("plain") / "value.yaml"
    path.write_text(f"# {text!r}\nvalue: {text}\n", encoding="utf-8")
    try:
        value = read_yaml(path).data["value"]
    except InventoryError as exc:
        [problem] = exc.problems
        assert problem.line == 2
        event("refused")
        if re.fullmatch(r"-?(0|[1-9][0-9]*)", text):
            raise AssertionError(f"{text} is a plain decimal number") from None
    else:
        event(type(value).__name__)
        expected = yaml11(text)
        assert type(value) is type(expected)
        assert value == expected or (isinstance(value, float) and math.isnan(value) and math.isnan(expected))


@settings(max_examples=200, deadline=None)
@given(text=PLAIN)
def test_a_number_field_never_takes_a_value_the_yaml_versions_disagree_on(
        text: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("number")
    files = copy.deepcopy(FILES)
    write(folder, files)
    services = (VALID / "services.yaml").read_text(encoding="utf-8")
    (folder / "services.yaml").write_text(services.replace("cpus: 1\n", f"cpus: {text}\n", 1),
                                          encoding="utf-8")
    try:
        cpus = load_inventory(folder).services["portal"].cpus
    except InventoryError:
        event("refused")
    else:
        event("read")
        assert cpus == yaml11(text)


COLLECTION_TAGS = st.one_of(
    st.sampled_from(["tag:yaml.org,2002:set", "tag:yaml.org,2002:omap", "tag:yaml.org,2002:pairs",
                     "tag:yaml.org,2002:python/tuple", "tag:example.com,2026:ports"]),
    st.from_regex(r"![a-z]{1,8}", fullmatch=True))


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(sorted(FILES)), pick=st.integers(0, 10**6), tag=COLLECTION_TAGS)
def test_a_tag_on_a_collection_is_refused_not_dropped(
        name: str, pick: int, tag: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("tagged")
    write(folder, FILES)
    events = list(yaml.parse((VALID / name).read_text(encoding="utf-8"), Loader=yaml.SafeLoader))
    starts = [i for i, e in enumerate(events)
              if isinstance(e, yaml.CollectionStartEvent) and i > 2]  # not the file's own mapping
    chosen = events[starts[pick % len(starts)]]
    chosen.tag, chosen.implicit = tag, False
    (folder / name).write_text(yaml.emit(events), encoding="utf-8")
    with pytest.raises(InventoryError) as caught:
        load_inventory(folder)
    [problem] = caught.value.problems
    assert problem.file == folder / name
    assert "is not allowed" in problem.message


# Control characters (C0, DEL, C1, bidi overrides and isolates, line and paragraph separators) in
# any text, value or key, are refused naming the file and the field, and never printed raw.
CONTROLS = st.one_of(
    st.characters(categories=["Cc"]),
    st.sampled_from(["\u061c", "\u200e", "\u200f", "\u2028", "\u2029", *map(chr, range(0x202A, 0x202F)),
                     *map(chr, range(0x2066, 0x206A))]))


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(sorted(FILES)), pick=st.integers(0, 10**6), at=st.integers(0, 100),
       control=CONTROLS, in_key=st.booleans())
def test_a_control_character_in_any_text_is_refused(
        name: str, pick: int, at: int, control: str, in_key: bool,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    files = copy.deepcopy(FILES)
    texts = [(box, key) for box, key in slots(files[name])
             if ((isinstance(key, str) and isinstance(box, dict)) if in_key else isinstance(box[key], str))]
    box, key = texts[pick % len(texts)]
    if in_key:
        box[key[:at % (len(key) + 1)] + control + key[at % (len(key) + 1):]] = box.pop(key)
    else:
        text = box[key]
        box[key] = text[:at % (len(text) + 1)] + control + text[at % (len(text) + 1):]
    folder = tmp_path_factory.mktemp("control")
    write(folder, files)
    with pytest.raises(InventoryError) as caught:
        load_inventory(folder)
    [problem] = caught.value.problems
    assert problem.file == folder / name
    assert "control character" in problem.message
    assert problem.line is not None
    assert not any(forbidden(c) for c in str(problem))


def forbidden(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Zl", "Zp") or unicodedata.bidirectional(char) in (
        "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI", "LRM", "RLM", "ALM")


# Slugs name PVE users (`<slug>@pve`, at most 64 characters): a tenant's slug has at most 60.
SLUGS = st.from_regex(r"[a-z][a-z0-9]{0,9}(-[a-z0-9]{1,9}){0,9}", fullmatch=True)


@settings(max_examples=100, deadline=None)
@given(slug=SLUGS)
def test_a_tenant_slug_is_accepted_exactly_up_to_what_pve_takes_for_its_user(
        slug: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    files = copy.deepcopy(FILES)
    municipalities, networks = files["municipalities.yaml"], files["networks.yaml"]
    assume(slug not in {m["slug"] for m in municipalities["municipalities"]})
    old = municipalities["municipalities"][0]["slug"]
    municipalities["municipalities"][0].update(slug=slug, services={})
    for vnet in networks["networks"]["vnets"]:
        if vnet.get("municipality") == old:
            vnet["municipality"] = slug
    folder = tmp_path_factory.mktemp("slug")
    write(folder, files)
    event(f"{'over' if len(slug) > 60 else 'within'} 60")
    try:
        inventory = load_inventory(folder)
    except InventoryError as exc:
        [problem] = exc.problems
        assert len(slug) > 60, str(problem)
        assert (problem.file.name, problem.field) == ("municipalities.yaml", "municipalities[0].slug")
        assert "<slug>@pve" in problem.message
    else:
        assert len(slug) <= 60
        assert inventory.municipalities[0].slug == slug


# Scale: overlapping prefixes are found by sorting, not by comparing every pair; what they find is
# what comparing every pair finds.
PREFIXES = st.lists(st.builds(lambda address, length: IPv4Network((address, length), strict=False),
                              st.integers(0, 2**32 - 1), st.integers(0, 32)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(prefixes=PREFIXES)
def test_overlaps_are_found_as_comparing_every_pair_would(prefixes: list[IPv4Network]) -> None:
    found = list(overlapping(prefixes))
    pairs = {(i, j) for i, a in enumerate(prefixes) for j, b in enumerate(prefixes[:i]) if a.overlaps(b)}
    assert bool(found) == bool(pairs)
    assert set(found) <= pairs  # each finding: a later prefix and an earlier one it overlaps
    assert len({i for i, _ in found}) == len(found)  # each prefix blamed once at most
