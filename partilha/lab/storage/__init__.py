"""Storages (`/storage`) and their content (`/nodes/{node}/storage`). The package re-exports its state
(`state.py`), which callers use as `storage.<function>(store, ...)`."""

from partilha.lab.storage.state import (
    DIR_CONTENT,
    LOCAL,
    STORAGE,
    SUBDIRS,
    available_on,
    config_text,
    content_dir,
    contents,
    digest,
    every,
    get,
    parse_content_list,
    realised_dir,
    seed,
)

__all__ = [
    "DIR_CONTENT",
    "LOCAL",
    "STORAGE",
    "SUBDIRS",
    "available_on",
    "config_text",
    "content_dir",
    "contents",
    "digest",
    "every",
    "get",
    "parse_content_list",
    "realised_dir",
    "seed",
]
