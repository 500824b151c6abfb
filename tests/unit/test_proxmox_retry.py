"""PVE's transient failures are retried with backoff until a deadline; the rest fail at once."""

from __future__ import annotations

import pytest
import requests
from proxmoxer.core import ResourceException

from partilha.errors import UserError
from partilha.proxmox import endpoint
from partilha.proxmox.retry import Backoff, DeadlineError, transient, transient_exitstatus, with_retries

LOCK = "can't lock file '/var/lock/qemu-server/lock-101.conf' - got timeout"
CFS_LOCK = "cfs-lock 'file-user_cfg' error: got lock request timeout"


@pytest.mark.parametrize(("exc", "expected"), [
    (ResourceException(500, "Internal Server Error", LOCK), True),
    (ResourceException(500, "Internal Server Error", CFS_LOCK), True),
    (ResourceException(500, "Internal Server Error", "CT is locked (backup)"), True),
    (ResourceException(500, "Internal Server Error", "CT 101 already running"), False),
    (ResourceException(595, "Errors during connection establishment", "no route to host"), True),
    (ResourceException(400, "Parameter verification failed.", "", errors={"vmid": "invalid"}), False),
    (ResourceException(403, "Forbidden", "Permission check failed"), False),
    (requests.ConnectionError("refused"), True),
    (ValueError("a bug"), False),
])
def test_transient_failures_are_told_apart(exc: Exception, expected: bool) -> None:
    assert transient(exc) is expected


def test_task_exit_statuses() -> None:
    assert transient_exitstatus(LOCK)
    assert not transient_exitstatus("unable to create CT 101 - bridge 'x' does not exist")


def test_backoff_waits_grow_to_the_longest_and_fit_the_deadline() -> None:
    delays = Backoff(first=1, factor=2, longest=4, deadline=30).delays()
    assert sum(delays) <= 30
    assert all(0.5 <= d <= 4 for d in delays)
    assert len(delays) >= 7  # 1 + 2 + 4 + 4 ... with jitter in [0.5, 1]


def test_a_transient_failure_is_retried_until_success() -> None:
    failures = [ResourceException(500, "Internal Server Error", LOCK)] * 3
    slept: list[float] = []

    def action() -> str:
        if failures:
            raise failures.pop()
        return "ok"

    assert with_retries("GET /version", action, Backoff(deadline=60), sleep=slept.append) == "ok"
    assert len(slept) == 3


def test_a_non_transient_failure_is_raised_at_once() -> None:
    calls = []

    def action() -> None:
        calls.append(1)
        raise ResourceException(400, "Parameter verification failed.", "", errors={"vmid": "bad"})

    with pytest.raises(ResourceException):
        with_retries("POST /nodes/pve1/lxc", action, Backoff(), sleep=lambda s: None)
    assert calls == [1]


def test_the_deadline_ends_retries_with_a_clear_message() -> None:
    def action() -> None:
        raise ResourceException(500, "Internal Server Error", LOCK)

    with pytest.raises(DeadlineError) as err:
        with_retries("PUT /cluster/sdn", action, Backoff(first=0.01, deadline=0.05))
    message = str(err.value)
    assert message.startswith("PUT /cluster/sdn: still failing after")
    assert "deadline 0.05 s" in message and LOCK in message


def test_endpoint_from_env_names_what_is_missing_or_wrong() -> None:
    with pytest.raises(UserError, match="set PROXMOX_VE_ENDPOINT and PROXMOX_VE_API_TOKEN"):
        endpoint.from_env({})
    with pytest.raises(UserError, match="PROXMOX_VE_ENDPOINT: expected https://"):
        endpoint.from_env({"PROXMOX_VE_ENDPOINT": "http://pve:8006", "PROXMOX_VE_API_TOKEN": "x"})
    with pytest.raises(UserError, match="PROXMOX_VE_API_TOKEN: expected USER@REALM!TOKENID=SECRET"):
        endpoint.from_env({"PROXMOX_VE_ENDPOINT": "https://pve:8006/", "PROXMOX_VE_API_TOKEN": "root@pam"})
    found = endpoint.from_env({"PROXMOX_VE_ENDPOINT": "https://pve.cim.pt/",
                               "PROXMOX_VE_API_TOKEN": "abt@pve!deploy=0e1f-secret"})
    assert (found.host, found.port, found.token_id) == ("pve.cim.pt", 8006, "abt@pve!deploy")
    assert found.ca_file is None
    assert "0e1f-secret" not in repr(found)
