"""What a stack is, from its config, and the inventory it reads — checked before any resource is
declared, so bad input stops the program with one message naming the file, field or setting.

    partilha:env         lab                 the environment; stacks are <env>-platform,
                                             <env>-shared and <env>-<municipality slug>
    partilha:inventory   inventories/lab     folder, relative to the checkout (or absolute)
    partilha:lab         "true"              a lab env (only ever set by the user): the local lab
                                             is its fallback endpoint, and SSH is also admitted
                                             from each VNet's gateway (the lab's host)
    partilha:tokenStore  lab-abrantes        municipality stacks only: their scoped token
    partilha:recoveredOn {"abrantes-dms": "pve-dr1"}  guests a recovery brought up on another
                                             node than the inventory's (written by `dr run
                                             restore-municipality` and `failover-site`): that
                                             node, and its site's storage, are theirs
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pulumi

from partilha.inventory import Inventory, InventoryError, guests, load_inventory
from partilha.proxmox.credentials import is_lab
from partilha.workspace import CHECKOUT

Role = Literal["platform", "shared", "municipality"]


@dataclass(frozen=True)
class Settings:
    env: str
    stack: str
    role: Role
    tenant: str  # the slug of the tenant a shared or municipality stack serves; platform: ""
    lab: bool
    qemu_template: int | None  # the template VM a QEMU service is cloned from
    recovered_on: dict[str, str] = field(default_factory=dict)  # guest -> the node a recovery put it on

    @property
    def platform_stack(self) -> str:
        return f"{self.env}-platform"


def token_store_name(env: str, slug: str) -> str:
    """The token store entry the platform writes a municipality's token to and that
    municipality's stack names in `partilha:tokenStore`."""
    return f"{env}-{slug}"


def load() -> tuple[Settings, Inventory]:
    config = pulumi.Config("partilha")
    named = config.get("inventory")
    if not named:
        raise pulumi.RunError("stack config: `partilha:inventory` is not set (an inventory folder, "
                              "e.g. inventories/lab)")
    path = (CHECKOUT / named).resolve()
    try:
        inventory = load_inventory(path)
    except InventoryError as exc:  # one clear message instead of a traceback
        raise pulumi.RunError(f"invalid inventory {named}:\n{exc}") from None
    return _settings(config, path, inventory), inventory


def _settings(config: pulumi.Config, path: Path, inventory: Inventory) -> Settings:
    stack, env = pulumi.get_stack(), config.get("env")
    if not env:
        raise pulumi.RunError(f"stack {stack}: `partilha:env` is not set (stacks are named "
                              "<env>-platform, <env>-shared and <env>-<municipality>)")
    if not stack.startswith(f"{env}-"):
        raise pulumi.RunError(f"stack {stack}: its name must start with `partilha:env` ({env}) and a "
                              "hyphen")
    word = stack.removeprefix(f"{env}-")
    slugs = [m.slug for m in inventory.municipalities]
    role: Role = "platform" if word == "platform" else "shared" if word == "shared" else "municipality"
    if role == "municipality" and word not in slugs:
        raise pulumi.RunError(f"stack {stack}: {word!r} is not platform, shared or a municipality of "
                              f"{path} ({', '.join(slugs)})")
    store = config.get("tokenStore")
    if role == "municipality" and store != token_store_name(env, word):
        raise pulumi.RunError(f"stack {stack}: `partilha:tokenStore` must be "
                              f"{token_store_name(env, word)!r}: a municipality stack acts only with "
                              "the scoped token the platform made for it")
    if role != "municipality" and store:
        raise pulumi.RunError(f"stack {stack}: `partilha:tokenStore` ({store}) is for municipality "
                              f"stacks only: the {role} stack acts with the administrator's token")
    template = config.get_int("qemuTemplate")
    qemu = sorted({g.service for g in guests(inventory) if g.spec.kind == "qemu"})
    if qemu and template is None:
        raise pulumi.RunError(f"stack {stack}: {', '.join(qemu)} are QEMU services: set "
                              "`partilha:qemuTemplate` to the vmid of the template VM they are cloned from")
    return Settings(env=env, stack=stack, role=role,
                    tenant={"platform": "", "shared": inventory.shared.slug}.get(role, word),
                    lab=is_lab(config.get("lab") or ""), qemu_template=template,
                    recovered_on=_recovered_on(config, stack, inventory))


def _recovered_on(config: pulumi.Config, stack: str, inventory: Inventory) -> dict[str, str]:
    text = config.get("recoveredOn")
    if not text:
        return {}
    nodes = {n.name for n in inventory.datacentre.nodes}
    try:
        found = json.loads(text)
    except ValueError as exc:
        raise pulumi.RunError(f"stack {stack}: `partilha:recoveredOn` is not JSON: {exc}") from None
    if not isinstance(found, dict) or not all(isinstance(v, str) and v in nodes for v in found.values()):
        raise pulumi.RunError(f"stack {stack}: `partilha:recoveredOn` maps guest names to nodes "
                              f"({', '.join(sorted(nodes))})")
    return found
