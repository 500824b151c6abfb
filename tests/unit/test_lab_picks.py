"""A process's share of the lab's random picks (PARTILHA_LAB_SHARE, set per pytest-xdist worker):
the shares are disjoint slices of the range, a bad share is one clear error, and a port in use is
never picked."""

from __future__ import annotations

import socket
from itertools import combinations

import pytest

from partilha.lab.machine import MachineError, pick, unused_port
from partilha.lab.machine.lxc import picks


def test_shares_are_disjoint_slices_and_no_share_is_the_whole_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(picks.SHARE, raising=False)
    assert picks.choices(1, 250) == range(1, 251)
    slices = []
    for k in range(3):
        monkeypatch.setenv(picks.SHARE, f"{k}/3")
        slices.append(set(picks.choices(1, 250)))
        assert {pick(1, 250) for _ in range(300)} <= slices[-1]
    assert all(not a & b for a, b in combinations(slices, 2))
    assert set().union(*slices) == set(range(1, 250))  # 83 each: the last number is nobody's


@pytest.mark.parametrize("share", ["2/2", "1", "a/2", "0/0", "0/251"])
def test_a_bad_share_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, share: str) -> None:
    monkeypatch.setenv(picks.SHARE, share)
    with pytest.raises(MachineError) as error:
        pick(1, 250)
    assert str(error.value) == f"PARTILHA_LAB_SHARE='{share}': want <k>/<n> with 0 <= k < n <= 250"


def test_a_port_something_listens_on_is_never_picked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(picks.SHARE, raising=False)
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        with pytest.raises(MachineError, match=f"no free port in {port}..{port}"):
            unused_port(port, port, "127.0.0.1")
    assert unused_port(port, port, "127.0.0.1") == port
