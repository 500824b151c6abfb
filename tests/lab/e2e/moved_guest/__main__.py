"""The real program (stacks/) with one test-only override, as a bad change would make it:
PARTILHA_TEST_MOVE=<guest>=<VNet id> puts that guest on another VNet, in its tenant's stack and
in the platform's (which then grants its municipality's token that VNet)."""

import dataclasses
import os
import runpy
import sys
from pathlib import Path

from partilha.inventory import Inventory, PlacedGuest, guests

STACKS = Path(__file__).resolve().parents[4] / "stacks"
sys.path.insert(0, str(STACKS))

import platform_stack  # noqa: E402  (from stacks/, on the path only now)
import tenants  # noqa: E402

moved_name, _, vnet_id = os.environ.get("PARTILHA_TEST_MOVE", "").partition("=")


def moved(inventory: Inventory) -> list[PlacedGuest]:
    vnet = next((v for v in inventory.networks.vnets if v.id == vnet_id), None)
    return [dataclasses.replace(g, vnet=vnet) if vnet and g.name == moved_name else g
            for g in guests(inventory)]


platform_stack.guests = moved  # type: ignore[attr-defined]
tenants.guests = moved  # type: ignore[attr-defined]
runpy.run_path(str(STACKS / "__main__.py"), run_name="__main__")
