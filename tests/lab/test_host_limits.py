"""The kernel limits a PVE node sets for many containers hold once a lab is up."""

from __future__ import annotations

import pytest

from partilha.lab.machine.lxc import host_limits

pytestmark = pytest.mark.lab


def test_limits_are_at_least_pves_and_never_lowered() -> None:
    host_limits.ensure()
    before = {key: host_limits.current(key) for key in host_limits.LIMITS}
    assert all(before[key] >= value for key, value in host_limits.LIMITS.items())
    assert host_limits.ensure() == {}  # nothing left to raise, and nothing is lowered
    assert {key: host_limits.current(key) for key in host_limits.LIMITS} == before
