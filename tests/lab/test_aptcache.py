"""The package cache: guests install what the template lacks, through the host, and nothing else."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from partilha.lab.machine.lxc import aptcache, containers

pytestmark = pytest.mark.lab

MakeGuest = Callable[..., containers.GuestSpec]


def test_apt_get_install_works_through_the_cache(mlab, guest: MakeGuest) -> None:
    spec = guest(401, "b", 50)
    assert mlab.ssh(spec, "command", "-v", "hello").returncode != 0  # not in the template
    result = mlab.ssh(
        spec,
        "DEBIAN_FRONTEND=noninteractive",
        "apt-get", "-q", "-o", "Acquire::Retries=3", "update",
        "&&",
        "DEBIAN_FRONTEND=noninteractive",
        "apt-get", "-q", "install", "-y", "--no-install-recommends", "hello",
        "&&", "hello",
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Hello, world!" in result.stdout
    cache_dir = Path((mlab.cache.home / "acng.conf").read_text().split("CacheDir: ")[1].split("\n")[0])
    assert list(cache_dir.rglob("hello_*.deb")), "the package did not go through the lab's cache"


def test_the_cache_serves_only_debian(mlab, guest: MakeGuest) -> None:
    spec = guest(402, "a", 51)
    other = mlab.vnets["b"].gateway.ip  # a lab address: nothing leaves the machine
    request = f"GET http://{other}:9/x HTTP/1.0\\r\\n\\r\\n"
    code = (
        "import socket;"
        f"s=socket.create_connection(('{spec.gateway}',{mlab.cache.port}),timeout=5);"
        f"s.sendall(b'{request}');print(s.recv(200).decode().splitlines()[0])"
    )
    result = mlab.ssh(spec, "python3", "-c", f'"{code}"')
    assert result.returncode == 0, result.stderr
    assert " 403 " in result.stdout, result.stdout


def test_start_stop_are_idempotent(tmp_path: Path) -> None:
    cache = aptcache.AptCache(tmp_path, port=aptcache.free_port())
    try:
        aptcache.start(cache)
        aptcache.start(cache)
        assert aptcache.is_running(cache)
        assert cache.pid_file.is_file()
    finally:
        aptcache.stop(cache)
    assert not aptcache.is_running(cache)
    assert not cache.pid_file.exists()
    aptcache.stop(cache)
    with pytest.raises(ValueError, match="32767"):
        aptcache.AptCache(tmp_path, port=40000)



def test_a_cache_that_cannot_start_says_why_in_apt_cacher_ngs_words(tmp_path: Path) -> None:
    cache = aptcache.AptCache(tmp_path, port=aptcache.free_port())
    (cache.home / "log" / "apt-cacher.err").mkdir(parents=True)  # its error log cannot be opened
    with pytest.raises(aptcache.MachineError, match=r"failed to start \(exit 1: Problem creating log files"):
        aptcache.start(cache)
    assert not aptcache.is_running(cache)


def test_a_cache_in_a_deep_state_folder_starts(tmp_path: Path) -> None:
    """A unix socket's path has room for 107 bytes: a deep home must not stop the cache."""
    cache = aptcache.AptCache(tmp_path / ("deep" * 25), port=aptcache.free_port())
    try:
        aptcache.start(cache)
        assert aptcache.is_running(cache)
    finally:
        aptcache.stop(cache)
    assert not aptcache.is_running(cache)
