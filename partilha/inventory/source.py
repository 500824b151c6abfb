"""YAML files of an inventory, read with the line of every node so errors can point at it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from partilha.inventory.errors import InventoryError, Problem

Loc = tuple[str | int, ...]
MAX_DEPTH = 64  # an inventory nests about 6 deep; deeper is a mistake or an alias containing itself
MAX_NODES = 200_000  # the largest reference inventory has ~5,000; aliases of aliases can explode


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


def read_yaml(path: Path) -> SourceFile:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError([Problem(path, "", f"cannot read: {exc}")]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        problem = Problem(path, "", f"invalid YAML: nested more than {MAX_DEPTH} deep")
        raise InventoryError([problem]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise InventoryError([Problem(path, "", f"invalid YAML: {reason}", line)]) from None
    source = SourceFile(path, {})
    if node is None:
        return source
    data = _Builder(source).convert(node, ())
    if not isinstance(data, dict):
        raise InventoryError([Problem(path, "", "the file must hold a mapping of fields", 1)])
    source.data = data
    return source


class _Builder:
    """Turns composed YAML nodes into plain data, recording lines and refusing duplicate keys
    (which PyYAML would otherwise silently overwrite)."""

    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.scalars = yaml.SafeLoader("")
        self.nodes = 0

    def convert(self, node: yaml.Node, loc: Loc) -> Any:
        self.source.lines[loc] = node.start_mark.line + 1
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.fail(loc[:1], f"expands to more than {MAX_NODES} values (aliases of aliases?)", node)
        if len(loc) > MAX_DEPTH:
            self.fail(loc[:1], f"nested more than {MAX_DEPTH} deep (an alias that contains itself?)", node)
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self.key(key_node, loc)
                if key in out:
                    self.fail((*loc, key), "duplicate key", key_node)
                out[key] = self.convert(value_node, (*loc, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*loc, i)) for i, item in enumerate(node.value)]
        try:
            return self.scalars.construct_object(node)
        except yaml.YAMLError as exc:  # an unknown tag: its problem, without PyYAML's snippet
            self.fail(loc, f"invalid value: {getattr(exc, 'problem', None) or exc}", node)
        except Exception:  # PyYAML's constructors raise anything on a bad tagged scalar (!!int x)
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self.fail(loc, f"invalid value: {node.value!r} is not a valid {tag}", node)

    def key(self, node: yaml.Node, loc: Loc) -> str:
        value = self.convert(node, (*loc, "<key>")) if isinstance(node, yaml.ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.fail(loc, "keys must be text", node)
        return str(value)

    def fail(self, loc: Loc, message: str, node: yaml.Node) -> NoReturn:
        raise InventoryError([Problem(self.source.path, dotted(loc), message,
                                      node.start_mark.line + 1)])


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
