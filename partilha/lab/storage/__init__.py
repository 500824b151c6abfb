"""Storages (`/storage`) and their content (`/nodes/{node}/storage`). `__all__` is what the rest of
the lab may use: the state (`state.py`), used as `storage.<function>(store, ...)`, the backup
archives a storage holds and the volume permission check."""

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

# isort: split
# the modules below import other areas, which may import this one back: its state comes first
from partilha.lab.storage import storage_content
from partilha.lab.storage.volume_access import check_volume_access

__all__ = [
    "DIR_CONTENT",
    "LOCAL",
    "STORAGE",
    "SUBDIRS",
    "available_on",
    "check_volume_access",
    "config_text",
    "content_dir",
    "contents",
    "digest",
    "every",
    "get",
    "parse_content_list",
    "realised_dir",
    "seed",
    "storage_content",
]
