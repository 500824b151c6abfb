"""The machine side of the lab."""
