"""A data centre described once in YAML (inventories/<name>/) and checked before anything runs."""

from partilha.inventory.errors import InventoryError, Problem
from partilha.inventory.guests import PlacedGuest, guests
from partilha.inventory.loader import load_inventory
from partilha.inventory.models import Inventory

__all__ = ["Inventory", "InventoryError", "PlacedGuest", "Problem", "guests", "load_inventory"]
