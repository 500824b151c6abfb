"""The partilha Pulumi program: one project, stacks <env>-platform, <env>-shared, <env>-<slug>.

Every stack names its inventory in config (`partilha:inventory`, a folder relative to the
project); the inventory is validated before any resource is declared.
"""

from pathlib import Path

import pulumi

from partilha.inventory import InventoryError, guests, load_inventory

PROJECT = Path(__file__).resolve().parent.parent

config = pulumi.Config("partilha")
inventory_name = config.get("inventory") or "inventories/lab"
inventory_path = PROJECT / inventory_name
try:
    inventory = load_inventory(inventory_path)
except InventoryError as exc:  # one clear message instead of a traceback
    raise pulumi.RunError(f"invalid inventory:\n{exc}") from None

pulumi.export("inventory", inventory_name)
pulumi.export("datacentre", inventory.datacentre.name)
pulumi.export("municipalities", [m.slug for m in inventory.municipalities])
pulumi.export("guests", len(guests(inventory)))
