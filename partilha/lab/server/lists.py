"""PVE's list values, as every area's routes split them."""

from __future__ import annotations

import re


def split_list(text: str) -> list[str]:
    """``PVE::Tools::split_list``: items separated by commas, semicolons or white space."""
    if "\0" in text:
        return text.split("\0")
    return re.sub(r"[,;]", " ", text).split()
