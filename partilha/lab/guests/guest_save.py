"""Saving a guest's changed config, for both types: the real container follows (live when it
runs) when what it realises changed, then the state is written; failures in PVE's envelope."""

from __future__ import annotations

import dataclasses
from typing import Any

from partilha.lab import guests
from partilha.lab.guests import guest_apply
from partilha.lab.guests.state import GuestRow
from partilha.lab.instance import LabInstance
from partilha.lab.machine import MachineError
from partilha.lab.sdn import sdn_apply
from partilha.lab.server.errors import PveError
from partilha.lab.server.store import Store


def save_config(store: Store, instance: LabInstance, guest: GuestRow, config: dict[str, Any]) -> None:
    """Call under the guest's config lock, after the digest and lock checks."""
    updated = dataclasses.replace(guest, config=config)
    changed = guest_apply.realised_changed(guest, updated)
    if changed:
        try:
            guest_apply.reconfigure(store, instance, updated)
        except (guest_apply.GuestSetupError, MachineError) as exc:
            raise PveError(str(exc)) from None
    guests.update(store, guest.vmid, config=config)
    if changed:
        sdn_apply.guest_changed(store, instance, guest.vmid)
