"""What a rule knows besides the stack's resources: which stack this is, and the inventory-derived
plan the stacks were made from (every guest with its tenant, VNet, tier, data class; the tiers,
sites, storages and quotas).

The pack runs inside the Pulumi engine next to the program and gets the same stack config, so it
loads the same inventory (`partilha:inventory`, relative to the checkout) and derives the same
plan: that is where facts of different stacks meet. The platform stack's backup jobs are checked
against every tenant's guests of the plan; the shared stack's HA resources against every gold
guest; a municipality's guests against the VNet and pool the plan gives it.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from partilha.inventory import Inventory, PlacedGuest, guests, load_inventory
from partilha.inventory.guests import tenant_vnets
from partilha.inventory.models import Tenant
from partilha.workspace import CHECKOUT

Role = Literal["platform", "shared", "municipality"]


class FactsError(Exception):
    """The stack's config does not say which inventory or env it is."""


@dataclass(frozen=True)
class Facts:
    stack: str
    role: Role
    tenant: str  # the tenant a shared or municipality stack serves; the platform: ""
    inventory: Inventory
    today: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())

    @cached_property
    def guests(self) -> list[PlacedGuest]:
        return guests(self.inventory)

    @cached_property
    def _vnets(self) -> dict[str, str]:
        return {slug: vnet.id for slug, vnet in tenant_vnets(self.inventory).items()}

    def tenant_of(self, slug: str) -> Tenant | None:
        return next((t for t in (*self.inventory.municipalities, self.inventory.shared) if t.slug == slug),
                    None)

    def vnet_of(self, slug: str) -> str | None:
        """The VNet id the plan gives a tenant (a municipality's own, the CIM's `shared`)."""
        return self._vnets.get(slug)

    def site_of_storage(self, storage: str) -> str | None:
        return next((s.site for s in self.inventory.storage if s.id == storage), None)

    @classmethod
    def of_stack(cls, stack: str, env: str, inventory: str) -> Facts:
        if not env or not stack.startswith(f"{env}-"):
            raise FactsError(f"stack {stack}: `partilha:env` ({env or 'not set'}) does not name its env")
        if not inventory:
            raise FactsError(f"stack {stack}: `partilha:inventory` is not set")
        model = load_inventory((CHECKOUT / inventory).resolve())
        word = stack.removeprefix(f"{env}-")
        role: Role = "platform" if word == "platform" else "shared" if word == "shared" else "municipality"
        tenant = {"platform": "", "shared": model.shared.slug}.get(role, word)
        return cls(stack, role, tenant, model)

    @classmethod
    def from_engine(cls) -> Facts:
        """In the policy pack's process: the stack the engine analyses and its config."""
        import pulumi  # the engine configures the runtime before the pack's rules run

        config = pulumi.Config("partilha")
        return cls.of_stack(os.environ.get("PULUMI_STACK", ""), config.get("env") or "",
                            config.get("inventory") or "")
