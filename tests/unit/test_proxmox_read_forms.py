"""What PVE 8 answers for a backup job or an HA group, in each of its forms, reads back to the
inputs' shape (the lab answers one form; real PVE parses `prune-backups` into a mapping)."""

from __future__ import annotations

from partilha.proxmox.resources.backup import retention, vmid_list
from partilha.proxmox.resources.ha import node_priorities


def test_prune_backups_as_string_or_mapping() -> None:
    assert retention("keep-last=6,keep-daily=7") == {"keep-daily": 7, "keep-last": 6}
    assert retention({"keep-last": "6", "keep-daily": 7, "keep-weekly": 0}) == {
        "keep-daily": 7, "keep-last": 6}
    assert retention(None) == {}


def test_vmids_and_node_priorities() -> None:
    assert vmid_list("10105,10101") == [10101, 10105] == vmid_list([10105.0, 10101])
    assert node_priorities("pve2,pve1:2") == {"pve1": 2, "pve2": 0}
    assert node_priorities({"pve2": 1.0, "pve1": 2}) == {"pve1": 2, "pve2": 1}
