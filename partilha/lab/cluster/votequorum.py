"""Quorum as corosync's votequorum decides it for the lab's cluster (one vote per node): quorate
while the online votes reach the quorum of the expected votes, `expected // 2 + 1`. The expected
votes are the cluster's node count until an operator lowers them on a surviving node
(`pvecm expected N`, after fencing the nodes that are gone); corosync takes a value only if it
makes the survivors quorate without going under half of them, and raises it again as nodes
come back."""

from __future__ import annotations

from partilha.lab.cluster.state import nodes
from partilha.lab.server.store import Store

EXPECTED = "expected_votes"


class VotequorumError(RuntimeError):
    """What `pvecm expected` prints when corosync refuses."""


def _expected_votes(store: Store) -> int:
    every = len(nodes(store))
    set_to = store.meta(EXPECTED)
    online = sum(n.online for n in nodes(store))
    return max(int(set_to), online) if set_to is not None else every


def quorate(store: Store) -> bool:
    return sum(n.online for n in nodes(store)) >= _expected_votes(store) // 2 + 1


def set_expected(store: Store, votes: int) -> None:
    """`pvecm expected VOTES` on a live node."""
    total = sum(n.online for n in nodes(store))
    if votes < 1 or not total // 2 <= votes // 2 + 1 <= total:
        raise VotequorumError("Unable to set expected votes: CS_ERR_INVALID_PARAM")
    store.set_meta(EXPECTED, str(votes))


def node_joined(store: Store) -> None:
    """A node came back: expected votes rise with the online votes, back to the node count."""
    set_to = store.meta(EXPECTED)
    if set_to is None:
        return
    online = sum(n.online for n in nodes(store))
    if online >= len(nodes(store)):
        store.delete_meta(EXPECTED)
    elif online > int(set_to):
        store.set_meta(EXPECTED, str(online))
