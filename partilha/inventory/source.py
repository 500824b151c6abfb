"""YAML files of an inventory, read with the line of every value so errors can point at it.

The file is read through files.read_text (a small regular file of the folder, or refused unread)
and built from the YAML parser's events: scalars as YAML 1.2's core schema reads them
(core_schema.py), keys text and never twice, no tags but the core schema's, no control characters
in any text, aliases counted as what they expand to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from partilha.inventory import core_schema, files
from partilha.inventory.errors import InventoryError, Problem
from partilha.inventory.text import control_character, describe

Loc = tuple[str | int, ...]
MAX_DEPTH = 64  # an inventory nests about 6 deep; deeper is a mistake
MAX_NODES = 1_000_000  # 10,000 municipalities take ~300,000; aliases of aliases can explode
PARSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser, when there: far faster
_BYTE_POSITIONS = PARSER is not yaml.SafeLoader  # libyaml reports positions in UTF-8 bytes
_MAP, _SEQ = f"{core_schema.CORE}map", f"{core_schema.CORE}seq"


@dataclass
class SourceFile:
    path: Path
    data: dict[str, Any]
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int | None:
        """Line of the deepest node of `loc` the file has (a missing field points at its parent)."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return None


def read_yaml(path: Path, folder: Path | None = None) -> SourceFile:
    """The mapping in `path`, a file of `folder` (by default the folder the file is in)."""
    text = files.read_text(path, path.parent if folder is None else folder)
    source = SourceFile(path, {})
    try:
        data = _Builder(source).build(yaml.parse(text, Loader=PARSER))
    except yaml.reader.ReaderError as exc:  # a character YAML forbids in a file, raw
        what = describe(chr(exc.character)) if isinstance(exc.character, int) else "a character"
        problem = Problem(path, "", f"invalid YAML: a control character, {what}, is not allowed",
                          _line_at(text, exc.position))
        raise InventoryError([problem]) from None
    except yaml.MarkedYAMLError as exc:  # its problem and line, never its snippet of the file
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "not YAML"
        problem = Problem(path, "", f"invalid YAML: {reason}", mark.line + 1 if mark else None)
        raise InventoryError([problem]) from None
    except yaml.YAMLError:
        raise InventoryError([Problem(path, "", "invalid YAML")]) from None
    if data is None:
        return source
    if not isinstance(data, dict):
        raise InventoryError([Problem(path, "", "the file must hold a mapping of fields", 1)])
    source.data = data
    return source


def _line_at(text: str, position: int) -> int:
    if _BYTE_POSITIONS:
        return text.encode("utf-8")[:position].count(b"\n") + 1
    return text.count("\n", 0, position) + 1


_NO_KEY = object()


@dataclass
class _Open:
    """A mapping or sequence being built: where it is, its anchor, the nodes counted before it,
    and (a mapping) the key whose value comes next."""

    value: dict[str, Any] | list[Any]
    loc: Loc
    anchor: str | None
    before: int
    key: Any = _NO_KEY


class _Builder:
    """Plain data from the parser's events, recording the line of every value."""

    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.anchors: dict[str, tuple[Any, int]] = {}  # name -> (value, nodes it expands to)
        self.stack: list[_Open] = []
        self.nodes = 0
        self.documents = 0
        self.root: Any = None

    def build(self, events: Any) -> Any:
        for event in events:
            if isinstance(event, yaml.ScalarEvent | yaml.AliasEvent | yaml.CollectionStartEvent):
                self.node(event)
            elif isinstance(event, yaml.CollectionEndEvent):
                done = self.stack.pop()
                if done.anchor is not None:
                    self.anchors[done.anchor] = (done.value, self.nodes - done.before)
            elif isinstance(event, yaml.DocumentStartEvent):
                self.documents += 1
                if self.documents > 1:
                    self.fail((), "holds more than one YAML document", event)
        return self.root

    def node(self, event: Any) -> None:
        parent = self.stack[-1] if self.stack else None
        if parent is not None and isinstance(parent.value, dict) and parent.key is _NO_KEY:
            parent.key = self.key(event, parent)
            return
        loc: Loc = () if parent is None else (
            (*parent.loc, parent.key) if isinstance(parent.value, dict) else (*parent.loc, len(parent.value)))
        self.count(1, loc, event)
        if isinstance(event, yaml.AliasEvent):
            value, size = self.alias(event, loc)
            self.count(size - 1, loc, event)
        elif isinstance(event, yaml.ScalarEvent):
            value = self.scalar(event, loc)
            if event.anchor is not None:
                self.anchors[event.anchor] = (value, 1)
        else:
            value = self.collection(event, loc)
        self.source.lines[loc] = event.start_mark.line + 1
        if parent is None:
            self.root = value
        elif isinstance(parent.value, dict):
            parent.value[parent.key] = value
            parent.key = _NO_KEY
        else:
            parent.value.append(value)

    def collection(self, event: Any, loc: Loc) -> dict[str, Any] | list[Any]:
        mapping = isinstance(event, yaml.MappingStartEvent)
        if event.tag not in (None, "!", _MAP if mapping else _SEQ):
            self.fail(loc, core_schema.not_allowed(event.tag), event)
        if len(self.stack) >= MAX_DEPTH:
            self.fail(loc[:1], f"nested more than {MAX_DEPTH} deep", event)
        value: dict[str, Any] | list[Any] = {} if mapping else []
        self.stack.append(_Open(value, loc, event.anchor, self.nodes - 1))
        return value

    def scalar(self, event: Any, loc: Loc) -> Any:
        try:
            if event.tag is not None:
                value = core_schema.tagged(event.tag, event.value)
            else:
                value = core_schema.plain(event.value) if event.implicit[0] else event.value
        except core_schema.ScalarError as exc:
            self.fail(loc, str(exc), event)
        if isinstance(value, str) and (why := control_character(value)):
            self.fail(loc, f"holds {why}: terminals and reports would act on it", event)
        return value

    def alias(self, event: Any, loc: Loc) -> tuple[Any, int]:
        if event.anchor not in self.anchors:
            inside = any(o.anchor == event.anchor for o in self.stack)
            self.fail(loc, f"alias *{event.anchor} is used inside the node it names" if inside
                      else f"unknown alias *{event.anchor}", event)
        return self.anchors[event.anchor]

    def key(self, event: Any, parent: _Open) -> str:
        self.count(1, parent.loc, event)
        if isinstance(event, yaml.ScalarEvent):
            value = self.scalar(event, (*parent.loc, event.value))
        elif isinstance(event, yaml.AliasEvent):
            value = self.alias(event, parent.loc)[0]
        else:
            value = None
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.fail(parent.loc, "keys must be text", event)
        key = str(value)
        if key in parent.value:
            self.fail((*parent.loc, key), "duplicate key", event)
        return key

    def count(self, nodes: int, loc: Loc, event: Any) -> None:
        self.nodes += nodes
        if self.nodes > MAX_NODES:
            self.fail(loc[:1], f"expands to more than {MAX_NODES} values (aliases of aliases?)", event)

    def fail(self, loc: Loc, message: str, event: Any) -> NoReturn:
        raise InventoryError([Problem(self.source.path, dotted(loc), message,
                                      event.start_mark.line + 1)])


def dotted(loc: Loc) -> str:
    """("vnets", 3, "gateway") -> "vnets[3].gateway"."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not part.isprintable() or not part:  # a key like "\n" must not split the message
            text += f"[{part!r}]"
        else:
            text += f".{part}" if text else part
    return text
