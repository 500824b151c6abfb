"""Text that comes from an inventory, judged and shown safely: control characters refused or
escaped, long values cut, so no value can rewrite a terminal or flood a message."""

from __future__ import annotations

import re
import unicodedata

# C0, DEL and C1 controls, the bidi embeddings, overrides, isolates and marks (which reorder what a
# terminal shows), and the line and paragraph separators (which break lines where LF is not seen).
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_NAMES = {"\x00": "NUL", "\t": "TAB", "\n": "LF", "\r": "CR", "\x1b": "ESC", "\x7f": "DEL",
          "\x85": "NEL", "\x9b": "CSI"}


def describe(char: str) -> str:
    """"U+001B (ESC)", "U+202E (RIGHT-TO-LEFT OVERRIDE)"."""
    name = _NAMES.get(char) or unicodedata.name(char, "")
    return f"U+{ord(char):04X} ({name})" if name else f"U+{ord(char):04X}"


def control_character(text: str) -> str | None:
    """Why `text` may not be shown as it is ("a control character, U+001B (ESC), at character 9"),
    or None when it may."""
    found = CONTROL.search(text)
    if found is None:
        return None
    return f"a control character, {describe(found.group())}, at character {found.start() + 1}"


def printable(text: str) -> str:
    """`text` with every control character written as an escape (\\x1b, \\u202e)."""
    return CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def clip(text: str, limit: int) -> str:
    """`text`, or its start and end around a note of how much was cut when longer than `limit`:
    the end of a message usually says what is wrong."""
    if len(text) <= limit:
        return text
    keep = (limit - 40) // 2
    return f"{text[:keep]}…({len(text) - 2 * keep} characters cut)…{text[-keep:]}"
