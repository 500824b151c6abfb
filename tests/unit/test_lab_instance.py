"""A lab instance's settings are checked once, as the user's error: the package cache's port
against apt-cacher-ng's own limit (kept in one place, the cache), the API port and the prefix."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from partilha.errors import UserError
from partilha.lab import LabInstance

ROOT = Path(__file__).resolve().parents[2]


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


def test_lab_commands_without_a_saved_lab_refuse_naming_the_folder(tmp_path: Path) -> None:
    """Nothing to act on in a folder where `lab up` never ran: no default lab (prefix plab-, port
    8006) is assumed, which could be another workspace's lab; one line, and nothing is made."""
    folder = tmp_path / ".partilha" / "lab"
    for command in (["status"], ["down"], ["reset"]):  # all but `up` take the saved lab alike
        run = subprocess.run([str(ROOT / ".venv" / "bin" / "partilha"), "lab", *command],
                             env={**os.environ, "PARTILHA_HOME": str(tmp_path), "NO_COLOR": "1"},
                             capture_output=True, text=True, timeout=60, check=False)
        assert run.returncode == 1 and "Traceback" not in run.stderr, (command, run.stdout, run.stderr)
        assert run.stderr.strip() == (f"error: no lab in {folder} (run `partilha lab up` first)"), command
        assert not folder.exists() and not (tmp_path / ".partilha" / "ssh").exists(), command
