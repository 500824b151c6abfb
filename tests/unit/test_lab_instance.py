"""A lab instance's settings are checked once, as the user's error: the package cache's port
against apt-cacher-ng's own limit (kept in one place, the cache), the API port and the prefix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from partilha.errors import UserError
from partilha.lab import LabInstance


def test_the_cache_port_derives_from_the_api_port_within_apt_cacher_ngs_limit(tmp_path: Path) -> None:
    for port in (1, 8006, 29999, 65535):
        instance = LabInstance(tmp_path, tmp_path, port)
        assert instance.package_cache.port == instance.cache_port == 10000 + port % 20000


@pytest.mark.parametrize("settings, message", [
    ({"cache_port": 40000}, "lab package cache: apt-cacher-ng port 40000: must be within 1..32767"),
    ({"cache_port": -1}, "lab package cache: apt-cacher-ng port -1: must be within 1..32767"),
    ({"port": 70000}, "lab port 70000 is outside 1..65535"),
    ({"prefix": "Lab-"}, "lab prefix 'Lab-' must be a letter"),
])
def test_bad_settings_are_one_user_error(tmp_path: Path, settings: dict[str, object], message: str) -> None:
    with pytest.raises(UserError, match=re.escape(message)):
        LabInstance(tmp_path, tmp_path, **settings)  # type: ignore[arg-type]
