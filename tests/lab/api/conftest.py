"""A throwaway lab API instance per test module: own state directory, port and prefix."""

from __future__ import annotations

import json
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI

from partilha.lab import control
from partilha.lab.instance import LabInstance
from partilha.lab.realize import aptcache

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])




@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabInstance]:
    instance = LabInstance(
        tmp_path_factory.mktemp("lab"),
        ROOT / "inventories" / "lab",
        free_port(),
        f"t{secrets.token_hex(2)}-",
        aptcache.free_port(),
    )
    control.up(instance)
    try:
        yield instance
    finally:
        control.reset(instance)


@pytest.fixture(scope="module")
def creds(lab: LabInstance) -> dict[str, Any]:
    return dict(json.loads(lab.credentials.read_text()))


@pytest.fixture(scope="module")
def admin(lab: LabInstance, creds: dict[str, Any]) -> ProxmoxAPI:
    """proxmoxer, unchanged, logged in with a ticket and verifying the lab's certificate."""
    return ProxmoxAPI(
        "127.0.0.1",
        port=lab.port,
        user=creds["username"],
        password=creds["password"],
        verify_ssl=str(lab.cert),
    )


@pytest.fixture(scope="module")
def admin_token(lab: LabInstance, creds: dict[str, Any]) -> ProxmoxAPI:
    user, _, name = creds["token_id"].partition("!")
    return ProxmoxAPI(
        "127.0.0.1",
        port=lab.port,
        user=user,
        token_name=name,
        token_value=creds["token_secret"],
        verify_ssl=str(lab.cert),
    )


WaitTask = Callable[..., dict[str, Any]]


@pytest.fixture(scope="module")
def wait_task() -> WaitTask:
    """`wait_task(api, upid, timeout=120)`: poll a task as PVE clients do; its final status."""

    def wait(api: ProxmoxAPI, upid: str, timeout: float = 120.0) -> dict[str, Any]:
        node = upid.split(":")[1]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = dict(api.nodes(node).tasks(upid).status.get())
            if status["status"] == "stopped":
                return status
            time.sleep(0.2)
        raise AssertionError(f"task {upid} still running after {timeout:g} s")

    return wait
