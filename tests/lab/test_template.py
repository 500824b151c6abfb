"""The Debian 12 template: built once, cached, and carrying no per-guest identity."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from partilha.lab.machine import lxc

pytestmark = pytest.mark.lab


def test_template_is_debian_12_with_what_a_guest_needs(template: Path) -> None:
    os_release = (template / "etc/os-release").read_text()
    assert 'VERSION_ID="12"' in os_release
    for binary in ("usr/sbin/sshd", "usr/bin/python3", "sbin/ip", "usr/bin/sudo", "usr/bin/systemctl"):
        assert (template / binary).exists(), binary
    assert (template / "sbin/init").resolve().name == "systemd"


def test_template_has_no_host_identity(template: Path) -> None:
    assert not list((template / "etc/ssh").glob("ssh_host_*"))
    assert (template / "etc/machine-id").read_text() == ""


def test_useless_units_are_masked(template: Path) -> None:
    for unit in ("getty@.service", "systemd-udevd.service", "apt-daily.timer"):
        assert (template / "etc/systemd/system" / unit).readlink() == Path("/dev/null")


def test_template_is_cached_under_the_recipe_hash(template: Path) -> None:
    assert template.parent.name == f"debian-12-{lxc.template.recipe_hash()}"
    assert json.loads((template.parent / "recipe.json").read_text()) == lxc.template.recipe()
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        paths = set(pool.map(lambda _: lxc.template.ensure_template(), range(4)))
    assert paths == {template}
    assert time.monotonic() - started < 5  # cached: no rebuild


def test_recipe_change_changes_the_template_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    before = lxc.template.template_dir(tmp_path)
    monkeypatch.setattr(lxc.template, "PACKAGES", (*lxc.template.PACKAGES, "hello"))
    assert lxc.template.template_dir(tmp_path) != before
    monkeypatch.setenv("PARTILHA_CACHE", str(tmp_path))
    assert lxc.template.cache_root() == tmp_path
